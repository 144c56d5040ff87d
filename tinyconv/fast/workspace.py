"""Large CPU scratch matrices kept from one training step to the next (im2col's ``col``).

NumPy takes arrays of more than 32 MB straight from the operating system (glibc's mmap
threshold) and gives them back when they are freed, so every step faults the pages of a
fresh im2col matrix in again: about 16 ms for the 184 MB ``col`` of a 5x5 conv over a batch
of 128 15x15 maps with 64 channels, as long as copying into it. A convolution hands its
``col`` back here when its backward pass is done (:meth:`~tinyconv.fast.conv.Conv2dFast.free_saved`), and the next
step takes it again. CuPy has its own memory pool, so on the GPU this does nothing.
"""
from __future__ import annotations

import math
import threading

import numpy as np

KEEP_PER_SIZE = 2           # a layer's col and the col of its input gradient (stride 1)
_spare: dict = {}
_lock = threading.Lock()


def take(xp, shape, dtype):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``: a kept one when there is one."""
    if xp is np:
        with _lock:
            kept = _spare.get((math.prod(shape), np.dtype(dtype)))
            if kept:
                return kept.pop().reshape(shape)
    return xp.empty(shape, dtype=dtype)


def give(array) -> None:
    """Keep the memory of ``array`` (which nothing may use any more) for a later :func:`take`.

    ``array`` may be a reshaped view: what is kept is the array that owns the memory, when the view
    covers all of it. Anything else (CuPy arrays, ``None``, slices) is left to the garbage collector.
    """
    if not isinstance(array, np.ndarray):
        return
    owner = array
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner.base is not None or owner.size != array.size or not owner.flags.c_contiguous:
        return
    with _lock:
        kept = _spare.setdefault((owner.size, owner.dtype), [])
        if len(kept) < KEEP_PER_SIZE and all(k is not owner for k in kept):
            kept.append(owner)


def clear() -> None:
    """Forget every kept array (frees their memory)."""
    with _lock:
        _spare.clear()
