"""Dropout (§4.2), paper and inverted modes: gradients with a fixed mask, mask statistics,
test-time scaling (and PyTorch's eval identity), reproducibility, bad input."""
import numpy as np
import pytest

from tinyconv import backend
from tinyconv.functional.dropout import dropout
from tinyconv.tensor import Tensor
from tinyconv.testing import gradcheck


@pytest.mark.parametrize("mode", ["paper", "inverted"])
def test_gradcheck_with_a_fixed_mask(mode, xp, device, rng):
    x = xp.asarray(rng.standard_normal((4, 6)))
    # a fresh generator with the same seed on every call: the same mask for each evaluation
    errors = gradcheck(lambda t: dropout(t, 0.3, True, mode, backend.default_rng(7, device)), x)
    assert errors[0] < 1e-6


@pytest.mark.parametrize("mode, kept_scale", [("paper", 1.0), ("inverted", 1 / 0.7)])
def test_training_mask_statistics(mode, kept_scale, xp, device):
    x = xp.ones((400, 250), dtype=np.float32)                           # 100 000 units
    y = dropout(x, 0.3, True, mode, backend.default_rng(0, device)).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01                                # std of the fraction: 0.0015
    np.testing.assert_allclose(y[kept], kept_scale, rtol=1e-6)          # kept units: x (or x / (1-p))


def test_paper_mode_mean_training_output_equals_test_output(xp, device):
    # §4.2: multiplying by 1 - p at test time matches the expected output during training
    x = xp.asarray(np.linspace(-2, 2, 50))
    rng = backend.default_rng(3, device)
    mean = sum(dropout(x, 0.5, True, "paper", rng).numpy() for _ in range(4000)) / 4000
    np.testing.assert_allclose(mean, dropout(x, 0.5, False, "paper").numpy(), atol=0.06)


@pytest.mark.parametrize("mode", ["paper", "inverted"])
def test_eval_mode_against_torch(mode, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 7)).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    t = Tensor(x, requires_grad=True)
    y = dropout(t, 0.4, training=False, mode=mode)
    y.backward(gy)
    layer = torch.nn.Dropout(0.4).eval()                                # torch uses the inverted form
    xt = torch.tensor(x, requires_grad=True)
    layer(xt).backward(torch.tensor(gy))
    # inverted: identical to torch's eval identity; paper: torch's output times (1 - p)
    factor = 1.0 if mode == "inverted" else 0.6
    np.testing.assert_allclose(y.data, factor * layer(torch.tensor(x)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(t.grad, factor * xt.grad.numpy(), rtol=1e-6)


def test_same_seed_same_mask(xp, device):
    x = xp.ones((64, 64))
    a = dropout(x, 0.5, True, rng=backend.default_rng(11, device)).numpy()
    b = dropout(x, 0.5, True, rng=backend.default_rng(11, device)).numpy()
    c = dropout(x, 0.5, True, rng=backend.default_rng(12, device)).numpy()
    assert (a == b).all() and not (a == c).all()


def test_p_zero_keeps_everything(xp, device):
    x = xp.asarray([1.0, -2.0, 3.0])
    assert dropout(x, 0.0, True, "inverted", backend.default_rng(0, device)).data.tolist() == [1.0, -2.0, 3.0]


def test_bad_input(xp, device):
    x = xp.ones((2, 3))
    rng = backend.default_rng(0, device)
    for p in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            dropout(x, p, rng=rng)
    with pytest.raises(ValueError, match="mode must be one of"):
        dropout(x, 0.5, mode="scaled", rng=rng)
    with pytest.raises(ValueError, match="needs rng="):
        dropout(x, 0.5, training=True)
    with pytest.raises(TypeError, match="floating-point"):
        dropout(xp.ones((2, 3), dtype=np.int32), 0.5, rng=rng)
