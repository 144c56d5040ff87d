"""Checkpoints without pickle, written atomically.

A training state is a nested structure of dicts, lists, numbers, strings and arrays: the
model's ``state_dict()``, the optimiser's momentum buffers (§5), the learning-rate schedule,
the epoch and the random generators' states. :func:`save_checkpoint` splits it into

* the arrays, stored as the members of an ``.npz`` file, and
* everything else, stored as one JSON document in the member ``__meta__`` (numpy's
  ``Generator.bit_generator.state`` is a dict of Python ints, which JSON keeps exactly),

so :func:`load_checkpoint` reads it back with ``allow_pickle=False``: loading a checkpoint
cannot run code. The file is written whole or not at all (:func:`tinyconv.files.replace_atomically`):
a crash mid-write leaves the previous checkpoint whole.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from .. import backend
from ..files import replace_atomically

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
    """Write ``state`` to ``path``, whole or not at all, readable like the folder's other files."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arrays: dict = {}
    meta = json.dumps({"format": FORMAT, "state": flatten_state(state, arrays)})
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    with replace_atomically(path) as f:
        _write_npz(f, arrays)


class _NoArrays(dict):
    """Stands for a checkpoint's arrays when only its other contents are read: every array reads as None."""

    def __missing__(self, key):
        return None


def load_checkpoint(path, *, arrays: bool = True) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; a damaged or foreign file raises CheckpointError.

    ``arrays=False`` reads only the options and counters (every array is None): quick, whatever the size
    of the weights.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint at {path!r}: pass the path of a .npz file written by "
                              "train_alexnet.py (by default runs/<name>/checkpoint.npz)")
    with open(path, "rb") as f:
        head = f.read(4)
    if head and head != b"PK\x03\x04":  # every .npz is a zip file; a cut-short one still starts like one
        raise CheckpointError(f"{path!r} is not a tinyconv checkpoint: it is not an .npz file at all; pass a "
                              "checkpoint.npz written by train_alexnet.py")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if _META not in npz.files:
                raise CheckpointError(
                    f"{path!r} is not a tinyconv checkpoint: it is an .npz file without the {_META!r} member that "
                    f"train_alexnet.py writes (it holds {', '.join(npz.files[:5]) or 'nothing'}"
                    f"{', ...' if len(npz.files) > 5 else ''})")
            meta = json.loads(npz[_META].tobytes().decode("utf-8"))
            stored = {name: npz[name] for name in npz.files if name != _META} if arrays else _NoArrays()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path!r} is damaged ({type(exc).__name__}: {exc}); it may have been cut "
            "short by a full disk or a copy that did not finish: use an earlier copy or train again"
        ) from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path!r} has format {meta.get('format')!r}, "
                              f"this tinyconv reads {FORMAT!r}")
    try:
        return unflatten_state(meta["state"], stored)
    except KeyError as exc:
        raise CheckpointError(f"checkpoint {path!r} is damaged: array {exc} is missing") from exc


def describe(state: dict) -> str:
    """What a checkpoint of the training program holds, in words: "alexnet-28 for 10 classes of fashion-mnist-mini"."""
    model, classes = state.get("model_name") or "a model", state.get("num_classes")
    dataset = (state.get("config") or {}).get("dataset")
    return model + (f" for {classes} classes" if classes else "") + (f" of {dataset}" if dataset else "")


def shape_mismatches(expected: dict, found: dict) -> list[str]:
    """Human-readable differences between two ``name -> array`` dicts (names and shapes)."""
    lines = [f"  {name}: model {tuple(expected[name].shape)}, checkpoint {tuple(found[name].shape)}"
             for name in expected if name in found and tuple(expected[name].shape) != tuple(found[name].shape)]
    lines += [f"  {name}: in the model, not in the checkpoint" for name in expected if name not in found]
    lines += [f"  {name}: in the checkpoint, not in the model" for name in found if name not in expected]
    return lines


def check_compatible(model_state: dict, ckpt_state: dict, path, what: str = "model", holds: str = "") -> None:
    """Raise CheckpointError listing every parameter whose shape (or presence) differs.

    ``holds`` says what the checkpoint holds (:func:`describe`), so the message names it.
    """
    lines = shape_mismatches(model_state, ckpt_state)
    if lines:
        raise CheckpointError(
            f"checkpoint {os.fspath(path)!r} holds {holds or 'a different ' + what}, which does not fit the {what} "
            f"built for it; {len(lines)} entr{'y differs' if len(lines) == 1 else 'ies differ'}:\n" + "\n".join(lines)
            + "\nit was written by another version of tinyconv or for other model options"
        )
