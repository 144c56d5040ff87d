"""Max pooling, overlapping as in §3.4: windows of z x z = 3 x 3 placed s = 2 apart.

Each output is the largest input in its window. With s < z neighbouring windows overlap;
the paper reports that overlapping pooling (z=3, s=2) lowers top-1/top-5 error by 0.4%/0.3%
against the non-overlapping z=2, s=2, and makes the net slightly harder to overfit.

The fast version never loops over pixels. It loops over the KH*KW offsets (i, j) inside a
window instead: for a fixed offset, the input elements at that offset of every window form
one strided slice ``x[:, :, i::SH, j::SW]`` of shape (N, C, OH, OW), so a running maximum
over KH*KW slices is the pooled output, and remembering which offset won gives the argmax.
The backward pass loops over the offsets again and adds the upstream gradient into the
slice of each offset, where that offset won: overlapping windows accumulate.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..function import Function
from ..tensor import Tensor
from .shape import check_input, pair


def _out_size(size: int, k: int, s: int, p: int) -> int:
    # TODO(lead): use conv.conv_out_size
    return (size + 2 * p - k) // s + 1


def _pool_geometry(x_shape, kernel_size, stride, padding):
    """Check the arguments; return (KH, KW), (SH, SW), (PH, PW), (OH, OW)."""
    (KH, KW), (SH, SW), (PH, PW) = pair(kernel_size, "kernel_size"), pair(stride, "stride"), pair(padding, "padding")
    H, W = x_shape[2:]
    if min(KH, KW, SH, SW) < 1 or min(PH, PW) < 0:
        raise ValueError(f"max_pool2d needs kernel_size and stride >= 1 and padding >= 0, got "
                         f"kernel_size={(KH, KW)}, stride={(SH, SW)}, padding={(PH, PW)}")
    if PH > KH // 2 or PW > KW // 2:
        raise ValueError(f"max_pool2d padding {(PH, PW)} is more than half the kernel {(KH, KW)}: a window "
                         "could then hold only padding; use padding <= kernel_size // 2")
    if KH > H + 2 * PH or KW > W + 2 * PW:
        raise ValueError(f"max_pool2d kernel {(KH, KW)} is larger than the padded input "
                         f"{(H + 2 * PH, W + 2 * PW)}; use a smaller kernel or a larger input")
    OH, OW = _out_size(H, KH, SH, PH), _out_size(W, KW, SW, PW)
    return (KH, KW), (SH, SW), (PH, PW), (OH, OW)


def _pad_minus_inf(xp, x, PH, PW):
    """Pad H and W with -inf, which never wins a maximum."""
    if PH == 0 and PW == 0:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)), constant_values=-np.inf)


class MaxPool2d(Function):
    """Max pooling over KH x KW windows, SH x SW apart, on NCHW input padded with -inf (§3.4)."""

    def __init__(self, kernel_size=3, stride=2, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):                                               # x: (N, C, H, W)
        check_input("max_pool2d", x, 4, "N, C, H, W")
        (KH, KW), (SH, SW), (PH, PW), (OH, OW) = _pool_geometry(x.shape, self.kernel_size, self.stride,
                                                                self.padding)
        xp = self.xp
        xpad = _pad_minus_inf(xp, x, PH, PW)                            # (N, C, H + 2PH, W + 2PW)
        argmax = xp.zeros(x.shape[:2] + (OH, OW), dtype=np.uint8 if KH * KW <= 256 else np.int32)
        y = None
        for offset, window in enumerate(self._windows(xpad, (KH, KW), (SH, SW), (OH, OW))):
            if y is None:
                y = window.copy()                                       # (N, C, OH, OW)
                continue
            better = window > y          # strict: on ties the first offset wins, as in PyTorch
            xp.copyto(argmax, offset, where=better)
            xp.copyto(y, window, where=better)
        self.argmax, self.x_shape, self.padded_shape = argmax, x.shape, xpad.shape
        self.geometry = (KH, KW), (SH, SW), (PH, PW), (OH, OW)
        return y

    def backward(self, gy):                                             # gy: (N, C, OH, OW)
        (KH, KW), (SH, SW), (PH, PW), (OH, OW) = self.geometry
        xp = self.xp
        gx = xp.zeros(self.padded_shape, dtype=gy.dtype)                # (N, C, H + 2PH, W + 2PW)
        zero = gy.dtype.type(0)
        for offset, window in enumerate(self._windows(gx, (KH, KW), (SH, SW), (OH, OW))):
            window += xp.where(self.argmax == offset, gy, zero)         # a view: adds into gx
        H, W = self.x_shape[2:]
        return gx[:, :, PH:PH + H, PW:PW + W]

    @staticmethod
    def _windows(a, kernel, stride, out):
        """The strided slice of ``a`` at each kernel offset (i, j), in row-major offset order."""
        (KH, KW), (SH, SW), (OH, OW) = kernel, stride, out
        for i in range(KH):
            for j in range(KW):
                yield a[:, :, i:i + SH * (OH - 1) + 1:SH, j:j + SW * (OW - 1) + 1:SW]   # (N, C, OH, OW)


def max_pool2d(x, kernel_size=3, stride=2, padding=0):
    """Max pooling (§3.4); the paper's overlapping pooling is the default, kernel 3, stride 2."""
    return MaxPool2d(kernel_size, stride, padding)(x)


def max_pool2d_naive(x, kernel_size=3, stride=2, padding=0):
    """Reference max pooling on plain arrays: one window at a time (the tests compare with it)."""
    x = x.data if isinstance(x, Tensor) else x
    check_input("max_pool2d", x, 4, "N, C, H, W")
    (KH, KW), (SH, SW), (PH, PW), (OH, OW) = _pool_geometry(x.shape, kernel_size, stride, padding)
    xp = backend.xp_of(x)
    xpad = _pad_minus_inf(xp, x, PH, PW)
    y = xp.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)
    for oh in range(OH):
        for ow in range(OW):
            window = xpad[:, :, oh * SH:oh * SH + KH, ow * SW:ow * SW + KW]     # (N, C, KH, KW)
            y[:, :, oh, ow] = window.max(axis=(2, 3))
    return y
