"""Fast versions of :class:`~tinyconv.functional.pooling.MaxPool2dFunction` (the reference, read that first).

:class:`MaxPool2dCPU` keeps the reference's loop over kernel offsets, with two changes for the CPU:
the columns of the padded input are first split by their phase mod SW (:func:`_to_phases`), so each
offset reads rows of contiguous elements instead of every SW-th one (several times faster), and it
runs over the batch in cache-sized chunks on all cores (:mod:`.parallel`), the running maximum and
the argmax (one byte per output) updated in place. :class:`MaxPool2dCUDA` does each pass as one fused
kernel of ``kernels/pooling.cu`` instead (argmax as int32).
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..dispatch import fast_version
from ..functional.pooling import MaxPool2dFunction
from .parallel import batch_chunks, for_each_chunk


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
    """Pad x with -inf and split its columns by phase mod SW: (N, C, H, W) -> (SW, N, C, H + 2PH, Wq)."""
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


@fast_version(MaxPool2dFunction, "cpu")
class MaxPool2dCPU(MaxPool2dFunction):
    """Phase-split offsets over batch chunks on all cores (module docstring)."""

    def forward(self, x):                                               # x (N, C, H, W)
        (KH, KW), _, _, (OH, OW) = self.geometry
        y = self.xp.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)       # (N, C, OH, OW)
        argmax = self.xp.zeros(y.shape, dtype=np.uint8 if KH * KW <= 256 else np.int32)

        def chunk(n):
            y[n] = self._forward_chunk(x[n], argmax[n])
        for_each_chunk(chunk, batch_chunks(x), x)
        self.save_for_backward(argmax)
        self.x_shape = x.shape
        return y

    def _forward_chunk(self, x, argmax):
        xp, ((_, KW), (_, SW), (PH, PW), (_, OW)) = self.xp, self.geometry
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

    def backward(self, gy):                                             # gy (N, C, OH, OW)
        xp, (argmax,), ((_, KW), (_, SW), (PH, PW), (_, OW)) = self.xp, self.saved, self.geometry
        N, C, H, W = self.x_shape
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)

        def chunk(n):
            g = xp.zeros((SW, len(gy[n]), C, H + 2 * PH, (KW - 1) // SW + OW), dtype=gy.dtype)
            routed = xp.empty_like(gy[n])
            for offset, window in enumerate(self._windows(g)):
                xp.multiply(gy[n], argmax[n] == offset, out=routed)    # gy where this offset won
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


@fast_version(MaxPool2dFunction, "cuda")
class MaxPool2dCUDA(MaxPool2dFunction):
    """Forward (maximum and argmax) and backward as one kernel each of ``kernels/pooling.cu``."""

    def forward(self, x):
        xp, (_, _, _, (OH, OW)) = self.xp, self.geometry
        y = xp.empty(x.shape[:2] + (OH, OW), dtype=x.dtype)             # (N, C, OH, OW)
        argmax = xp.empty(y.shape, dtype=np.int32)
        kernels.launch("pooling.cu", "max_pool_forward", y.size, xp.ascontiguousarray(x), y, argmax,
                       *x.shape[2:], *self._window_arguments())
        self.save_for_backward(argmax)
        self.x_shape = x.shape
        return y

    def backward(self, gy):
        (argmax,), (H, W) = self.saved, self.x_shape[2:]
        gx = self.xp.empty(self.x_shape, dtype=gy.dtype)
        kernels.launch("pooling.cu", "max_pool_backward", gx.size, self.xp.ascontiguousarray(gy), argmax, gx,
                       H, W, *self._window_arguments())
        return gx

    def _window_arguments(self):
        """OH, OW, KH, KW, SH, SW, PH, PW: the geometry arguments of the kernels in pooling.cu."""
        (KH, KW), (SH, SW), (PH, PW), (OH, OW) = self.geometry
        return OH, OW, KH, KW, SH, SW, PH, PW
