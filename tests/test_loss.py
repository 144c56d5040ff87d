"""Softmax, log-softmax, the §5 cross-entropy objective and the §6 top-k error: gradients,
stability for huge logits, PyTorch parity, a hand-checked top-k example, bad input."""
import numpy as np
import pytest

import tinyconv.functional.loss as S
from tinyconv.tensor import Tensor
from tinyconv.testing import assert_close, gradcheck


@pytest.mark.parametrize("axis", [1, 0, -1])
def test_log_softmax_gradcheck(axis, xp, rng):
    gradcheck(lambda t: S.log_softmax(t, axis), xp.asarray(rng.standard_normal((4, 5)) * 3))


def test_cross_entropy_gradcheck(xp, rng):
    labels = xp.asarray([0, 4, 2, 2, 1, 3])
    gradcheck(lambda t: S.softmax_cross_entropy(t, labels), xp.asarray(rng.standard_normal((6, 5)) * 3))


def test_stable_for_huge_logits(xp):
    logits = xp.asarray([[1000.0, 0.0, -1000.0], [-5000.0, 5000.0, 4999.0]], dtype=np.float32)
    shifted = logits - logits.max(axis=1, keepdims=True)                # what a stable version must equal
    p = S.softmax(logits)
    assert np.isfinite(p.tolist()).all() and p.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert_close(S.log_softmax(logits).data, S.log_softmax(shifted).data, 1e-6)
    loss = S.softmax_cross_entropy(logits, xp.asarray([0, 2])).item()
    assert loss == pytest.approx((0.0 + np.log1p(np.exp(-1.0)) + 1.0) / 2, rel=1e-5)


def test_cross_entropy_torch_parity(rng):
    torch = pytest.importorskip("torch")
    logits = (rng.standard_normal((32, 10)) * 5).astype(np.float32)
    labels = rng.integers(0, 10, size=32)
    t = Tensor(logits, requires_grad=True)
    loss = S.softmax_cross_entropy(t, labels)
    loss.backward()
    lt = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(lt, torch.tensor(labels))
    ref.backward()
    assert loss.dtype == np.float32
    assert_close(loss.data, ref.detach().numpy(), 1e-4, "loss")
    assert_close(t.grad, lt.grad.numpy(), 1e-4, "gradient")


def test_labels_as_tensor_or_list(xp, rng):
    logits = xp.asarray(rng.standard_normal((3, 4)))
    expected = S.softmax_cross_entropy(logits, xp.asarray([1, 0, 3])).item()
    assert S.softmax_cross_entropy(logits, Tensor(xp.asarray([1, 0, 3]))).item() == expected
    assert S.softmax_cross_entropy(logits, [1, 0, 3]).item() == expected


def test_topk_error_hand_checked(xp):
    logits = xp.asarray([[0.1, 0.5, 0.2, 0.9],     # label 3 is the largest: top-1 hit
                         [0.8, 0.1, 0.3, 0.2],     # label 2 is second: top-1 miss, top-2 hit
                         [0.1, 0.2, 0.3, 0.4],     # label 0 is last: miss until k = 4
                         [0.5, 0.4, 0.3, 0.2]])    # label 1 is second
    labels = xp.asarray([3, 2, 0, 1])
    assert S.topk_error(logits, labels, k=1) == pytest.approx(0.75)
    assert S.topk_error(logits, labels, k=2) == pytest.approx(0.25)
    assert S.topk_error(Tensor(logits), Tensor(labels), k=3) == pytest.approx(0.25)
    assert S.topk_error(logits, labels, k=4) == 0.0


def test_bad_input(xp):
    logits = xp.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        S.softmax_cross_entropy(logits, xp.asarray([0, 4, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        S.softmax_cross_entropy(logits, xp.asarray([0, -1, 1]))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        S.softmax_cross_entropy(logits, xp.asarray([0, 1]))
    with pytest.raises(TypeError, match="labels must be integer"):
        S.softmax_cross_entropy(logits, xp.asarray([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="expects a 2-D input"):
        S.softmax_cross_entropy(xp.zeros((3, 4, 1)), xp.asarray([0, 1, 2]))
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 4\]"):
        S.topk_error(logits, xp.asarray([0, 1, 2]), k=5)
