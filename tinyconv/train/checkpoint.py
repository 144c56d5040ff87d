"""Checkpoints without pickle, written atomically.

A training state is a nested structure of dicts, lists, numbers, strings and arrays: the
model's ``state_dict()``, the optimiser's momentum buffers (§5), the learning-rate schedule,
the epoch and the random generators' states. :func:`save_checkpoint` splits it into

* the arrays, stored as the members of an ``.npz`` file, and
* everything else, stored as one JSON document in the member ``__meta__`` (numpy's
  ``Generator.bit_generator.state`` is a dict of Python ints, which JSON keeps exactly),

so :func:`load_checkpoint` reads it back with ``allow_pickle=False``: loading a checkpoint
cannot run code. The file is written to a temporary file in the same folder, flushed to disk
with ``fsync`` and renamed over the old one with ``os.replace`` (atomic on POSIX and Windows):
a crash mid-write leaves the previous checkpoint whole.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .. import backend

FORMAT = "tinyconv-checkpoint-1"
_META = "__meta__"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, or that does not fit the model it is loaded into."""


# ----- nested state <-> (arrays, JSON) -------------------------------------------------------
def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or backend.is_cupy_array(value)


def flatten_state(state, arrays: dict, key: str = ""):
    """JSON-ready copy of ``state`` with every array moved into ``arrays`` under a path-like key."""
    if _is_array(state):
        arrays[key] = backend.to_numpy(state)
        return {"__array__": key}
    if isinstance(state, np.generic):
        return state.item()
    if isinstance(state, dict):
        if all(isinstance(k, str) for k in state):
            return {k: flatten_state(v, arrays, f"{key}/{k}") for k, v in state.items()}
        # keys that are not strings (parameter indices, ...) would turn into strings in JSON
        return {"__items__": [[flatten_state(k, arrays, f"{key}/k{i}"), flatten_state(v, arrays, f"{key}/{i}")]
                              for i, (k, v) in enumerate(state.items())]}
    if isinstance(state, (list, tuple)):
        return [flatten_state(v, arrays, f"{key}/{i}") for i, v in enumerate(state)]
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    raise TypeError(f"cannot store {type(state).__name__} at {key or '/'!r} in a checkpoint: "
                    "use arrays, numbers, strings, lists and dicts")


def unflatten_state(meta, arrays):
    """Inverse of :func:`flatten_state`."""
    if isinstance(meta, dict):
        if set(meta) == {"__array__"}:
            return arrays[meta["__array__"]]
        if set(meta) == {"__items__"}:
            return {unflatten_state(k, arrays): unflatten_state(v, arrays) for k, v in meta["__items__"]}
        return {k: unflatten_state(v, arrays) for k, v in meta.items()}
    if isinstance(meta, list):
        return [unflatten_state(v, arrays) for v in meta]
    return meta


# ----- files ----------------------------------------------------------------------------------
def _write_npz(fileobj, arrays: dict) -> None:
    np.savez(fileobj, **arrays)


def save_checkpoint(path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, ``os.replace``)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    arrays: dict = {}
    meta = json.dumps({"format": FORMAT, "state": flatten_state(state, arrays)})
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt included: never leave a half-written file behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; a damaged file raises CheckpointError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint at {path!r}: pass the path of a .npz file written by "
                              "train_alexnet.py (by default runs/<name>/checkpoint.npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path!r} is damaged or is not a tinyconv checkpoint ({type(exc).__name__}: {exc}); "
            "it may have been cut short by a full disk or a copy that did not finish: "
            "use an earlier copy or train again"
        ) from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path!r} has format {meta.get('format')!r}, "
                              f"this tinyconv reads {FORMAT!r}")
    try:
        return unflatten_state(meta["state"], arrays)
    except KeyError as exc:
        raise CheckpointError(f"checkpoint {path!r} is damaged: array {exc} is missing") from exc


def shape_mismatches(expected: dict, found: dict) -> list[str]:
    """Human-readable differences between two ``name -> array`` dicts (names and shapes)."""
    lines = [f"  {name}: model {tuple(expected[name].shape)}, checkpoint {tuple(found[name].shape)}"
             for name in expected if name in found and tuple(expected[name].shape) != tuple(found[name].shape)]
    lines += [f"  {name}: in the model, not in the checkpoint" for name in expected if name not in found]
    lines += [f"  {name}: in the checkpoint, not in the model" for name in found if name not in expected]
    return lines


def check_compatible(model_state: dict, ckpt_state: dict, path, what: str = "model") -> None:
    """Raise CheckpointError listing every parameter whose shape (or presence) differs."""
    lines = shape_mismatches(model_state, ckpt_state)
    if lines:
        raise CheckpointError(
            f"checkpoint {os.fspath(path)!r} holds a different {what}; {len(lines)} entr"
            f"{'y differs' if len(lines) == 1 else 'ies differ'}:\n" + "\n".join(lines) +
            "\nuse the same --model, --dataset (number of classes) and --devices as the run that wrote it"
        )
