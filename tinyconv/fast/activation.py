"""Fast versions of :class:`~tinyconv.functional.activation.ReLUFunction` (the reference, read that first).

:class:`ReLUCPU` writes the output and the mask, and in backward the gradient, in cache-sized batch
chunks on all cores (:mod:`.parallel`); :class:`ReLUCUDA` computes output and mask in one pass of
``kernels/activation.cu`` (its backward, one multiplication, is the reference's).
"""
from __future__ import annotations

from .. import kernels
from ..dispatch import fast_version
from ..functional.activation import ReLUFunction
from .parallel import batch_chunks, for_each_chunk


@fast_version(ReLUFunction, "cpu")
class ReLUCPU(ReLUFunction):
    """Both passes in batch chunks on all cores."""

    def forward(self, x):
        xp, zero = self.xp, x.dtype.type(0)
        y, mask = xp.empty_like(x), xp.empty(x.shape, dtype=bool)

        def chunk(n):
            xp.greater(x[n], zero, out=mask[n])
            xp.maximum(x[n], zero, out=y[n])
        for_each_chunk(chunk, batch_chunks(x), x)
        self.save_for_backward(mask)
        return y

    def backward(self, gy):
        (mask,), gx = self.saved, self.xp.empty_like(gy)

        def chunk(n):
            self.xp.multiply(gy[n], mask[n], out=gx[n])
        for_each_chunk(chunk, batch_chunks(gy), gy)
        return gx


@fast_version(ReLUFunction, "cuda")
class ReLUCUDA(ReLUFunction):
    """Output and mask in one kernel of ``kernels/activation.cu``."""

    def forward(self, x):
        xp = self.xp
        y, mask = xp.empty_like(x), xp.empty(x.shape, dtype=bool)
        kernels.launch("activation.cu", "relu_forward", y.size, xp.ascontiguousarray(x), y, mask)
        self.save_for_backward(mask)
        return y
