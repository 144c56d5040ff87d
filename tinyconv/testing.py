"""Checking gradients and comparing arrays: the tools every op's tests (and notebooks) use.

A backward pass is checked against the definition of the derivative: nudge one input
element by +eps and -eps, and the change in the output, divided by 2*eps, approximates
the gradient (central differences, error O(eps^2)). In float64 with eps=1e-6 the analytic
and numerical gradients of a correct op agree to about 1e-8 relative error; a wrong
index or a forgotten term shows up as an error near 1.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor


def relative_error(actual, expected) -> float:
    """``||actual - expected|| / ||expected||`` (absolute error when ``expected`` is all zeros)."""
    actual = backend.to_numpy(actual).astype(np.float64)
    expected = backend.to_numpy(expected).astype(np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"shapes differ: {actual.shape} vs {expected.shape}")
    scale = np.linalg.norm(expected)
    err = np.linalg.norm(actual - expected)
    return float(err / scale) if scale > 0 else float(err)


def assert_close(actual, expected, rtol: float = 1e-6, name: str = "value") -> None:
    """Raise AssertionError when the relative error (see :func:`relative_error`) exceeds ``rtol``."""
    actual = actual.data if isinstance(actual, Tensor) else actual
    expected = expected.data if isinstance(expected, Tensor) else expected
    if not np.all(np.isfinite(backend.to_numpy(actual))):
        raise AssertionError(f"{name}: non-finite values")
    err = relative_error(actual, expected)
    if not err <= rtol:
        raise AssertionError(f"{name}: relative error {err:.3e} exceeds {rtol:.1e}")


def numerical_grad(f, arrays, index: int, gy, eps: float = 1e-6):
    """d(sum(f(*arrays) * gy)) / d(arrays[index]) by central differences, element by element."""
    xp = backend.xp_of(arrays[index])
    x = arrays[index]
    grad = xp.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)  # views into x and grad
    for i in range(flat_x.size):
        original = flat_x[i].copy()
        flat_x[i] = original + eps
        plus = (f(*arrays) * gy).sum()
        flat_x[i] = original - eps
        minus = (f(*arrays) * gy).sum()
        flat_x[i] = original
        flat_g[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(fn, *inputs, rtol: float = 1e-6, eps: float = 1e-6, seed: int = 0, check=None):
    """Compare ``fn``'s backward with central differences for every float input; return the errors.

    ``fn`` maps Tensors to one Tensor. Inputs are arrays (copied); use float64. The upstream
    gradient is random (seeded) so that a backward that only works for all-ones is caught.
    ``check`` selects the inputs to differentiate (default: every floating-point input).
    """
    arrays = [backend.xp_of(a).array(a, copy=True) for a in inputs]
    xp = backend.xp_of(arrays[0])
    check = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if check is None else check
    tensors = [Tensor(a.copy(), requires_grad=i in check) for i, a in enumerate(arrays)]
    y = fn(*tensors)
    gy = xp.asarray(np.random.default_rng(seed).standard_normal(y.shape), dtype=y.dtype)
    y.backward(gy)

    def as_arrays(*arrs):
        return fn(*(Tensor(a) for a in arrs)).data

    errors = []
    for i in check:
        numeric = numerical_grad(as_arrays, arrays, i, gy, eps)
        if tensors[i].grad is None:
            raise AssertionError(f"input {i}: backward produced no gradient")
        assert_close(tensors[i].grad, numeric, rtol, name=f"gradient of input {i}")
        errors.append(relative_error(tensors[i].grad, numeric))
    return errors
