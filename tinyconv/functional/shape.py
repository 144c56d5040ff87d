"""Shapes: ``flatten`` (the step from the last pooled maps to the first fully connected layer, §3.5),
the argument checks the ops of this package share (dimensions, dtypes, (h, w) pairs), and
the split of a batch into cache-sized chunks that the elementwise-heavy ops use on the CPU,
run on the threads of the process's budget (:func:`for_each_chunk`, :mod:`tinyconv.threads`).
"""
from __future__ import annotations

import numbers

from .. import backend, threads
from ..tensor import Tensor
from .basic import reshape


def flatten(x):
    """(N, ...) -> (N, -1): the 256 x 6 x 6 maps of layer 5 become the 9216 inputs of layer 6 (§3.5)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 1:
        raise ValueError("flatten needs an array with a batch axis, got a 0-d array")
    return reshape(x, (x.shape[0], -1))


def check_input(op: str, a, ndim: int | None = None, layout: str = "") -> None:
    """Raise a clear error when ``a`` is not a floating-point array with ``ndim`` dimensions."""
    if ndim is not None and a.ndim != ndim:
        hint = f" ({layout})" if layout else ""
        raise ValueError(f"{op} expects a {ndim}-D input{hint}, got shape {tuple(a.shape)}; "
                         "add or remove axes with reshape")
    if a.dtype.kind != "f":
        raise TypeError(f"{op} needs a floating-point input (float32 or float64), got {a.dtype}; "
                        "convert it with .astype(numpy.float32)")


def pair(value, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair of ints -> (h, w), for kernel_size, stride and padding."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    pair_ = (value, value) if is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair_) != 2 or not all(is_int(v) for v in pair_):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    return int(pair_[0]), int(pair_[1])


CHUNK_BYTES = 1 << 20


def batch_chunks(x, chunk_bytes: int = CHUNK_BYTES) -> list[slice]:
    """Slices of the batch axis of ``x`` to process one after another.

    On the CPU an op that makes many passes over its data (LRN, pooling) runs several times
    faster when each pass works on about ``chunk_bytes`` (a chunk of samples whose temporaries
    stay in the cache) than on the whole batch at once. On the GPU: one slice, the whole batch
    (every pass is one kernel launch).
    """
    N = x.shape[0]
    step = N if backend.is_cupy_array(x) else max(1, chunk_bytes // max(1, x[:1].nbytes))
    return [slice(n, n + step) for n in range(0, N, step)]


def even_chunks(n: int, parts: int | None = None) -> list[slice]:
    """``parts`` slices of ``range(n)`` of nearly equal length (fewer when n < parts; default: one per op thread)."""
    parts = max(1, min(threads.op_threads() if parts is None else parts, n))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def for_each_chunk(fn, chunks, x) -> None:
    """Call ``fn(chunk)`` for every slice in ``chunks``; each call must write only its own part.

    ``chunks`` are consecutive slices of one range (as :func:`batch_chunks` and :func:`even_chunks`
    give). On the CPU the calls run on the op pool (:func:`tinyconv.threads.op_pool`, one thread per
    core of the process's budget): NumPy lets go of the interpreter lock inside its loops and
    copies, so the elementwise passes of LRN, pooling and im2col (one core each otherwise) run side
    by side, as BLAS already does for the GEMMs.
    On the GPU (``x`` a CuPy array) ``fn`` is called once with the whole range: one kernel each.
    """
    if not chunks:
        return
    if backend.is_cupy_array(x):
        fn(slice(chunks[0].start, chunks[-1].stop))
        return
    pool = threads.op_pool()
    if pool is None or len(chunks) == 1:
        for chunk in chunks:
            fn(chunk)
        return
    for future in [pool.submit(fn, chunk) for chunk in chunks]:
        future.result()                                                 # re-raises an error of fn
