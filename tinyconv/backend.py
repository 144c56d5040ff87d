"""Where NumPy and CuPy differ: the only module in tinyconv that imports CuPy.

Every array in tinyconv is a plain ``numpy.ndarray`` (device ``"cpu"``) or a
``cupy.ndarray`` (device ``"cuda:N"``). Code elsewhere asks this module for the
array module of its inputs (:func:`xp_of`) and writes ``xp.exp(x)`` once for
both back ends; the few operations whose spelling differs (scatter-add, moving
arrays between devices, synchronisation) live here as small helpers.

The paper trained on two GTX 580 GPUs (§3.2); tinyconv names devices the way
PyTorch does: ``"cpu"``, ``"cuda:0"``, ``"cuda:1"``.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np

try:  # CuPy is optional: `pip install -e ".[cuda12]"` or `".[cuda13]"`.
    import cupy as _cupy
    import cupyx as _cupyx
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None
    _cupyx = None

_INSTALL_HINT = (
    "install CuPy for your CUDA version: pip install -e \".[cuda12]\" "
    "(cupy-cuda12x) or pip install -e \".[cuda13]\" (cupy-cuda13x)"
)
_pool_enabled = False


def cupy_available() -> bool:
    """True when CuPy imports and at least one CUDA GPU answers."""
    return gpu_count() > 0


def gpu_count() -> int:
    """Number of CUDA devices CuPy can see (0 without CuPy or without a driver)."""
    if _cupy is None:
        return 0
    try:
        return _cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no driver, no device: CuPy raises its own runtime errors
        return 0


def _require_cupy():
    if _cupy is None:
        raise RuntimeError(f"CuPy is not installed, so no CUDA device can be used; {_INSTALL_HINT}")
    global _pool_enabled
    if not _pool_enabled:  # keep freed blocks for reuse instead of cudaFree/cudaMalloc each step
        _cupy.cuda.set_allocator(_cupy.cuda.MemoryPool().malloc)
        _pool_enabled = True
    return _cupy


@dataclass(frozen=True)
class Device:
    """A place arrays live: ``Device("cpu")`` or ``Device("cuda", 0)``."""

    kind: str
    index: int = 0

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"cuda:{self.index}"

    def __repr__(self) -> str:
        return f"Device('{self}')"

    @property
    def xp(self):
        """The array module for this device: numpy or cupy."""
        return np if self.kind == "cpu" else _require_cupy()

    def context(self):
        """A context manager making this the current CUDA device (a no-op on the CPU). CuPy launches
        kernels on the current device, so each op runs in ``device_of(its array).context()``: the ops
        of tower 1 of the split model (§3.2) then run on tower 1's GPU."""
        if self.kind == "cpu":
            return contextlib.nullcontext()
        return _require_cupy().cuda.Device(self.index)


CPU = Device("cpu")


def device(spec) -> Device:
    """Parse ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or a :class:`Device`) and check that it exists."""
    if isinstance(spec, Device):
        spec = str(spec)
    if not isinstance(spec, str):
        raise TypeError(f"a device is a string such as 'cpu' or 'cuda:0', got {spec!r}")
    name = spec.strip().lower()
    if name == "cpu":
        return CPU
    if name == "cuda":
        name = "cuda:0"
    kind, _, index = name.partition(":")
    if kind != "cuda" or not index.isdigit():
        raise ValueError(f"unknown device {spec!r}: use 'cpu' or 'cuda:N' (N = 0, 1, ...)")
    _require_cupy()
    count = gpu_count()
    if int(index) >= count:
        present = ", ".join(f"cuda:{i}" for i in range(count)) or "none"
        raise RuntimeError(
            f"device {spec!r} does not exist: CUDA devices present: {present}; "
            "pass one of those, or 'cpu'"
        )
    return Device("cuda", int(index))


def is_cupy_array(array) -> bool:
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def xp_of(array):
    """The array module (numpy or cupy) that owns ``array``."""
    return _cupy if is_cupy_array(array) else np


def device_of(array) -> Device:
    """The :class:`Device` an array lives on."""
    if is_cupy_array(array):
        return Device("cuda", array.device.id)
    return CPU


def to_device(array, dev):
    """Copy ``array`` to device ``dev`` (no copy when it is already there)."""
    dev = device(dev)
    if device_of(array) == dev:
        return array
    if dev.kind == "cpu":
        return _cupy.asnumpy(array)
    with dev.context():
        return _require_cupy().asarray(array)  # host->device, or peer copy between GPUs


def to_numpy(array) -> np.ndarray:
    """A NumPy copy (or the array itself) for printing, plotting and saving."""
    return _cupy.asnumpy(array) if is_cupy_array(array) else np.asarray(array)


def scatter_add(target, indices, values) -> None:
    """``target[indices] += values`` with repeated indices summed (np.add.at / cupyx.scatter_add)."""
    if is_cupy_array(target):
        _cupyx.scatter_add(target, indices, values)
    else:
        np.add.at(target, indices, values)


THREADS_PER_BLOCK = 256


@functools.lru_cache(maxsize=None)
def _raw_kernel(source: str, name: str):
    """One ``cupy.RawKernel`` per kernel: it compiles on first use and keeps a module per device."""
    return _require_cupy().RawKernel(source, name)


def launch_cuda(source: str, name: str, total: int, args) -> None:
    """Compile (once; CuPy caches it on disk) and run kernel ``name`` of CUDA C++ ``source`` with
    enough blocks of :data:`THREADS_PER_BLOCK` threads for ``total`` work items, on the device of
    the first array in ``args`` (the kernels of :mod:`tinyconv.kernels` loop grid-stride)."""
    kernel = _raw_kernel(source, name)
    blocks = max(1, min(-(-total // THREADS_PER_BLOCK), 1 << 20))
    gpu = next(a for a in args if is_cupy_array(a)).device
    with gpu:
        kernel((blocks,), (THREADS_PER_BLOCK,), tuple(args))


def nccl():
    """CuPy's NCCL bindings (``cupy.cuda.nccl``), or a RuntimeError that says what to install."""
    _require_cupy()
    from cupy.cuda import nccl as bindings
    if not bindings.available:
        raise RuntimeError("CuPy cannot load the NCCL library (libnccl.so.2): pip install -e \".[cuda12]\" "
                           "(nvidia-nccl-cu12) or \".[cuda13]\", or use --comm mpi, which stages GPU arrays "
                           "through the host")
    return bindings


def current_stream_pointer() -> int:
    """The handle of CuPy's current CUDA stream on the current device (for libraries such as NCCL)."""
    return _require_cupy().cuda.get_current_stream().ptr


def synchronize(dev=None) -> None:
    """Wait until the GPU has finished queued work (for timing); a no-op on the CPU."""
    if dev is None or device(dev).kind == "cpu":
        if dev is None and _cupy is not None and gpu_count():
            _cupy.cuda.Device().synchronize()
        return
    with device(dev).context():
        _cupy.cuda.Device().synchronize()


def enable_peer_access(a, b) -> bool:
    """Let GPUs ``a`` and ``b`` read each other's memory directly where the hardware allows (§3.2)."""
    a, b = device(a), device(b)
    if a.kind != "cuda" or b.kind != "cuda" or a == b:
        return False
    runtime = _cupy.cuda.runtime
    if not runtime.deviceCanAccessPeer(a.index, b.index):
        return False
    for src, dst in ((a, b), (b, a)):
        with src.context():
            try:
                runtime.deviceEnablePeerAccess(dst.index)
            except _cupy.cuda.runtime.CUDARuntimeError:  # already enabled
                pass
    return True


def default_rng(seed=None, dev="cpu"):
    """A random generator on ``dev`` (numpy.random.Generator or cupy.random.Generator)."""
    return device(dev).xp.random.default_rng(seed)
