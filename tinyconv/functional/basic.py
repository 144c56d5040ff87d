"""Elementary differentiable operations: arithmetic, matmul, reductions, shapes, exp/log, indexing.

Each is a small :class:`~tinyconv.function.Function` with its forward and backward side by
side, plus a lowercase wrapper; :mod:`.operators` makes them Tensor's operators (``a + b``, ...).
Broadcasting follows NumPy; backward sums a gradient back to the shape of the input it belongs
to (:func:`sum_to`).
"""
from __future__ import annotations

import itertools

from .. import backend
from ..function import Function
from ..tensor import Tensor


def sum_to(xp, g, shape):
    """Sum ``g`` over the axes NumPy broadcasting added or stretched, giving an array of ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


class Add(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return sum_to(self.xp, gy, self.a_shape), sum_to(self.xp, gy, self.b_shape)


class Sub(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return sum_to(self.xp, gy, self.a_shape), sum_to(self.xp, -gy, self.b_shape)


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        return sum_to(self.xp, gy * b, a.shape), sum_to(self.xp, gy * a, b.shape)


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        ga = gy / b
        return sum_to(self.xp, ga, a.shape), sum_to(self.xp, -ga * a / b, b.shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class Pow(Function):
    """``a ** c`` for a constant exponent ``c``."""

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, a):
        self.save_for_backward(a)
        return a ** self.exponent

    def backward(self, gy):
        (a,) = self.saved
        return gy * self.exponent * a ** (self.exponent - 1)


class MatMul(Function):
    """``a @ b`` for 2-D arrays (the fully connected layers and im2col convolution)."""

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"matmul takes 2-D arrays, got shapes {a.shape} and {b.shape}")
        self.save_for_backward(a, b)
        return a @ b                                    # (M, K) @ (K, N) -> (M, N)

    def backward(self, gy):
        a, b = self.saved
        return gy @ b.T, a.T @ gy


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.a_shape = a.shape
        return a.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.keepdims and self.axis is not None:  # put the summed axes back as size 1
            axes = (self.axis,) if isinstance(self.axis, int) else self.axis
            for ax in sorted(a % len(self.a_shape) for a in axes):
                gy = self.xp.expand_dims(gy, ax)
        return self.xp.broadcast_to(gy, self.a_shape).copy()


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.a_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.a_shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        self.axes = tuple(self.axes) if self.axes else tuple(reversed(range(a.ndim)))
        return a.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return gy.transpose(inverse)


class Exp(Function):
    def forward(self, a):
        y = self.xp.exp(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * y


class Log(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return self.xp.log(a)

    def backward(self, gy):
        (a,) = self.saved
        return gy / a


class GetItem(Function):
    """``a[index]``; the backward adds the gradient into the selected places (repeats summed)."""

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        self.a_shape = a.shape
        return a[self.index]

    def backward(self, gy):
        ga = self.xp.zeros(self.a_shape, dtype=gy.dtype)
        backend.scatter_add(ga, self.index, gy)
        return ga


class Concat(Function):
    """Join tensors along ``axis`` (conv3 and the FC layers read both towers, §3.2)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return self.xp.concatenate(arrays, axis=self.axis)

    def backward(self, gy):
        bounds = list(itertools.accumulate(self.sizes))[:-1]    # where each input ends
        return tuple(self.xp.split(gy, bounds, axis=self.axis))


def add(a, b): return Add()(a, b)
def sub(a, b): return Sub()(a, b)
def mul(a, b): return Mul()(a, b)
def div(a, b): return Div()(a, b)
def neg(a): return Neg()(a)
def pow(a, exponent): return Pow(exponent)(a)  # noqa: A001 - mirrors the operator
def matmul(a, b): return MatMul()(a, b)
def sum(a, axis=None, keepdims=False): return Sum(axis, keepdims)(a)  # noqa: A001
def reshape(a, shape): return Reshape(shape)(a)
def transpose(a, axes=None): return Transpose(axes)(a)
def exp(a): return Exp()(a)
def log(a): return Log()(a)
def getitem(a, index): return GetItem(index.data if isinstance(index, Tensor) else index)(a)
def concat(tensors, axis=1): return Concat(axis)(*tensors)


def mean(a, axis=None, keepdims=False):
    """Average over ``axis`` (all axes when None): a sum times 1/count."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    axes = range(a.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    count = 1
    for ax in axes:
        count *= a.shape[ax]
    return sum(a, axis, keepdims) * (1.0 / count)

