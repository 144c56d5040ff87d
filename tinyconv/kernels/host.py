"""Run the CUDA sources of tinyconv/kernels on the CPU: compiled by g++, called through ctypes.

The kernels are grid-stride loops without shared memory or atomics (see :mod:`tinyconv.kernels`),
so a few definitions make a CUDA source plain C++: ``__global__`` becomes nothing, and blockIdx,
threadIdx, blockDim and gridDim become global variables. :func:`run` then plays every thread of
a small grid one after another (3 blocks of 4 threads), each doing its grid-stride share: the
kernels' index arithmetic and their split of the work between threads are both exercised, on
NumPy arrays, on a machine without a GPU. The tests check every kernel this way
(``tests/test_kernels.py``), and a learner can step through a kernel on a laptop::

    with kernels.host_runner(kernels.host.run):
        y = F.max_pool2d(x, 3, 2)          # x a NumPy array: pooling.cu runs, thread by thread

What this cannot show is what only a GPU does (threads running at once, speed); ``pytest -m gpu``
covers those. CUDA's dialect (what device code may call) is checked without a GPU as well, by
CUDA's compilers: nvcc where the toolkit is installed, NVRTC where CuPy is (``tests/test_kernels.py``).
It needs g++ (Debian: ``apt-get install g++``).
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
import threading
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
_build_dir = None
_lock = threading.Lock()    # the thread indices are globals of the library: one kernel at a time


def _library(source: str):
    """The source compiled once into a shared library (the prelude in front of it)."""
    if not AVAILABLE:
        raise RuntimeError("running CUDA kernels on the CPU needs the C++ compiler g++, which is not on PATH; "
                           "install it (Debian/Ubuntu: apt-get install g++) or run on a GPU with CuPy")
    key = hashlib.sha1(source.encode()).hexdigest()[:16]
    if key not in _libraries:
        global _build_dir
        _build_dir = _build_dir or Path(tempfile.mkdtemp(prefix="tinyconv-kernels-on-host-"))
        cpp, lib = _build_dir / f"{key}.cpp", _build_dir / f"{key}.so"
        cpp.write_text(_PRELUDE + source)
        done = subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-Wall", "-Werror", "-o", str(lib), str(cpp)],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"g++ could not compile a kernel source ({cpp}):\n{done.stderr}")
        _libraries[key] = ctypes.CDLL(str(lib))
    return _libraries[key]


def _ctype_argument(a):
    if isinstance(a, np.ndarray):
        return ctypes.c_void_p(a.ctypes.data)
    return _CTYPES[np.dtype(type(a))](a)


def run(source: str, name: str, total: int, args) -> None:
    """Play kernel ``name`` of ``source`` on the host: each thread of a BLOCKS x THREADS grid in turn."""
    with _lock:
        lib = _library(source)
    kernel = getattr(lib, name)
    kernel.restype = None
    arguments = [_ctype_argument(a) for a in args]
    for variable, value in (("blockDim", THREADS), ("gridDim", BLOCKS)):
        ctypes.c_uint.in_dll(lib, variable).value = value
    block, thread = ctypes.c_uint.in_dll(lib, "blockIdx"), ctypes.c_uint.in_dll(lib, "threadIdx")
    with _lock:
        for b in range(BLOCKS):
            for t in range(THREADS):
                block.value, thread.value = b, t
                kernel(*arguments)
