"""The output folder of a run: one process at a time, and never over another run.

A new run refuses a folder that holds the files of another run (its checkpoint, metrics, figures)
unless told to replace them (``--overwrite``), and says how to continue that run instead
(``--resume``). While a run trains it holds an exclusive lock on ``<folder>/.lock``
(``fcntl.flock``): a second process that wants the folder is refused at once, so two runs never
interleave their metrics or leave one's checkpoint beside the other's figures. The operating
system releases the lock when the process ends, however it ends: a crash never leaves a folder
locked.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from . import checkpoint

RUN_FILES = ("checkpoint.npz", "metrics.jsonl", "metrics.csv", "test.json",
             "curves.png", "filters.png", "top5.png", "neighbours.png")
LOCK = ".lock"


class OutputFolderError(RuntimeError):
    """An output folder that cannot be written, is in use, or holds another run."""


@contextmanager
def claimed(folder, *, resume: bool = False, overwrite: bool = False):
    """``with claimed(folder):`` the run writes ``folder`` alone (see the module docstring).

    A new run (``resume=False``) refuses a folder holding :data:`RUN_FILES`, or with ``overwrite``
    deletes them; a resumed run goes on with the files of its own run. Folders made here are removed
    again if the block ends with nothing in them but the lock (a run refused for a bad option).
    """
    folder = os.fspath(folder)
    made = [p for p in (Path(folder), *Path(folder).parents) if not os.path.isdir(p)]  # innermost first
    try:
        os.makedirs(folder, exist_ok=True)
        lock = open(os.path.join(folder, LOCK), "a")
    except OSError as exc:
        raise OutputFolderError(f"cannot write the run into --out {folder}: {_reason(folder, exc)}; "
                                "give a folder this user may write to with --out") from exc
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputFolderError(f"another process is training into {folder} now (it holds "
                                    f"{os.path.join(folder, LOCK)}): wait until it ends, or give this run "
                                    "another --out") from None
        found = [name for name in RUN_FILES if os.path.lexists(os.path.join(folder, name))]
        if found and not resume and not overwrite:
            raise OutputFolderError(_holds_a_run(folder, found))
        if not resume:
            for name in found:
                os.remove(os.path.join(folder, name))
        try:
            yield  # the lock is released when the file closes, or the process ends
        finally:
            if made and os.listdir(folder) == [LOCK]:
                os.remove(os.path.join(folder, LOCK))
                for path in made:
                    if os.listdir(path):
                        break
                    os.rmdir(path)


def _holds_a_run(folder: str, found: list[str]) -> str:
    ckpt = os.path.join(folder, "checkpoint.npz")
    if "checkpoint.npz" not in found:
        return (f"{folder} holds files of another run ({', '.join(found)}) that a new run would overwrite: "
                "give this run another --out, or replace them with --overwrite")
    try:
        state = checkpoint.load_checkpoint(ckpt, arrays=False)
        partial = state["progress"]["batches"]
        done = f"{checkpoint.describe(state)}, {state['epoch']} epochs done" + (
            f" and {partial} batches of epoch {state['epoch'] + 1}" if partial else "")
    except (checkpoint.CheckpointError, KeyError, TypeError):
        done = "its checkpoint cannot be read"
    return (f"{folder} holds another run ({done}) that a new run would overwrite: continue it with --resume {ckpt} "
            "(a larger --epochs trains it further), give this run another --out, or replace that one with --overwrite")


def _reason(folder: str, exc: OSError) -> str:
    """Why ``folder`` cannot be made or written, in words: a file in the way, or the system's reason."""
    path = Path(folder)
    in_the_way = next((p for p in (path, *path.parents) if os.path.exists(p) and not os.path.isdir(p)), None)
    if in_the_way is not None:
        return f"{in_the_way} is a file, not a folder"
    return exc.strerror or str(exc)
