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
(To make those slices read contiguous memory, the columns are first split by their phase
mod SW; see :func:`_to_phases`.)
"""
from __future__ import annotations

import numpy as np

from .. import backend, kernels
from ..function import Function
from ..tensor import Tensor
from .conv import conv_out_size
from .shape import batch_chunks, check_input, for_each_chunk, pair


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
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    return (KH, KW), (SH, SW), (PH, PW), (OH, OW)


def _phase_columns(W, PW, SW, Wq, phase):
    """Which input columns land in column phase ``phase`` of the padded input.

    Padded column q * SW + phase is input column q * SW + phase - PW. Returns (first, q0, count):
    input columns first, first + SW, ... (count of them) go to phase columns q0, q0 + 1, ...
    """
    q0 = max(0, -(-(PW - phase) // SW))                                 # ceil((PW - phase) / SW)
    first = q0 * SW + phase - PW
    count = max(0, min(len(range(first, W, SW)), Wq - q0))
    return first, q0, count


def _to_phases(xp, x, PH, PW, SW, Wq):
    """Pad x with -inf and split its columns by phase mod SW: (N, C, H, W) -> (SW, N, C, H + 2PH, Wq).

    Each window offset then reads rows of contiguous elements instead of every SW-th one,
    which is several times faster on the CPU; -inf never wins a maximum.
    """
    N, C, H, W = x.shape
    out = xp.empty((SW, N, C, H + 2 * PH, Wq), dtype=x.dtype)
    out[:, :, :, :PH] = -np.inf
    out[:, :, :, PH + H:] = -np.inf
    for phase in range(SW):
        first, q0, count = _phase_columns(W, PW, SW, Wq, phase)
        rows = out[phase, :, :, PH:PH + H]                             # (N, C, H, Wq)
        rows[..., :q0] = -np.inf
        rows[..., q0 + count:] = -np.inf
        rows[..., q0:q0 + count] = x[..., first:first + count * SW:SW]
    return out


def _from_phases(g, out, PH, PW, SW):
    """The inverse of :func:`_to_phases` for gradients: drop the padding, interleave the phases.

    ``out`` (N, C, H, W) starts at zero: columns that no window reads keep a zero gradient.
    """
    H, W = out.shape[2:]
    for phase in range(SW):
        first, q0, count = _phase_columns(W, PW, SW, g.shape[-1], phase)
        out[..., first:first + count * SW:SW] = g[phase, :, :, PH:PH + H, q0:q0 + count]


class MaxPool2d(Function):
    """Max pooling over KH x KW windows, SH x SW apart, on NCHW input padded with -inf (§3.4).

    Runs over the batch in chunks (:func:`~.shape.batch_chunks`) so the phase copies and the
    running maximum stay in the CPU cache; the chunks run on all cores (:func:`~.shape.for_each_chunk`).
    On the GPU each pass is one fused kernel instead (``kernels/pooling.cu``, argmax as int32).
    """

    def __init__(self, kernel_size=3, stride=2, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):                                               # x: (N, C, H, W)
        check_input("max_pool2d", x, 4, "N, C, H, W")
        self.geometry = _pool_geometry(x.shape, self.kernel_size, self.stride, self.padding)
        (KH, KW), _, _, (OH, OW) = self.geometry
        xp = self.xp
        y = xp.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)             # (N, C, OH, OW)
        self.x_shape, self.fused = x.shape, kernels.fused(x)
        if self.fused:                                                  # one pass: kernels/pooling.cu
            self.argmax = xp.empty(y.shape, dtype=np.int32)
            kernels.launch("pooling.cu", "max_pool_forward", y.size, xp.ascontiguousarray(x), y, self.argmax,
                           *x.shape[2:], *self._window_arguments())
            return y
        self.argmax = xp.zeros(y.shape, dtype=np.uint8 if KH * KW <= 256 else np.int32)

        def chunk(n):
            y[n] = self._forward_chunk(x[n], self.argmax[n])
        for_each_chunk(chunk, batch_chunks(x), x)
        return y

    def _window_arguments(self):
        """OH, OW, KH, KW, SH, SW, PH, PW: the geometry arguments of the kernels in pooling.cu."""
        (KH, KW), (SH, SW), (PH, PW), (OH, OW) = self.geometry
        return OH, OW, KH, KW, SH, SW, PH, PW

    def _forward_chunk(self, x, argmax):
        xp, ((KH, KW), (SH, SW), (PH, PW), (OH, OW)) = self.xp, self.geometry
        phases = _to_phases(xp, x, PH, PW, SW, (KW - 1) // SW + OW)    # (SW, n, C, H + 2PH, Wq)
        windows = self._windows(phases)
        y = next(windows).copy()                                        # (n, C, OH, OW), offset 0
        spare, better = xp.empty_like(y), xp.empty(y.shape, dtype=bool)
        for offset, window in enumerate(windows, start=1):
            xp.maximum(y, window, out=spare)
            xp.greater(spare, y, out=better)     # strictly larger: on ties the first offset wins, as in torch
            # offsets only grow, so the latest winner is the largest: a max instead of a masked write
            xp.maximum(argmax, xp.multiply(better, offset, dtype=argmax.dtype), out=argmax)
            y, spare = spare, y
        return y

    def backward(self, gy):                                             # gy: (N, C, OH, OW)
        xp, ((KH, KW), (SH, SW), (PH, PW), (OH, OW)) = self.xp, self.geometry
        N, C, H, W = self.x_shape
        if self.fused:
            gx = xp.empty(self.x_shape, dtype=gy.dtype)
            kernels.launch("pooling.cu", "max_pool_backward", gx.size, xp.ascontiguousarray(gy), self.argmax, gx,
                           H, W, *self._window_arguments())
            return gx
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)

        def chunk(n):
            g = xp.zeros((SW, len(gy[n]), C, H + 2 * PH, (KW - 1) // SW + OW), dtype=gy.dtype)
            routed = xp.empty_like(gy[n])
            for offset, window in enumerate(self._windows(g)):
                xp.multiply(gy[n], self.argmax[n] == offset, out=routed)   # gy where this offset won
                window += routed                                        # a view: adds into g
            _from_phases(g, gx[n], PH, PW, SW)
        for_each_chunk(chunk, batch_chunks(gy), gy)
        return gx

    def _windows(self, phases):
        """For each kernel offset (i, j), row-major: the input element at that offset of every window.

        Window (oh, ow) reads padded row oh * SH + i and column ow * SW + j, which is phase j % SW,
        phase column ow + j // SW.
        """
        (KH, KW), (SH, SW), _, (OH, OW) = self.geometry
        for i in range(KH):
            for j in range(KW):
                yield phases[j % SW, :, :, i:i + SH * (OH - 1) + 1:SH, j // SW:j // SW + OW]  # (N, C, OH, OW)


def max_pool2d(x, kernel_size=3, stride=2, padding=0):
    """Max pooling (§3.4); the paper's overlapping pooling is the default, kernel 3, stride 2."""
    return MaxPool2d(kernel_size, stride, padding)(x)


def max_pool2d_naive(x, kernel_size=3, stride=2, padding=0):
    """Reference max pooling on plain arrays: one window at a time (the tests compare with it)."""
    x = x.data if isinstance(x, Tensor) else x
    check_input("max_pool2d", x, 4, "N, C, H, W")
    (KH, KW), (SH, SW), (PH, PW), (OH, OW) = _pool_geometry(x.shape, kernel_size, stride, padding)
    xp = backend.xp_of(x)
    xpad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)), constant_values=-np.inf)
    y = xp.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)
    for oh in range(OH):
        for ow in range(OW):
            window = xpad[:, :, oh * SH:oh * SH + KH, ow * SW:ow * SW + KW]     # (N, C, KH, KW)
            y[:, :, oh, ow] = window.max(axis=(2, 3))
    return y
