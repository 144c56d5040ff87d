"""Nonlinearities. §3.1: the paper's nets use ReLU, f(x) = max(0, x), which trains several
times faster than the saturating tanh and sigmoid (Figure 1: a four-layer net reaches 25%
CIFAR-10 training error six times sooner with ReLUs). tanh and sigmoid are here to repeat
that comparison. ``tinyconv/fast/activation.py`` holds the fast versions of ReLU.
"""
from __future__ import annotations

from .. import dispatch
from ..function import Function
from .checks import check_float


class _Elementwise(Function):
    """A nonlinearity applied to each element: any shape, floating point."""

    name = ""

    def check(self, x):
        check_float(self.name, x=x)


class ReLUFunction(_Elementwise):
    """f(x) = max(0, x) (§3.1); the gradient is 1 where x > 0 and 0 elsewhere: the reference."""

    name = "relu"

    def forward(self, x):
        self.save_for_backward(x > 0)                                   # the mask: where the gradient passes
        return self.xp.maximum(x, x.dtype.type(0))

    def backward(self, gy):
        (mask,) = self.saved
        return gy * mask


class TanhFunction(_Elementwise):
    """f(x) = tanh(x), the saturating nonlinearity §3.1 compares against; f' = 1 - f^2."""

    name = "tanh"

    def forward(self, x):
        y = self.xp.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * (1 - y * y)


class SigmoidFunction(_Elementwise):
    """f(x) = 1 / (1 + exp(-x)) (§3.1), computed as (1 + tanh(x/2)) / 2: no overflow for any x."""

    name = "sigmoid"

    def forward(self, x):
        y = self.xp.tanh(x * x.dtype.type(0.5))
        y += 1
        y *= 0.5
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * y * (1 - y)                                         # f' = f (1 - f)


def relu(x): return dispatch.choose(ReLUFunction, x)()(x)
def tanh(x): return TanhFunction()(x)
def sigmoid(x): return SigmoidFunction()(x)
