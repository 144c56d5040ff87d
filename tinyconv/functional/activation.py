"""Nonlinearities. §3.1: the paper's nets use ReLU, f(x) = max(0, x), which trains several
times faster than the saturating tanh and sigmoid (Figure 1: a four-layer net reaches 25%
CIFAR-10 training error six times sooner with ReLUs). tanh and sigmoid are here to repeat
that comparison.
"""
from __future__ import annotations

from .. import kernels
from ..function import Function
from .shape import batch_chunks, check_input, for_each_chunk


class ReLU(Function):
    """f(x) = max(0, x) (§3.1); the gradient is 1 where x > 0 and 0 elsewhere.

    Both passes run over cache-sized chunks of the batch on all CPU cores (:func:`~.shape.for_each_chunk`);
    on the GPU the forward pass is one fused kernel (``kernels/activation.cu``).
    """

    def forward(self, x):
        check_input("relu", x)
        xp, zero = self.xp, x.dtype.type(0)
        y, self.mask = xp.empty_like(x), xp.empty(x.shape, dtype=bool)
        if kernels.fused(x):                                            # one pass: kernels/activation.cu
            kernels.launch("activation.cu", "relu_forward", y.size, xp.ascontiguousarray(x), y, self.mask)
            return y

        def chunk(n):
            xp.greater(x[n], zero, out=self.mask[n])
            xp.maximum(x[n], zero, out=y[n])
        for_each_chunk(chunk, batch_chunks(x), x)
        return y

    def backward(self, gy):
        gx = self.xp.empty_like(gy)

        def chunk(n):
            self.xp.multiply(gy[n], self.mask[n], out=gx[n])
        for_each_chunk(chunk, batch_chunks(gy), gy)
        return gx


class Tanh(Function):
    """f(x) = tanh(x), the saturating nonlinearity §3.1 compares against; f' = 1 - f^2."""

    def forward(self, x):
        check_input("tanh", x)
        self.y = self.xp.tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


class Sigmoid(Function):
    """f(x) = 1 / (1 + exp(-x)) (§3.1), computed as (1 + tanh(x/2)) / 2: no overflow for any x."""

    def forward(self, x):
        check_input("sigmoid", x)
        y = self.xp.tanh(x * x.dtype.type(0.5))
        y += 1
        y *= 0.5
        self.y = y
        return y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)                               # f' = f (1 - f)


def relu(x): return ReLU()(x)
def tanh(x): return Tanh()(x)
def sigmoid(x): return Sigmoid()(x)
