"""Local response normalization (§3.3) in the paper's convention: against the per-map reference,
float64 gradients, PyTorch parity with alpha converted, groups (the two towers), bad input."""
import numpy as np
import pytest

import tinyconv.functional.normalization as L
from tinyconv.tensor import Tensor
from tinyconv.testing import assert_close, gradcheck, relative_error

# (size, alpha, beta, k): alpha=1 exaggerated so that a wrong window changes the output a lot
SETTINGS = [(5, 1.0, 0.75, 2.0), (3, 1.0, 0.5, 1.0), (5, 1e-4, 0.75, 2.0), (3, 0.5, 1.3, 0.7)]


@pytest.mark.parametrize("size, alpha, beta, k", SETTINGS)
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_naive(size, alpha, beta, k, groups, dtype, xp, rng):
    x = xp.asarray(rng.standard_normal((2, 8, 5, 3)) * 2, dtype=dtype)
    y = L.local_response_norm(x, size, alpha, beta, k, groups)
    assert y.dtype == dtype
    assert_close(y, L.local_response_norm_naive(x, size, alpha, beta, k, groups),
                 1e-6 if dtype == np.float32 else 1e-12)


def test_window_is_clipped_at_the_edges_and_stays_in_its_group(xp):
    # one position, 4 maps, groups=2: map 1's window is maps {0, 1}, never map 2 of the other tower
    x = xp.asarray([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1, 1)
    y = L.local_response_norm(x, size=5, alpha=1.0, beta=1.0, k=1.0, groups=2).data.ravel().tolist()
    assert y == pytest.approx([1 / 6, 2 / 6, 3 / 26, 4 / 26])
    y1 = L.local_response_norm(x, size=3, alpha=1.0, beta=1.0, k=1.0).data.ravel().tolist()
    assert y1 == pytest.approx([1 / 6, 2 / 15, 3 / 30, 4 / 26])


@pytest.mark.parametrize("size, alpha, beta, k", SETTINGS)
@pytest.mark.parametrize("groups", [1, 2])
def test_gradcheck(size, alpha, beta, k, groups, xp, rng):
    x = xp.asarray(rng.standard_normal((2, 6, 3, 2)))
    gradcheck(lambda t: L.local_response_norm(t, size, alpha, beta, k, groups), x)


def _torch_lrn(torch, x, gy, size, alpha_torch, beta, k):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.local_response_norm(xt, size, alpha_torch, beta, k)
    yt.backward(torch.tensor(gy))
    return yt.detach().numpy(), xt.grad.numpy()


def _ours(x, gy, **kw):
    t = Tensor(x, requires_grad=True)
    y = L.local_response_norm(t, **kw)
    y.backward(gy)
    return y.data, t.grad


@pytest.mark.parametrize("alpha", [1e-4, 1.0])
def test_torch_parity_with_converted_alpha(alpha, rng):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((4, 16, 9, 9)) * 10).astype(np.float32)   # ReLU-sized activations
    gy = rng.standard_normal(x.shape).astype(np.float32)
    y, gx = _ours(x, gy, size=5, alpha=alpha, beta=0.75, k=2.0)
    yt, gxt = _torch_lrn(torch, x, gy, 5, L.alpha_to_torch(alpha, 5), 0.75, 2.0)
    assert_close(y, yt, 1e-4, "forward")
    assert_close(gx, gxt, 1e-4, "backward")
    if alpha == 1.0:  # the unconverted alpha is a different layer: the conversion matters
        assert relative_error(y, _torch_lrn(torch, x, gy, 5, alpha, 0.75, 2.0)[0]) > 0.1


def test_groups_equal_torch_per_tower(rng):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((2, 12, 5, 5)) * 3).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    y, gx = _ours(x, gy, size=5, alpha=1.0, beta=0.75, k=2.0, groups=2)
    halves = [_torch_lrn(torch, x[:, s], gy[:, s], 5, 5.0, 0.75, 2.0) for s in (slice(0, 6), slice(6, 12))]
    assert_close(y, np.concatenate([h[0] for h in halves], axis=1), 1e-4, "forward")
    assert_close(gx, np.concatenate([h[1] for h in halves], axis=1), 1e-4, "backward")


def test_alpha_conversion():
    assert L.alpha_to_torch(1e-4, 5) == pytest.approx(5e-4)
    assert L.alpha_from_torch(L.alpha_to_torch(3e-4, 7), 7) == pytest.approx(3e-4)


def test_bad_input(xp):
    x = xp.ones((2, 6, 3, 3))
    with pytest.raises(ValueError, match="expects a 4-D input"):
        L.local_response_norm(xp.ones((6, 3, 3)))
    with pytest.raises(ValueError, match="size must be odd, a positive int"):
        L.local_response_norm(x, size=4)
    with pytest.raises(ValueError, match="do not divide into groups=4"):
        L.local_response_norm(x, groups=4)
    with pytest.raises(ValueError, match="k > 0"):
        L.local_response_norm(x, k=0.0)
    with pytest.raises(TypeError, match="floating-point"):
        L.local_response_norm(xp.ones((2, 6, 3, 3), dtype=np.int64))
