"""Fused CUDA kernels for the hot ops of a training step on the GPU (one pass each).

On CuPy every NumPy-style line of an op is a kernel launch and a trip through GPU memory:
max pooling by kernel offsets is four passes per offset (36 for a 3x3 window), LRN a dozen,
col2im one strided add per kernel offset. The ``.cu`` files here do each of those in one pass,
one thread per output element:

=============  ==================================================  ==================  ==========================
file           kernels                                             used by             reference
=============  ==================================================  ==================  ==========================
pooling.cu     max_pool_forward (with argmax), max_pool_backward   fast/pooling.py     functional/pooling.py
lrn.cu         lrn_forward, lrn_backward (§3.3)                    fast/normalization  functional/normalization.py
conv.cu        im2col, col2im                                      fast/conv.py        functional/conv.py
activation.cu  relu_forward (output and mask in one pass)          fast/activation.py  functional/activation.py
sgd.cu         sgd_update (the §5 rule in one pass)                fast/sgd.py         optim/sgd.py
=============  ==================================================  ==================  ==========================

The loss keeps its reference only: its arrays are (batch, classes), half a megabyte for AlexNet,
so its few launches cost microseconds in a step of milliseconds, and a fused softmax would
need a block-wide reduction (shared memory), which the host check below cannot run.

Each kernel serves the fast version of an op for CuPy arrays (``tinyconv/fast/``), chosen by
:mod:`tinyconv.dispatch` wherever :func:`runs_on` says the kernels run; the op's reference in
``functional/`` is what the tests compare the kernel with (on the GPU machine: ``pytest -m gpu``),
and ``tinyconv.fast_paths(False)`` switches the kernels off with every other fast path.

The sources are plain CUDA C++ written so that a host C++ compiler can run them too: every
kernel is a grid-stride loop (``for (i = first thread; i < total; i += all threads)``) with no
shared memory, no atomics and no intrinsics, and the element type is ``T`` (``typedef``'d to
float or double in front of the source). :func:`host_runner` lets the tests execute the very
same sources, compiled by g++, on NumPy arrays (:mod:`tinyconv.kernels.host`), so their indexing
is checked on machines without a GPU as well.
"""
from __future__ import annotations

import contextlib
import functools
import numbers
from importlib import resources

import numpy as np

from .. import backend
from . import host  # noqa: F401  (kernels.host.run: the kernels played on the CPU)

_host_run = None


def runs_on(array) -> bool:
    """Whether the kernels can run on ``array``: CuPy arrays, and NumPy arrays inside :func:`host_runner`."""
    return backend.is_cupy_array(array) or (_host_run is not None and isinstance(array, np.ndarray))


@contextlib.contextmanager
def host_runner(run):
    """Inside this block the kernels run on NumPy arrays through ``run(source, name, total, args)``
    (the tests pass one that compiles the source with g++ and calls it through ctypes)."""
    global _host_run
    before, _host_run = _host_run, run
    try:
        yield
    finally:
        _host_run = before


@functools.lru_cache(maxsize=None)
def source(file: str, dtype) -> str:
    """The CUDA C++ text of ``file`` with its element type ``T`` set to ``dtype`` (float32 or float64)."""
    ctype = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}.get(np.dtype(dtype))
    if ctype is None:
        raise TypeError(f"the fused kernels support float32 and float64 arrays, got {np.dtype(dtype)}; "
                        "convert with .astype(numpy.float32)")
    return f"typedef {ctype} T;\n" + resources.files(__package__).joinpath(file).read_text()


def launch(file: str, name: str, total: int, *args) -> None:
    """Run kernel ``name`` of ``file`` over ``total`` work items (one thread each).

    ``args`` follow the kernel's parameter list: arrays (C-contiguous), Python ints (passed as
    ``int``) and floats (passed as ``T``, the dtype of the first floating-point array); ``total``
    comes first in every kernel, as ``long long``.
    """
    arrays = [a for a in args if _is_array(a)]
    dtype = next(a.dtype for a in arrays if a.dtype.kind == "f")
    for a in arrays:
        if not a.flags.c_contiguous:
            raise ValueError(f"kernel {name} needs C-contiguous arrays, got one of shape {a.shape} with "
                             f"strides {a.strides}; pass xp.ascontiguousarray(...) of it")
    typed = [np.int64(total)] + [a if _is_array(a) else np.int32(a) if isinstance(a, numbers.Integral)
                                 else dtype.type(a) for a in args]
    text = source(file, dtype)
    if backend.is_cupy_array(arrays[0]):
        backend.launch_cuda(text, name, total, typed)
    else:
        _host_run(text, name, total, typed)


def _is_array(a) -> bool:
    return isinstance(a, np.ndarray) or backend.is_cupy_array(a)
