"""linear (fc6-fc8, §3.5): against a loop reference, gradients, PyTorch, bad input."""
import numpy as np
import pytest

from tinyconv import backend
from tinyconv.functional.linear import linear
from tinyconv.tensor import Tensor
from tinyconv.testing import assert_close, gradcheck


def _arr(xp, rng, shape, dtype=np.float64):
    return xp.asarray(rng.standard_normal(shape).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_neuron_by_neuron_sums(dtype, xp, rng):
    x, w, b = _arr(xp, rng, (3, 5), dtype), _arr(xp, rng, (4, 5), dtype), _arr(xp, rng, (4,), dtype)
    y = linear(x, w, b)
    expected = xp.zeros((3, 4), dtype=dtype)
    for n in range(3):
        for j in range(4):                       # neuron j: its weight row dotted with the input
            expected[n, j] = sum(x[n, i] * w[j, i] for i in range(5)) + b[j]
    assert y.dtype == dtype
    assert_close(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, name="linear")
    assert_close(linear(x, w), expected - b, rtol=1e-6 if dtype == np.float32 else 1e-12, name="no bias")


@pytest.mark.parametrize("bias", [True, False])
def test_gradients_float64(bias, xp, rng):
    arrays = [_arr(xp, rng, (4, 6)), _arr(xp, rng, (3, 6))] + ([_arr(xp, rng, (3,))] if bias else [])
    assert len(gradcheck(linear, *arrays, rtol=1e-6)) == len(arrays)


def test_matches_pytorch(device, rng):
    torch = pytest.importorskip("torch")
    x_np, w_np, b_np = (rng.standard_normal(s).astype(np.float32) for s in ((16, 256), (100, 256), (100,)))
    dev = backend.device(device)
    x, w, b = (Tensor(backend.to_device(a, dev), requires_grad=True) for a in (x_np, w_np, b_np))
    y = linear(x, w, b)
    gy_np = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(backend.to_device(gy_np, dev))

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.from_numpy(gy_np))
    for name, ours, theirs in [("output", y.data, ty), ("grad x", x.grad, tx.grad),
                               ("grad weight", w.grad, tw.grad), ("grad bias", b.grad, tb.grad)]:
        assert_close(backend.to_numpy(ours), theirs.detach().numpy(), rtol=1e-4, name=name)
        assert ours.dtype == np.float32


def test_rejects_wrong_number_of_dimensions(xp):
    with pytest.raises(ValueError, match=r"x of shape \(N, in_features\), got shape \(2, 3, 4\).*flatten"):
        linear(xp.zeros((2, 3, 4)), xp.zeros((5, 12)))
    with pytest.raises(ValueError, match=r"weight of shape \(out_features, in_features\), got shape \(12,\)"):
        linear(xp.zeros((2, 12)), xp.zeros(12))


def test_rejects_in_feature_mismatch(xp):
    with pytest.raises(ValueError, match="x has 9216 features per row but weight expects in_features = 4096"):
        linear(xp.zeros((2, 9216)), xp.zeros((10, 4096)))


def test_rejects_integer_arrays_and_bad_bias(xp):
    with pytest.raises(TypeError, match=r"weight has dtype int32; convert it with weight.astype\(numpy.float32\)"):
        linear(xp.zeros((2, 3), dtype=np.float32), xp.zeros((4, 3), dtype=np.int32))
    with pytest.raises(ValueError, match=r"bias must have shape \(out_features,\) = \(4,\)"):
        linear(xp.zeros((2, 3)), xp.zeros((4, 3)), xp.zeros((1, 4)))
