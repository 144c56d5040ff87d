"""``MaxPool2d``: max pooling, overlapping when stride < kernel_size (§3.4: 3x3 windows, stride 2)."""
from __future__ import annotations

from ..functional.pooling import max_pool2d, pool_arguments
from .module import Module


class MaxPool2d(Module):
    """Maximum over each ``kernel_size`` window, moved by ``stride`` (default: ``kernel_size``).

    AlexNet pools with ``MaxPool2d(3, stride=2)``: windows overlap by one pixel, which §3.4
    reports lowers the error by 0.4% (top-1) compared with ``MaxPool2d(2, stride=2)``.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool_arguments(
            kernel_size, kernel_size if stride is None else stride, padding)

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}"
        return text + (f", padding={self.padding}" if self.padding != (0, 0) else "")
