"""The autograd engine: gradients of the elementary ops, accumulation, broadcasting, no_grad."""
import numpy as np
import pytest

import tinyconv.functional as F
from tinyconv.tensor import Tensor, no_grad
from tinyconv.testing import gradcheck


def _arr(xp, rng, *shape):
    return xp.asarray(rng.standard_normal(shape))


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0), lambda a, b: -a * 3.0 + 2.0 / (1.5 + b ** 2),
])
def test_arithmetic_gradients_with_broadcasting(op, xp, rng):
    gradcheck(op, _arr(xp, rng, 3, 4), _arr(xp, rng, 4))        # (3, 4) with (4,)
    gradcheck(op, _arr(xp, rng, 2, 1, 3), _arr(xp, rng, 4, 1))  # (2, 1, 3) with (4, 1)


def test_matmul_reductions_shapes_exp_log(xp, rng):
    gradcheck(lambda a, b: a @ b, _arr(xp, rng, 3, 5), _arr(xp, rng, 5, 2))
    gradcheck(lambda a: a.sum(axis=1), _arr(xp, rng, 3, 4, 2))
    gradcheck(lambda a: a.sum(axis=(0, 2), keepdims=True), _arr(xp, rng, 3, 4, 2))
    gradcheck(lambda a: a.mean(axis=-1), _arr(xp, rng, 3, 4))
    gradcheck(lambda a: a.reshape(6, 4).transpose(1, 0), _arr(xp, rng, 2, 3, 4))
    gradcheck(lambda a: (a * a + 1.0).log() + a.exp(), _arr(xp, rng, 5))


def test_getitem_sums_repeated_indices(xp, rng):
    index = xp.asarray([0, 2, 2, 1])
    gradcheck(lambda a: a[index], _arr(xp, rng, 3, 2))
    gradcheck(lambda a: a[1:, ::2], _arr(xp, rng, 3, 4))


def test_concat_splits_gradient(xp, rng):
    gradcheck(lambda a, b: F.concat([a, b], axis=1) * 2.0, _arr(xp, rng, 2, 3), _arr(xp, rng, 2, 1))


def test_gradient_accumulates_over_uses_and_calls(xp):
    x = Tensor(xp.asarray([2.0, -1.0]), requires_grad=True)
    (x * x + x).sum().backward()           # d/dx (x^2 + x) = 2x + 1
    np.testing.assert_allclose(x.grad.tolist(), [5.0, -1.0])
    (x * 3.0).sum().backward()             # a second graph adds into .grad
    np.testing.assert_allclose(x.grad.tolist(), [8.0, 2.0])


def test_diamond_graph_visits_each_function_once(xp):
    x = Tensor(xp.asarray(3.0), requires_grad=True)
    a = x * 2.0
    y = a * a + a                           # a used twice: dy/dx = (2a + 1) * 2
    y.backward()
    assert float(x.grad) == pytest.approx((2 * 6.0 + 1) * 2)


def test_no_grad_records_nothing(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2.0).sum()
    assert y.creator is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_backward_twice_needs_retain_graph(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()                            # allowed: the graph was kept
    np.testing.assert_allclose(x.grad.tolist(), [6.0, 6.0, 6.0])  # 2 + 2 + 2


def test_non_scalar_backward_needs_grad(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="needs a scalar"):
        (x * 2.0).backward()


def test_deep_chain_does_not_hit_recursion_limit():
    x = Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
