"""The autograd engine: gradients of the elementary ops, accumulation, broadcasting, no_grad."""
import numpy as np
import pytest

import tinyconv.functional as F
from tinyconv import backend
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


def test_backward_takes_a_tensor_or_an_array_as_the_upstream_gradient(xp):
    grads = []
    for gy in (xp.asarray([1.0, 2.0, 3.0]), Tensor(xp.asarray([1.0, 2.0, 3.0]))):
        x = Tensor(xp.ones(3), requires_grad=True)
        (x * 2.0).backward(gy)
        grads.append(x.grad)
    assert all(g.dtype == np.float64 for g in grads)
    np.testing.assert_array_equal(np.asarray(grads[0].tolist()), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(np.asarray(grads[1].tolist()), [2.0, 4.0, 6.0])


@pytest.mark.parametrize("grad, error, message", [
    ([1.0, 2.0, 3.0], TypeError, r"takes an array or a Tensor, got list; make one with numpy.asarray"),
    (np.ones(2), ValueError, r"grad has shape \(2,\) but the tensor has shape \(3,\)"),
    (np.ones((3, 1)), ValueError, r"grad has shape \(3, 1\) but the tensor has shape \(3,\)"),
    (np.ones(3, dtype=np.float32), TypeError, r"grad has dtype float32 but the tensor has dtype float64; "
                                              r"convert it with grad.astype\(numpy.float64\)"),
])
def test_backward_refuses_an_upstream_gradient_that_does_not_fit(grad, error, message):
    y = Tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(error, match=message):
        y.backward(grad)


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a CUDA GPU")
def test_backward_refuses_an_upstream_gradient_on_another_device():
    y = Tensor(backend.to_device(np.ones(3), "cuda:0"), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match="grad is on cpu but the tensor is on cuda:0"):
        y.backward(np.ones(3))


@pytest.mark.parametrize("data", ["hello", ["a", "b"], [object()], {"x": 1}])
def test_tensor_refuses_data_that_is_not_numbers(data):
    with pytest.raises(TypeError, match="a Tensor holds numbers"):
        Tensor(data)


@pytest.mark.parametrize("data", [np.arange(3), [1, 2, 3], np.array([True, False])])
def test_requires_grad_needs_floating_point_data(data):
    assert Tensor(data).dtype.kind in "ib"                              # fine without gradients
    with pytest.raises(TypeError, match="requires_grad=True needs floating-point data"):
        Tensor(data, requires_grad=True)


def test_the_engine_frees_what_a_function_saved_unless_the_graph_is_retained(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    y = x * x
    fn = y.creator
    assert len(fn.saved) == 2 and fn.saved[0] is x.data                 # Mul keeps both factors
    y.sum().backward(retain_graph=True)
    assert fn.saved is not None
    y.sum().backward()
    assert fn.saved is None


def test_operators_are_the_functions_of_functional():
    assert Tensor.__add__ is F.add and Tensor.__matmul__ is F.matmul and Tensor.to is F.copy_to
