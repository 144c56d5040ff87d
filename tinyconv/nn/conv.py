"""``Conv2d``: the convolutional layers of AlexNet (§3.5), with grouped kernels for the two towers."""
from __future__ import annotations

import numpy as np

from .. import init
from ..functional.conv import check_groups, conv2d
from .args import pair, positive_int
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """2-D convolution of NCHW input with weight (OC, C/groups, KH, KW) and bias (OC,).

    ``groups=2`` splits the channels into two towers that never see each other's maps, as the
    two GPUs of §3.2 (Figure 2). Weights start N(0, 0.01) and biases 0 (§5), drawn from ``rng``
    (a ``numpy.random.Generator``) or :func:`tinyconv.init.default_rng`. ``dtype`` is float32
    unless asked otherwise (float64 for gradient checks).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 groups: int = 1, bias: bool = True, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            positive_int(value, name)
        check_groups(groups, in_channels, out_channels)                  # the op's own check
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding", minimum=0)
        self.weight = init.normal_(Parameter(np.zeros(
            (out_channels, in_channels // groups, *self.kernel_size), dtype=dtype)), 0.01, rng)
        self.bias = Parameter(np.zeros(out_channels, dtype=dtype)) if bias else None

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")
