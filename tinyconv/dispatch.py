"""Fast paths: one switch and one rule for every op.

Every op has a reference, in ``tinyconv/functional/`` (and the §5 update in ``optim/sgd.py``):
the version a learner reads, forward and backward top to bottom. Faster versions of the same
op live in ``tinyconv/fast/``, one module per op, each registered here for the place it runs:

* ``"cpu"``: NumPy arrays. The same arithmetic arranged for a CPU: batch chunks that stay in
  the cache run on all cores, scratch matrices kept between steps, fewer passes over memory.
* ``"cuda"``: arrays the fused CUDA kernels of :mod:`tinyconv.kernels` run on (CuPy arrays, and
  NumPy arrays inside ``kernels.host_runner``, where the tests play the kernels on the CPU).

An op's wrapper (``conv2d``, ``max_pool2d``, ...) asks :func:`choose` which version to run for
its input; every fast version is a subclass (or a drop-in function) of its reference with the
same arguments and checks, and the tests compare each one with its reference, forward and
backward. ``tinyconv.fast_paths(False)`` turns them all off, for the rest of the program or
inside a ``with`` block, and so does the environment variable ``TINYCONV_FAST_PATHS=0``;
then every op runs its reference (the notebooks do this where they compare the two).
"""
from __future__ import annotations

import os

from . import kernels
from .tensor import Tensor

ENVIRONMENT_VARIABLE = "TINYCONV_FAST_PATHS"
_enabled = os.environ.get(ENVIRONMENT_VARIABLE, "1").strip().lower() not in ("0", "false", "off", "no")
_fast = {}   # (reference, place) -> its fast version there


def place_of(array) -> str:
    """Where the fast versions for ``array`` come from: "cuda" where the kernels run on it, else "cpu"."""
    return "cuda" if kernels.runs_on(array) else "cpu"


def fast_version(reference, place: str):
    """Class decorator: register the decorated class (or function) as ``reference``'s fast version
    for arrays at ``place`` ("cpu" or "cuda")."""
    if place not in ("cpu", "cuda"):
        raise ValueError(f"a fast version runs on 'cpu' or 'cuda', got {place!r}")

    def register(fast):
        _fast[(reference, place)] = fast
        return fast
    return register


def choose(reference, x):
    """The version of ``reference`` to run on ``x`` (an array or a Tensor): its fast version for the
    place of ``x`` while fast paths are on and it has one, else the reference itself."""
    if not _enabled:
        return reference
    array = x.data if isinstance(x, Tensor) else x
    return _fast.get((reference, place_of(array)), reference)


def enabled() -> bool:
    """Whether the ops run their fast versions (see :class:`fast_paths`)."""
    return _enabled


class fast_paths:
    """Turn the fast paths on or off: ``tinyconv.fast_paths(False)`` for the rest of the program, or
    ``with tinyconv.fast_paths(False): ...`` for one block (the previous setting comes back after it).

    Off, every op runs its reference (``tinyconv/functional/``): slower, and what the notebooks read.
    """

    def __init__(self, on: bool):
        global _enabled
        if not isinstance(on, bool):
            raise TypeError(f"fast_paths takes True or False, got {on!r}")
        self.previous, _enabled = _enabled, on

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        global _enabled
        _enabled = self.previous
