"""Differentiable copies between devices: how the two towers of §3.2 talk to each other.

In the paper each GPU holds half of the kernels; activations cross to the other GPU only
at certain layers, and during training their gradients cross back the same way. ``copy_to``
is that crossing as an operation of the graph: forward copies the array to ``device``,
backward copies the gradient back to where the input lives.
"""
from __future__ import annotations

from .. import backend
from ..function import Function


class CopyTo(Function):
    """The array on another device; its gradient goes back to the input's device."""

    def __init__(self, dev):
        self.target = backend.device(dev)

    def forward(self, a):
        self.source = backend.device_of(a)
        return backend.to_device(a, self.target)

    def backward(self, gy):
        return backend.to_device(gy, self.source)


def copy_to(a, dev):
    """Copy tensor ``a`` to ``dev`` ("cpu", "cuda:N"); gradients flow back to ``a``'s device."""
    return CopyTo(dev)(a)
