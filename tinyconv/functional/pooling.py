"""Max pooling, overlapping as in §3.4: windows of z x z = 3 x 3 placed s = 2 apart.

Each output is the largest input in its window. With s < z neighbouring windows overlap;
the paper reports that overlapping pooling (z=3, s=2) lowers top-1/top-5 error by 0.4%/0.3%
against the non-overlapping z=2, s=2, and makes the net slightly harder to overfit.

The reference never loops over pixels. It loops over the KH*KW offsets (i, j) inside a
window instead: for a fixed offset, the input elements at that offset of every window form
one strided slice ``x_pad[:, :, i::SH, j::SW]`` of shape (N, C, OH, OW), so a running maximum
over KH*KW slices is the pooled output, and remembering which offset won gives the argmax.
The backward pass loops over the offsets again and adds the upstream gradient into the
slice of each offset, where that offset won: overlapping windows accumulate.
``tinyconv/fast/pooling.py`` holds the fast versions (columns split by phase, batch chunks on
all cores; the CUDA kernels of ``kernels/pooling.cu``).
"""
from __future__ import annotations

import numpy as np

from .. import backend, dispatch
from ..function import Function
from ..tensor import Tensor
from .checks import check_float, check_ndim
from .windows import conv_out_size, pair


def pool_arguments(kernel_size, stride, padding):
    """Check max pooling's arguments; return them as (h, w) pairs (KH, KW), (SH, SW), (PH, PW)."""
    (KH, KW), (SH, SW), (PH, PW) = pair(kernel_size, "kernel_size"), pair(stride, "stride"), pair(padding, "padding")
    if min(KH, KW, SH, SW) < 1 or min(PH, PW) < 0:
        raise ValueError(f"max_pool2d needs kernel_size and stride >= 1 and padding >= 0, got "
                         f"kernel_size={(KH, KW)}, stride={(SH, SW)}, padding={(PH, PW)}")
    if PH > KH // 2 or PW > KW // 2:
        raise ValueError(f"max_pool2d padding {(PH, PW)} is more than half the kernel {(KH, KW)}: a window "
                         "could then hold only padding; use padding at most half of kernel_size (kernel_size // 2)")
    return (KH, KW), (SH, SW), (PH, PW)


def pool_geometry(x_shape, kernel_size, stride, padding):
    """Check the arguments against the input; return (KH, KW), (SH, SW), (PH, PW), (OH, OW)."""
    (KH, KW), (SH, SW), (PH, PW) = pool_arguments(kernel_size, stride, padding)
    H, W = x_shape[2:]
    if KH > H + 2 * PH or KW > W + 2 * PW:
        raise ValueError(f"max_pool2d kernel {(KH, KW)} is larger than the padded input "
                         f"{(H + 2 * PH, W + 2 * PW)}; use a smaller kernel or a larger input")
    return (KH, KW), (SH, SW), (PH, PW), (conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW))


def _check_pool_input(x) -> None:
    check_ndim("max_pool2d", x, 4, "N, C, H, W")
    check_float("max_pool2d", x=x)


class MaxPool2dFunction(Function):
    """Max pooling over KH x KW windows, SH x SW apart, on NCHW input padded with -inf (§3.4): the reference."""

    def __init__(self, kernel_size=3, stride=2, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def check(self, x):
        """Check the input against the window; keep the window's geometry for forward and backward."""
        _check_pool_input(x)
        self.geometry = pool_geometry(x.shape, self.kernel_size, self.stride, self.padding)

    def forward(self, x):                                               # x (N, C, H, W)
        xp, ((KH, KW), (SH, SW), (PH, PW), (OH, OW)) = self.xp, self.geometry
        x_pad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)), constant_values=-np.inf)  # never the maximum
        y = argmax = None
        for offset, (i, j) in enumerate(np.ndindex(KH, KW)):
            window = x_pad[:, :, i:i + SH * OH:SH, j:j + SW * OW:SW]    # (N, C, OH, OW): offset (i, j) of each window
            if y is None:
                y, argmax = window.copy(), xp.zeros(window.shape, dtype=np.int32)
                continue
            better = window > y                  # strictly larger: on ties the first offset wins, as in torch
            y = xp.where(better, window, y)
            argmax = xp.where(better, offset, argmax)
        self.save_for_backward(argmax)
        self.x_shape = x.shape
        return y                                                        # (N, C, OH, OW)

    def backward(self, gy):                                             # gy (N, C, OH, OW)
        (argmax,), ((KH, KW), (SH, SW), (PH, PW), (OH, OW)) = self.saved, self.geometry
        N, C, H, W = self.x_shape
        g = self.xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=gy.dtype)
        for offset, (i, j) in enumerate(np.ndindex(KH, KW)):
            g[:, :, i:i + SH * OH:SH, j:j + SW * OW:SW] += gy * (argmax == offset)  # where this offset won
        return self.xp.ascontiguousarray(g[:, :, PH:PH + H, PW:PW + W])  # (N, C, H, W)


def max_pool2d(x, kernel_size=3, stride=2, padding=0):
    """Max pooling (§3.4); the paper's overlapping pooling is the default, kernel 3, stride 2."""
    return dispatch.choose(MaxPool2dFunction, x)(kernel_size, stride, padding)(x)


def max_pool2d_naive(x, kernel_size=3, stride=2, padding=0):
    """Reference max pooling on plain arrays: one window at a time (the tests compare with it)."""
    x = x.data if isinstance(x, Tensor) else x
    _check_pool_input(x)
    (KH, KW), (SH, SW), (PH, PW), (OH, OW) = pool_geometry(x.shape, kernel_size, stride, padding)
    xp = backend.xp_of(x)
    xpad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)), constant_values=-np.inf)
    y = xp.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)
    for oh in range(OH):
        for ow in range(OW):
            window = xpad[:, :, oh * SH:oh * SH + KH, ow * SW:ow * SW + KW]     # (N, C, KH, KW)
            y[:, :, oh, ow] = window.max(axis=(2, 3))
    return y
