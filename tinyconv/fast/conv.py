"""Fast versions of :class:`~tinyconv.functional.conv.Conv2dFunction` (the reference, read that first).

The same im2col + GEMM, arranged for speed (docs/benchmarks.md measures the result):

* scratch matrices (im2col's ``col``, the GEMM output) are taken from and given back to
  :mod:`.workspace`, so a step does not fault the pages of a fresh 184 MB matrix in again;
* im2col is one copy from a strided view of the padded input, a share of the rows (or of the
  images, for few channels) per CPU core; the (OC, N, ...) <-> (N, OC, ...) copies are split
  over the cores too, the bias added in the same pass;
* backward gives ``col`` back as soon as grad_weight is computed when the engine frees the graph
  after the pass (lower peak memory: the input gradient's matrix can take its place), computes
  no input gradient where none is needed (conv1: the images), and at stride 1, where a layer has
  no more output than input channels, takes a shorter road to the input gradient: the
  convolution of ``gy`` with the kernels flipped in space and with input and output channels
  swapped, one more im2col and GEMM instead of a GEMM into ``col`` and col2im's KH*KW adds.

:class:`Conv2dCPU` builds ``col`` on the CPU's cores and scatters it back with the reference's
col2im; :class:`Conv2dCUDA` uses the fused kernels of ``kernels/conv.cu`` for both, one thread per
element, reading padding as zero (no padded copy), col2im gathering each pixel's entries.
"""
from __future__ import annotations

from .. import backend, kernels, threads
from ..dispatch import fast_version
from ..functional.conv import Conv2dFunction, col2im
from ..functional.windows import conv_out_size
from . import workspace
from .parallel import even_chunks, for_each_chunk


def im2col_threads(x, KH, KW, SH, SW, PH, PW, out=None):
    """:func:`~tinyconv.functional.conv.im2col` as a copy of a strided view, split over the CPU's cores.

    Element (c, kh, kw, n, oh, ow) of the view sits at x_pad[n, c, oh*SH + kh, ow*SW + kw] (no copy);
    the one copy writes ``out`` when given (C*KH*KW*N*OH*OW contiguous elements of x's dtype).
    """
    xp = backend.xp_of(x)
    N, C, H, W = x.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    x_pad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW))) if PH or PW else x
    sN, sC, sH, sW = x_pad.strides
    patches = xp.lib.stride_tricks.as_strided(
        x_pad, (C, KH, KW, N, OH, OW), (sC, sH, sW, sN, sH * SH, sW * SW))  # a view, no copy
    col = (xp.empty(patches.shape, dtype=x.dtype) if out is None else out).reshape(patches.shape)
    axis = 0 if C >= 4 * threads.op_threads() else 3                          # split the rows, or else the images

    def copy(part):
        index = (slice(None),) * axis + (part,)
        col[index] = patches[index]
    for_each_chunk(copy, even_chunks(col.shape[axis]), x)
    return col.reshape(C * KH * KW, N * OH * OW)                      # (C*KH*KW, N*OH*OW)


def im2col_kernel(x, KH, KW, SH, SW, PH, PW, out=None):
    """:func:`~tinyconv.functional.conv.im2col` in one pass of ``kernels/conv.cu``: one thread per entry."""
    xp = backend.xp_of(x)
    N, C, H, W = x.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    col = xp.empty((C * KH * KW, N * OH * OW), dtype=x.dtype) if out is None else out
    kernels.launch("conv.cu", "im2col", col.size, xp.ascontiguousarray(x), col,
                   N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im_kernel(col, x_shape, KH, KW, SH, SW, PH, PW):
    """:func:`~tinyconv.functional.conv.col2im` in one pass of ``kernels/conv.cu``: one thread per pixel,
    gathering the entries copied from it (no atomics)."""
    xp = backend.xp_of(col)
    N, C, H, W = x_shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    gx = xp.empty(x_shape, dtype=col.dtype)
    kernels.launch("conv.cu", "col2im", gx.size, xp.ascontiguousarray(col), gx,
                   N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW)
    return gx


class Conv2dFast(Conv2dFunction):
    """The fast algorithm (module docstring); subclasses give ``im2col`` and ``col2im``."""

    im2col = col2im = None

    def forward(self, x, weight, bias=None):
        y, col = self._im2col_gemm(x, weight, bias, self.stride, self.padding)
        self.save_for_backward(col, weight)
        self.x_shape, self.has_bias = x.shape, bias is not None
        return y                                                      # (N, OC, OH, OW)

    def backward(self, gy):
        xp, G, (col, weight) = self.xp, self.groups, self.saved
        (SH, SW), (PH, PW) = self.stride, self.padding
        OC, Cg, KH, KW = weight.shape
        gy_nchw = gy
        gy = _swap_01(xp, gy).reshape(G, OC // G, -1)                 # (G, OC/G, N*OH*OW)
        gw = xp.matmul(gy, col.reshape(G, -1, gy.shape[2]).transpose(0, 2, 1)).reshape(weight.shape)  # gy @ col.T
        col_shape = col.shape
        if self.may_free_saved():                                     # col is done with: its memory can
            del col                                                   # hold the input gradient's matrix
            self.free_saved()
        if not self.needs_input_grad(0):                              # e.g. conv1: the images need none
            gx = None
        elif (SH, SW) == (1, 1) and PH < KH and PW < KW and OC <= G * Cg:
            # At stride 1 the input gradient is itself a convolution: gy, padded by K - 1 - P, correlated
            # with the kernels flipped in space and with in/out channels swapped (per group). Taken where
            # gy's matrix (OC*KH*KW rows) is no larger than col2im's (C*KH*KW rows).
            flipped = weight.reshape(G, OC // G, Cg, KH, KW)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
            flipped = flipped.reshape(G * Cg, OC // G, KH, KW)        # (C, OC/G, KH, KW)
            gx, gy_col = self._im2col_gemm(gy_nchw, flipped, None, (1, 1), (KH - 1 - PH, KW - 1 - PW))
            workspace.give(gy_col)
        else:
            gcol = xp.matmul(weight.reshape(G, OC // G, -1).transpose(0, 2, 1), gy)  # (G, C/G*KH*KW, N*OH*OW)
            gx = self.col2im(gcol.reshape(col_shape), self.x_shape, KH, KW, SH, SW, PH, PW)  # (N, C, H, W)
        if not self.has_bias:
            return gx, gw
        return gx, gw, gy.reshape(OC, -1).sum(axis=1)                 # (OC,)

    def free_saved(self) -> None:
        """Let go of the saved arrays, handing ``col`` to :mod:`.workspace` for the next step's im2col."""
        if self.saved:
            workspace.give(self.saved[0])
        super().free_saved()

    def _im2col_gemm(self, x, weight, bias, stride, padding):
        """im2col, then one GEMM per group over the whole batch: (y (N, OC, OH, OW), col)."""
        xp, G, (SH, SW), (PH, PW) = self.xp, self.groups, stride, padding
        N, C, H, W = x.shape
        OC, _, KH, KW = weight.shape
        OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
        col = self.im2col(x, KH, KW, SH, SW, PH, PW, out=workspace.take(xp, (C * KH * KW, N * OH * OW), x.dtype))
        w = weight.reshape(G, OC // G, -1)                            # (G, OC/G, C/G*KH*KW)
        y = workspace.take(xp, (G, OC // G, N * OH * OW), x.dtype)
        xp.matmul(w, col.reshape(G, -1, N * OH * OW), out=y)          # (G, OC/G, N*OH*OW)
        out = _swap_01(xp, y.reshape(OC, N, OH, OW), bias)            # (N, OC, OH, OW), bias added
        workspace.give(y)
        return out, col


def _swap_01(xp, a, bias=None):
    """A contiguous copy of ``a`` with its first two axes swapped (plus ``bias`` along the new
    axis 1), (OC, N, ...) <-> (N, OC, ...), written by all CPU cores, a share of axis 1 each."""
    out = xp.empty((a.shape[1], a.shape[0]) + a.shape[2:], dtype=a.dtype)
    extra = (None,) * (a.ndim - 2)

    def copy(n):
        if bias is None:
            out[n] = a[:, n].swapaxes(0, 1)
        else:
            xp.add(a[:, n].swapaxes(0, 1), bias[(slice(None),) + extra], out=out[n])
    for_each_chunk(copy, even_chunks(a.shape[1]), a)
    return out


@fast_version(Conv2dFunction, "cpu")
class Conv2dCPU(Conv2dFast):
    """im2col on all the CPU's cores; col2im by the reference's KH*KW strided adds."""

    im2col = staticmethod(im2col_threads)
    col2im = staticmethod(col2im)


@fast_version(Conv2dFunction, "cuda")
class Conv2dCUDA(Conv2dFast):
    """im2col and col2im as the fused kernels of ``kernels/conv.cu``."""

    im2col = staticmethod(im2col_kernel)
    col2im = staticmethod(col2im_kernel)
