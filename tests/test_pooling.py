"""Max pooling (§3.4): the offset-loop version against the window-by-window reference, gradients
on inputs with distinct values (no ties, so no kinks), PyTorch parity, bad input; and flatten."""
import numpy as np
import pytest

import tinyconv.functional.pooling as P
from tinyconv.functional.shape import flatten
from tinyconv.tensor import Tensor
from tinyconv.testing import assert_close, gradcheck


def _distinct(xp, rng, shape, dtype=np.float64):
    """A random permutation of a grid 0.1 apart: every window has one clear maximum."""
    return xp.asarray(rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 3.0, dtype=dtype)


@pytest.mark.parametrize("kernel", [2, 3, (3, 2)])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_naive(kernel, stride, padding, dtype, xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 9, 7)), dtype=dtype)    # non-square maps
    y = P.max_pool2d(x, kernel, stride, padding)
    expected = P.max_pool2d_naive(x, kernel, stride, padding)
    assert y.dtype == dtype and y.shape == expected.shape
    assert bool((y.data == expected).all())                             # a maximum is exact


@pytest.mark.parametrize("kernel, stride, padding", [(3, 2, 0), (3, 2, 1), (2, 2, 0), (2, 1, 1), (3, 3, 1),
                                                     ((3, 2), (2, 1), (1, 0))])
def test_gradcheck(kernel, stride, padding, xp, rng):
    x = _distinct(xp, rng, (2, 2, 7, 6))
    gradcheck(lambda t: P.max_pool2d(t, kernel, stride, padding), x)


def test_overlapping_windows_accumulate_gradient(xp):
    # 1x5 row, kernel (1, 3) stride (1, 2): windows [0..2] and [2..4] share column 2, the maximum
    x = xp.asarray([[[[1.0, 2.0, 9.0, 3.0, 4.0]]]])
    t = Tensor(x, requires_grad=True)
    P.max_pool2d(t, (1, 3), (1, 2)).backward(xp.asarray([[[[10.0, 5.0]]]]))
    np.testing.assert_array_equal(np.asarray(t.grad.tolist()), [[[[0, 0, 15, 0, 0]]]])


def test_ties_send_the_gradient_to_one_place_like_torch(xp):
    torch = pytest.importorskip("torch")
    x = np.ones((1, 2, 5, 5), dtype=np.float32)                         # every element ties
    gy = np.arange(1.0, 9.0, dtype=np.float32).reshape(1, 2, 2, 2)
    t = Tensor(xp.asarray(x), requires_grad=True)
    P.max_pool2d(t, 3, 2).backward(xp.asarray(gy))
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 3, 2).backward(torch.tensor(gy))
    np.testing.assert_array_equal(np.asarray(t.grad.tolist()), xt.grad.numpy())


@pytest.mark.parametrize("padding", [0, 1])
def test_torch_parity_overlapping_pool(padding, rng):
    torch = pytest.importorskip("torch")
    x = _distinct(np, rng, (4, 8, 27, 27), np.float32)                  # conv5-like maps
    gy = rng.standard_normal((4, 8, 13 + padding, 13 + padding)).astype(np.float32)
    t = Tensor(x, requires_grad=True)
    y = P.max_pool2d(t, 3, 2, padding)
    y.backward(gy)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, 3, 2, padding)
    yt.backward(torch.tensor(gy))
    assert_close(y.data, yt.detach().numpy(), 1e-4, "forward")
    assert_close(t.grad, xt.grad.numpy(), 1e-4, "backward")


def test_bad_input(xp):
    x = xp.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="expects a 4-D input"):
        P.max_pool2d(xp.zeros((4, 4)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        P.max_pool2d(x, 7, 1, 1)
    with pytest.raises(ValueError, match="more than half the kernel"):
        P.max_pool2d(x, 3, 2, 2)
    with pytest.raises(ValueError, match="stride >= 1"):
        P.max_pool2d(x, 3, 0)
    with pytest.raises(TypeError, match="floating-point"):
        P.max_pool2d(xp.zeros((1, 1, 4, 4), dtype=np.int32))
    with pytest.raises(TypeError, match="pair of ints"):
        P.max_pool2d(x, (3, 3, 3))
    with pytest.raises(TypeError, match="pair of ints"):
        P.max_pool2d(x, 2.5)


def test_flatten_keeps_batch_and_gradient(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 2, 2)))
    assert flatten(x).shape == (2, 12)
    gradcheck(lambda t: flatten(t) * 2.0, x)
    with pytest.raises(ValueError, match="batch axis"):
        flatten(xp.asarray(1.0))
