"""Run the CUDA sources of tinyconv/kernels on the CPU: compiled by g++, called through ctypes.

The kernels are grid-stride loops without shared memory or atomics (see tinyconv/kernels), so a
few definitions make a CUDA source plain C++: ``__global__`` becomes nothing, and blockIdx,
threadIdx, blockDim and gridDim become global variables. :func:`run` then plays every thread of
a small grid one after another (3 blocks of 4 threads), each doing its grid-stride share: the
kernels' index arithmetic and their split of the work between threads are both exercised, on
NumPy arrays, on a machine without a GPU. What this cannot check is what only a GPU does
(races between threads that run at once, NVRTC's dialect); ``pytest -m gpu`` covers those.
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

AVAILABLE = shutil.which("g++") is not None
BLOCKS, THREADS = 3, 4

_PRELUDE = """
#include <cmath>
using std::sqrt; using std::pow; using std::exp; using std::log;
struct tinyconv_dim3 { unsigned x, y, z; };
extern "C" { tinyconv_dim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1}; }
#define __global__
"""
_CTYPES = {np.dtype(np.int32): ctypes.c_int, np.dtype(np.int64): ctypes.c_longlong,
           np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}
_libraries: dict = {}
_build_dir = Path(tempfile.mkdtemp(prefix="tinyconv-cuda-on-host-"))


def _library(source: str):
    """The source compiled once into a shared library (the prelude in front of it)."""
    key = hashlib.sha1(source.encode()).hexdigest()[:16]
    if key not in _libraries:
        cpp, lib = _build_dir / f"{key}.cpp", _build_dir / f"{key}.so"
        cpp.write_text(_PRELUDE + source)
        subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-Wall", "-Werror", "-o", str(lib), str(cpp)],
                       check=True, capture_output=True, text=True)
        _libraries[key] = ctypes.CDLL(str(lib))
    return _libraries[key]


def _ctype_argument(a):
    if isinstance(a, np.ndarray):
        assert a.flags.c_contiguous, "tinyconv.kernels.launch passes C-contiguous arrays only"
        return ctypes.c_void_p(a.ctypes.data)
    return _CTYPES[np.dtype(type(a))](a)


def run(source: str, name: str, total: int, args) -> None:
    """Play kernel ``name`` of ``source`` on the host: each thread of a BLOCKS x THREADS grid in turn."""
    lib = _library(source)
    kernel = getattr(lib, name)
    kernel.restype = None
    arguments = [_ctype_argument(a) for a in args]
    for variable, value in (("blockDim", THREADS), ("gridDim", BLOCKS)):
        ctypes.c_uint.in_dll(lib, variable).value = value
    block, thread = ctypes.c_uint.in_dll(lib, "blockIdx"), ctypes.c_uint.in_dll(lib, "threadIdx")
    for b in range(BLOCKS):
        for t in range(THREADS):
            block.value, thread.value = b, t
            kernel(*arguments)
