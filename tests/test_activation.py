"""ReLU (§3.1), tanh and sigmoid: float64 gradients, stability, PyTorch parity, bad input."""
import numpy as np
import pytest

import tinyconv.functional.activation as A
from tinyconv.tensor import Tensor
from tinyconv.testing import assert_close, gradcheck

OPS = {"relu": A.relu, "tanh": A.tanh, "sigmoid": A.sigmoid}


@pytest.mark.parametrize("name", OPS)
def test_gradcheck(name, xp, rng):
    x = rng.standard_normal((3, 4, 5)) * 3
    x = np.sign(x) * (np.abs(x) + 0.01)                                 # off ReLU's kink at 0
    gradcheck(OPS[name], xp.asarray(x))


def test_relu_values(xp):
    y = A.relu(xp.asarray([-2.0, -0.5, 0.5, 3.0]))
    assert y.data.tolist() == [0.0, 0.0, 0.5, 3.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype, xp):
    with np.errstate(all="raise"):                                      # no overflow warnings either
        y = A.sigmoid(xp.asarray([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=dtype))
    assert y.dtype == dtype
    values = y.data.tolist()
    assert values[0] == 0.0 and values[-1] == 1.0 and values[2] == 0.5
    assert values[1] == pytest.approx(1 / (1 + np.exp(30.0)), rel=1e-4)


@pytest.mark.parametrize("name", OPS)
def test_torch_parity(name, rng):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((8, 16)) * 4).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    t = Tensor(x, requires_grad=True)
    y = OPS[name](t)
    y.backward(gy)
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch, name)(xt)
    yt.backward(torch.tensor(gy))
    assert_close(y.data, yt.detach().numpy(), 1e-4, "forward")
    assert_close(t.grad, xt.grad.numpy(), 1e-4, "backward")


@pytest.mark.parametrize("name", OPS)
def test_integer_input_is_refused(name, xp):
    with pytest.raises(TypeError, match=f"{name} needs a floating-point input"):
        OPS[name](xp.asarray([1, 2, 3]))
