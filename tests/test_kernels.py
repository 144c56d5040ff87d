"""The fused CUDA kernels (tinyconv/kernels) against the references they replace.

Each test runs an op's forward and backward twice, once through its kernel (the op's fast version
for "cuda", tinyconv/fast/) and once through its reference (tinyconv/functional/, with
tinyconv.fast_paths(False)), and compares outputs and input gradients. On "cpu" the kernels are
the same CUDA sources compiled by g++ and played thread by thread (tinyconv/kernels/host.py); on
"cuda:0" (``pytest -m gpu``) they are compiled by NVRTC and run on the GPU.
"""
import contextlib
import re
import shutil
import subprocess

import numpy as np
import pytest

from tinyconv import Tensor, backend, dispatch, fast_paths, kernels
from tinyconv import functional as F
from tinyconv.fast import workspace
from tinyconv.fast.conv import col2im_kernel, im2col_kernel
from tinyconv.fast.pooling import MaxPool2dCPU, MaxPool2dCUDA
from tinyconv.functional.pooling import MaxPool2dFunction
from tinyconv.kernels import host
from tinyconv.optim import SGD

pytestmark = pytest.mark.skipif(not host.AVAILABLE, reason="needs g++ to run the CUDA sources on the host")

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@contextlib.contextmanager
def _kernels_on(device):
    """The kernels on ``device`` (the GPU itself, or g++ on the host for "cpu"), with every array made
    by ``empty``/``empty_like`` meanwhile poisoned (NaN, -7 for integers, True for booleans), and no
    kept workspace arrays: an element a kernel forgets to write cannot pass for a right one."""
    xp = backend.device(device).xp
    empty, empty_like = xp.empty, xp.empty_like

    def poisoned(array):
        array.fill(np.nan if array.dtype.kind == "f" else True if array.dtype.kind == "b" else -7)
        return array
    workspace.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xp, "empty", lambda *args, **kwargs: poisoned(empty(*args, **kwargs)))
        patch.setattr(xp, "empty_like", lambda *args, **kwargs: poisoned(empty_like(*args, **kwargs)))
        with contextlib.nullcontext() if device != "cpu" else kernels.host_runner(host.run):
            yield


def _forward_backward(op, inputs, gy):
    """Outputs and input gradients of ``op`` (a function of Tensors) for upstream gradient ``gy``, and the
    name of the Function that made the output."""
    tensors = [Tensor(a, requires_grad=True) for a in inputs]
    y = op(*tensors)
    made_by = type(y.creator).__name__
    y.backward(gy)
    return [backend.to_numpy(y.data)] + [backend.to_numpy(t.grad) for t in tensors], made_by


def assert_fused_matches_reference(op, arrays, device, dtype, rng):
    """Run ``op`` on ``arrays`` through its kernel and through its reference; compare everything."""
    xp = backend.device(device).xp
    inputs = [xp.asarray(a.astype(dtype)) for a in arrays]
    with fast_paths(False):
        reference_y = op(*[Tensor(a) for a in inputs]).data
    gy = xp.asarray(rng.standard_normal(reference_y.shape).astype(dtype))
    with fast_paths(False):
        reference, reference_fn = _forward_backward(op, inputs, gy)
    with _kernels_on(device):
        fused, fused_fn = _forward_backward(op, inputs, gy)
    assert reference_fn.endswith("Function") and fused_fn.endswith("CUDA"), (reference_fn, fused_fn)
    for name, got, want in zip(["output"] + [f"gradient of input {i}" for i in range(len(arrays))], fused, reference):
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_allclose(got, want, err_msg=name, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel_size, stride, padding", [
    ((2, 3, 13, 13), 3, 2, 0),          # §3.4's overlapping pooling, z=3 s=2
    ((2, 3, 12, 11), 3, 2, 1),          # padded, odd width: windows that hold padding
    ((1, 2, 8, 8), 2, 2, 0),            # non-overlapping z=2 s=2
    ((2, 2, 9, 7), (3, 2), (1, 2), (1, 0)),
])
def test_max_pool_kernels_match_the_xp_version(device, dtype, shape, kernel_size, stride, padding, rng):
    x = rng.standard_normal(shape)
    x[0, 0, :2, :2] = 0.5                                               # ties: the first offset must win

    def op(t):
        return F.max_pool2d(t, kernel_size, stride, padding)
    assert_fused_matches_reference(op, [x], device, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels, size, groups, k", [
    (8, 5, 1, 2.0),                     # the paper's n=5, k=2
    (12, 5, 2, 2.0),                    # within each tower: the window stops at the group's edge
    (6, 3, 3, 1.0),
    (3, 7, 1, 0.5),                     # a window wider than the channels
])
def test_lrn_kernels_match_the_xp_version(device, dtype, channels, size, groups, k, rng):
    # values of a few units, so that alpha * sum a^2 is not negligible next to k
    x = 30 * rng.standard_normal((2, channels, 5, 4))

    def op(t):
        return F.local_response_norm(t, size=size, alpha=1e-3, beta=0.75, k=k, groups=groups)
    assert_fused_matches_reference(op, [x], device, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, groups", [
    ((2, 3, 11, 11), (4, 3, 5, 5), 4, 2, 1),       # conv1-like: large kernel, stride 4 (col2im not needed)
    ((2, 4, 7, 7), (6, 2, 5, 5), 1, 2, 2),         # conv2-like: two towers, OC > C (col2im)
    ((2, 6, 5, 5), (4, 3, 3, 3), 1, 1, 2),         # OC <= C at stride 1 (the flipped-kernel route, im2col)
    ((1, 3, 9, 8), (5, 3, (3, 2)), (2, 3), (1, 0), 1),  # uneven kernel, stride and padding (col2im)
])
def test_conv_kernels_match_the_xp_version(device, dtype, x_shape, w_shape, stride, padding, groups, rng):
    kh, kw = (w_shape[2], w_shape[2]) if isinstance(w_shape[2], int) else w_shape[2]
    weight = rng.standard_normal(w_shape[:2] + (kh, kw))
    x, bias = rng.standard_normal(x_shape), rng.standard_normal(w_shape[0])

    def op(t, w, b):
        return F.conv2d(t, w, b, stride=stride, padding=padding, groups=groups)
    assert_fused_matches_reference(op, [x, weight, bias], device, dtype, rng)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_fused_col2im_is_the_adjoint_of_fused_im2col(device, stride, padding, rng):
    """<im2col(x), c> = <x, col2im(c)> for any x and c: what makes col2im the right backward."""
    xp = backend.device(device).xp
    x = xp.asarray(rng.standard_normal((2, 3, 8, 7)))
    with _kernels_on(device):
        col = im2col_kernel(x, 3, 3, stride, stride, padding, padding)
        c = xp.asarray(rng.standard_normal(col.shape))
        back = col2im_kernel(c, x.shape, 3, 3, stride, stride, padding, padding)
    np.testing.assert_allclose(float((col * c).sum()), float((x * back).sum()), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernel_matches_the_xp_version(device, dtype, rng):
    x = rng.standard_normal((3, 4, 5, 6))
    x[0, 0, 0, :3] = 0                                                  # f'(0) = 0, as in the xp version
    assert_fused_matches_reference(F.relu, [x], device, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_kernel_takes_the_same_steps_as_the_xp_version(device, dtype, rng):
    """Three §5 steps, weight decay on one group and off on the other, the learning rate changed between."""
    xp = backend.device(device).xp
    start = [rng.standard_normal((4, 3)), rng.standard_normal(5)]
    grads = [[rng.standard_normal(a.shape) for a in start] for _ in range(3)]

    def train(run_kernels):
        params = [Tensor(xp.asarray(a.astype(dtype)), requires_grad=True) for a in start]
        optimizer = SGD([{"params": params[:1]}, {"params": params[1:], "weight_decay": 0.0}], lr=0.1)
        with run_kernels:
            for step, step_grads in enumerate(grads):
                for p, g in zip(params, step_grads):
                    p.grad = xp.asarray(g.astype(dtype))
                optimizer.param_groups[0]["lr"] = 0.1 / (1 + step)
                optimizer.step()
        return [backend.to_numpy(p.data) for p in params] + [backend.to_numpy(v) for v in optimizer.velocity.values()]
    fused, reference = train(_kernels_on(device)), train(fast_paths(False))
    for moved, first in zip(reference, start):
        assert np.abs(moved - first).min() > 0                          # every weight took its steps
    for got, want in zip(fused, reference):
        np.testing.assert_allclose(got, want, **TOLERANCE[dtype])


def test_fused_max_pool_records_the_first_offset_on_ties(device):
    x = backend.device(device).xp.ones((1, 1, 3, 3), dtype=np.float32)
    fn = MaxPool2dCUDA(3, 2)
    with _kernels_on(device):
        fn(Tensor(x))
    assert int(fn.saved[0].ravel()[0]) == 0


def test_kernels_are_not_used_outside_their_runner_on_the_cpu(rng):
    x = rng.standard_normal((1, 1, 5, 5))
    assert dispatch.choose(MaxPool2dFunction, x) is MaxPool2dCPU
    with kernels.host_runner(host.run):
        assert dispatch.choose(MaxPool2dFunction, x) is MaxPool2dCUDA


def test_the_kernels_refuse_other_dtypes():
    with pytest.raises(TypeError, match="float32 and float64"):
        kernels.source("pooling.cu", np.float16)


def _nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc
        nvrtc.getVersion()
    except Exception:                                                   # no CuPy, or no NVRTC library
        return None
    return nvrtc


KERNEL_FILES = sorted(p.name for p in kernels.resources.files(kernels.__name__).iterdir() if p.name.endswith(".cu"))


@pytest.mark.skipif(_nvrtc() is None, reason="needs CuPy's NVRTC (a GPU is not needed to compile)")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("file", KERNEL_FILES)
def test_every_kernel_source_compiles_with_nvrtc(file, dtype):
    """NVRTC, CUDA's own compiler, accepts each source (g++ above is more lenient about some things)."""
    nvrtc = _nvrtc()
    program = nvrtc.createProgram(kernels.source(file, dtype), file, [], [])
    try:
        nvrtc.compileProgram(program, ["--gpu-architecture=compute_80"])
    except nvrtc.NVRTCError as error:
        raise AssertionError(f"{file} ({np.dtype(dtype)}): {error}\n{nvrtc.getProgramLog(program)}") from None


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs CUDA's nvcc on PATH (a GPU is not needed to compile)")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("file", KERNEL_FILES)
def test_every_kernel_source_compiles_with_nvcc_without_a_warning(file, dtype, tmp_path):
    """nvcc turns each source into PTX for Hopper (sm_90: the H100 and H200), warnings counted as
    errors, and every ``extern "C"`` kernel of the source is an entry of that PTX under its own name
    (the name ``kernels.launch`` asks for). Where the CUDA toolkit is installed without CuPy (this
    project's 2-core machines have nvcc), this is the check that runs, and it refuses what only the
    GPU side refuses, such as a host-only function called from a kernel."""
    text = kernels.source(file, dtype)
    cu, ptx = tmp_path / file, tmp_path / "kernels.ptx"
    cu.write_text(text)
    done = subprocess.run(["nvcc", "--ptx", "-arch=sm_90", "-Werror", "all-warnings", "-o", str(ptx), str(cu)],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{file} ({np.dtype(dtype)}):\n{done.stderr}"
    declared = re.findall(r'extern "C" __global__ void (\w+)\(', text)
    entries = re.findall(r"\.entry (\w+)\(", ptx.read_text())
    assert declared and sorted(entries) == sorted(declared)
