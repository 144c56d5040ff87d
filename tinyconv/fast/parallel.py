"""The CPU's cores for elementwise work: a batch split into cache-sized chunks, run on a thread pool.

NumPy lets go of the interpreter lock inside its loops and copies, so the elementwise passes of
LRN, pooling, ReLU and im2col (one core each otherwise) run side by side on threads, as BLAS
already does for the GEMMs. The pool has as many threads as the process's budget
(:mod:`tinyconv.threads`, which also sizes BLAS and the data loader).
"""
from __future__ import annotations

from .. import backend, threads

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
    core of the process's budget; in the caller when the budget is one thread). On the GPU (``x`` a
    CuPy array) ``fn`` is called once with the whole range: one kernel each.
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
