"""Every fast version of an op (tinyconv/fast/) against its reference (tinyconv/functional/): outputs and
input gradients, float32 and float64, on every device of the run (on "cpu" the CPU versions; on "cuda:0"
the CUDA kernels, which tests/test_kernels.py also plays on the CPU); and the switch that turns them off."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tinyconv
from tinyconv import Tensor, backend, dispatch, fast_paths
from tinyconv import functional as F
from tinyconv.fast import workspace
from tinyconv.functional.pooling import MaxPool2dFunction

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}

# name: (op on Tensors, input shapes); every fast version and every branch inside one
CASES = {
    "conv2d stride 4 (conv1)": (lambda x, w, b: F.conv2d(x, w, b, stride=4), [(2, 3, 23, 23), (8, 3, 11, 11), (8,)]),
    "conv2d towers, OC > C (col2im)": (lambda x, w, b: F.conv2d(x, w, b, padding=2, groups=2),
                                       [(2, 4, 9, 9), (6, 2, 5, 5), (6,)]),
    "conv2d stride 1, OC <= C (flipped kernels)": (lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
                                                   [(2, 16, 7, 7), (8, 8, 3, 3), (8,)]),
    "conv2d uneven, no bias": (lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 0)),
                               [(3, 2, 9, 8), (5, 2, 3, 2)]),
    "max_pool2d 3x3 stride 2 (§3.4)": (lambda x: F.max_pool2d(x, 3, 2), [(2, 3, 13, 13)]),
    "max_pool2d padded": (lambda x: F.max_pool2d(x, 3, 2, padding=1), [(2, 3, 12, 11)]),
    "max_pool2d uneven": (lambda x: F.max_pool2d(x, (3, 2), (1, 2), (1, 0)), [(2, 2, 9, 7)]),
    "max_pool2d in many chunks": (lambda x: F.max_pool2d(x, 3, 2, padding=1), [(64, 8, 32, 32)]),
    "lrn, towers (§3.3)": (lambda x: F.local_response_norm(x, 5, 1.0, 0.75, 2.0, groups=2), [(2, 12, 5, 4)]),
    "lrn, other beta and k": (lambda x: F.local_response_norm(x, 3, 0.5, 1.3, 0.7), [(3, 6, 4, 4)]),
    "lrn in many chunks": (lambda x: F.local_response_norm(x, 5, 1e-3, 0.75, 2.0, groups=2), [(48, 8, 32, 32)]),
    "relu": (lambda x: F.relu(x), [(3, 4, 5, 6)]),
    "relu in many chunks": (lambda x: F.relu(x), [(96, 8, 32, 32)]),
}


def _run(op, inputs, gy):
    """Output, input gradients and the Function class that made the output."""
    tensors = [Tensor(a, requires_grad=True) for a in inputs]
    y = op(*tensors)
    made_by = type(y.creator)
    y.backward(gy)
    return [backend.to_numpy(y.data)] + [backend.to_numpy(t.grad) for t in tensors], made_by


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_fast_version_matches_its_reference(case, dtype, device, rng):
    op, shapes = CASES[case]
    xp = backend.device(device).xp
    inputs = [xp.asarray(rng.standard_normal(s).astype(dtype)) for s in shapes]
    inputs[0][0, 0, :2, :2] = 0.5                                       # a tie for pooling, zeros for ReLU
    inputs[0] *= 4 if case.startswith("lrn") else 1                     # alpha * sum a^2 not negligible
    with fast_paths(False):
        y = op(*[Tensor(a) for a in inputs])
    gy = xp.asarray(rng.standard_normal(y.shape).astype(dtype))
    with fast_paths(False):
        reference, reference_fn = _run(op, inputs, gy)
    workspace.clear()
    for step in range(2):                                               # the second reuses workspace matrices
        fast, fast_fn = _run(op, inputs, gy)
        assert fast_fn is not reference_fn and issubclass(fast_fn, reference_fn)
        assert fast_fn is dispatch.choose(reference_fn, inputs[0])
        for name, got, want in zip(["output"] + [f"gradient of input {i}" for i in range(len(inputs))],
                                   fast, reference):
            assert got.dtype == want.dtype and got.shape == want.shape, name
            np.testing.assert_allclose(got, want, err_msg=f"{name}, step {step}", **TOLERANCE[dtype])
    workspace.clear()


def test_fast_paths_switch_off_and_back_on(rng):
    x = rng.standard_normal((1, 1, 5, 5))
    fast = dispatch.choose(MaxPool2dFunction, x)
    assert fast is not MaxPool2dFunction and dispatch.enabled()
    with tinyconv.fast_paths(False):
        assert dispatch.choose(MaxPool2dFunction, x) is MaxPool2dFunction and not dispatch.enabled()
        assert type(F.max_pool2d(Tensor(x, requires_grad=True)).creator) is MaxPool2dFunction
    assert dispatch.choose(MaxPool2dFunction, x) is fast
    try:
        tinyconv.fast_paths(False)                                      # for the rest of the program
        assert dispatch.choose(MaxPool2dFunction, x) is MaxPool2dFunction
    finally:
        tinyconv.fast_paths(True)
    assert dispatch.choose(MaxPool2dFunction, x) is fast
    with pytest.raises(TypeError, match="True or False"):
        tinyconv.fast_paths("off")


@pytest.mark.parametrize("value, on", [("0", False), ("off", False), ("1", True)])
def test_environment_variable_sets_the_start_value(value, on):
    code = "import tinyconv; print(tinyconv.dispatch.enabled())"
    env = dict(os.environ, TINYCONV_FAST_PATHS=value)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(on)


def test_a_fast_version_runs_on_cpu_or_cuda_only():
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        dispatch.fast_version(MaxPool2dFunction, "tpu")
