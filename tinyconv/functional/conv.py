"""Convolution as one matrix product: im2col, col2im, ``conv2d`` and its loop reference.

AlexNet's five convolutional layers (§3, §3.5, Figure 2) do almost all of its arithmetic.
A convolution slides each kernel (C/groups x KH x KW numbers) over the input and takes a dot
product at every output position. **im2col** copies every input patch the kernels see into
one column of a matrix, ``col`` of shape (C*KH*KW, N*OH*OW): row (c, kh, kw) of column
(n, oh, ow) holds ``x_pad[n, c, oh*SH + kh, ow*SW + kw]``. Then the whole layer, for the
whole batch, is one GEMM: ``weight.reshape(OC, C*KH*KW) @ col``, the operation BLAS (and
cuBLAS) runs near the machine's peak. The price is memory: each input value is copied
about KH*KW/(SH*SW) times.

The backward pass uses the same matrices: ``grad_weight = gy @ col.T``,
``grad_col = weight.T @ gy``, and **col2im**, the adjoint of im2col, adds every column
entry back onto the input pixel it was copied from (overlapping patches add up).
At stride 1, where a layer has no more output than input channels, the backward pass takes a
shorter road to the input gradient: it is the convolution of ``gy`` with the kernels flipped
in space and transposed (input and output channels swapped), so it reuses im2col and one
GEMM. The input gradient of the first layer (the images) is not computed at all.

Groups (§3.2, §3.5): in the paper each GPU holds half of the kernels of conv2, conv4 and
conv5, which see only the feature maps on their own GPU. On one device that is
``groups=2``: the channels split into two towers, and the GEMM becomes a batched matmul
over a leading group axis (conv3 and conv1 use ``groups=1``).

Layout choice: rows ordered (C, KH, KW) match ``weight.reshape(OC, -1)`` with no copy, and
put the group axis first, so grouping is a free reshape; columns ordered (N, OH, OW) keep
each output row contiguous, so im2col is one copy from a strided view and col2im adds
whole (C, N, OH, OW) slices, looping over the KH*KW kernel offsets, never over pixels.
On the GPU both are one fused kernel each instead (``kernels/conv.cu``): one thread per
element, reading padding as zero, and col2im gathering each pixel's entries.
"""
from __future__ import annotations

from .. import backend, kernels, threads
from ..function import Function
from . import workspace
from .shape import even_chunks, for_each_chunk, pair


def conv_out_size(size: int, k: int, s: int, p: int) -> int:
    """Output length of a window of ``k`` at stride ``s`` over ``size`` padded by ``p`` each side.

    Floor mode (§3.1: 227 -> 55 for conv1's 11x11 kernels at stride 4; §3.4: 55 -> 27 for
    3x3 pooling at stride 2): ``(size + 2p - k) // s + 1``. Every layer and model imports it.
    """
    if k < 1 or s < 1 or p < 0:
        raise ValueError(f"need kernel >= 1, stride >= 1, padding >= 0; got kernel {k}, stride {s}, padding {p}")
    if k > size + 2 * p:
        raise ValueError(
            f"kernel size {k} is larger than the padded input ({size} + 2*{p} = {size + 2 * p}); "
            "use a smaller kernel, more padding, or a larger input"
        )
    return (size + 2 * p - k) // s + 1


def check_float(op: str, **arrays) -> None:
    """Raise a TypeError unless every array is floating point and all share one dtype."""
    for name, a in arrays.items():
        if a.dtype.kind != "f":
            raise TypeError(
                f"{op} needs floating-point arrays, but {name} has dtype {a.dtype}; "
                f"convert it with {name}.astype(numpy.float32) (or float64)"
            )
    dtypes = {str(a.dtype) for a in arrays.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{name} {a.dtype}" for name, a in arrays.items())
        raise TypeError(f"{op} needs one dtype for all its arrays, got {listed}; convert with .astype(...)")


def _pad(x, PH, PW):
    if not (PH or PW):
        return x
    return backend.xp_of(x).pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))  # (N, C, H+2PH, W+2PW)


def im2col(x, KH, KW, SH, SW, PH, PW, out=None):
    """(N, C, H, W) -> col (C*KH*KW, N*OH*OW): every patch a kernel sees, as a column.

    Built as a strided view of the padded input (no copy: element (c, kh, kw, n, oh, ow) sits
    at x_pad[n, c, oh*SH + kh, ow*SW + kw]) and then copied once into a contiguous matrix
    (on the CPU, a share of the rows, or of the images for few channels, per core), ``out``
    when given (a contiguous array of C*KH*KW*N*OH*OW elements of x's dtype).
    """
    xp = backend.xp_of(x)
    N, C, H, W = x.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    if kernels.fused(x):                                              # one pass, no padded copy: kernels/conv.cu
        col = xp.empty((C * KH * KW, N * OH * OW), dtype=x.dtype) if out is None else out
        kernels.launch("conv.cu", "im2col", col.size, xp.ascontiguousarray(x), col,
                       N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW)
        return col.reshape(C * KH * KW, N * OH * OW)
    x_pad = _pad(x, PH, PW)
    sN, sC, sH, sW = x_pad.strides
    patches = xp.lib.stride_tricks.as_strided(
        x_pad, (C, KH, KW, N, OH, OW), (sC, sH, sW, sN, sH * SH, sW * SW))  # a view, no copy
    col = (xp.empty(patches.shape, dtype=x.dtype) if out is None else out).reshape(patches.shape)
    axis = 0 if C >= 4 * threads.op_threads() else 3                  # split the rows, or else the images

    def copy(part):
        index = (slice(None),) * axis + (part,)
        col[index] = patches[index]
    for_each_chunk(copy, even_chunks(col.shape[axis]), x)
    return col.reshape(C * KH * KW, N * OH * OW)                      # (C*KH*KW, N*OH*OW)


def col2im(col, x_shape, KH, KW, SH, SW, PH, PW):
    """The adjoint of :func:`im2col`: add each column entry back onto its input pixel.

    ``col`` (C*KH*KW, N*OH*OW) -> (N, C, H, W). One strided slice-add per kernel offset
    (kh, kw) covers all channels, images and output positions at once; entries of
    overlapping patches land on the same pixel and sum, which is what the chain rule needs.
    """
    xp = backend.xp_of(col)
    N, C, H, W = x_shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    if kernels.fused(col):                                            # one pass, gathering: kernels/conv.cu
        gx = xp.empty(x_shape, dtype=col.dtype)
        kernels.launch("conv.cu", "col2im", gx.size, xp.ascontiguousarray(col), gx,
                       N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW)
        return gx
    cols = col.reshape(C, KH, KW, N, OH, OW)
    g = xp.zeros((C, N, H + 2 * PH, W + 2 * PW), dtype=col.dtype)     # (C, N, H_pad, W_pad)
    for kh in range(KH):
        for kw in range(KW):
            g[:, :, kh:kh + SH * OH:SH, kw:kw + SW * OW:SW] += cols[:, kh, kw]  # (C, N, OH, OW)
    return xp.ascontiguousarray(g[:, :, PH:PH + H, PW:PW + W].transpose(1, 0, 2, 3))  # (N, C, H, W)


def _check_conv(x, weight, bias, groups) -> None:
    """Clear errors for the mistakes conv2d can't compute through (each names the fix)."""
    if x.ndim != 4:
        raise ValueError(f"conv2d expects x of shape (N, C, H, W), got shape {tuple(x.shape)}; "
                         "for a single image add a batch axis with x[None]")
    if weight.ndim != 4:
        raise ValueError(f"conv2d expects weight of shape (OC, C/groups, KH, KW), got shape {tuple(weight.shape)}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    C, (OC, Cg) = x.shape[1], weight.shape[:2]
    for name, n in (("input channels C", C), ("output channels OC (weight.shape[0])", OC)):
        if n % groups:
            raise ValueError(f"{name} = {n} do not divide by groups = {groups}; "
                             "pick groups that divides both C and OC")
    if Cg * groups != C:
        raise ValueError(
            f"weight has {Cg} input channels per group (weight.shape[1]) but x has C = {C} channels "
            f"in {groups} group(s), i.e. {C // groups} per group; make weight of shape "
            f"(OC, C/groups, KH, KW) = ({OC}, {C // groups}, KH, KW)")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != OC):
        raise ValueError(f"bias must have shape (OC,) = ({OC},), got {tuple(bias.shape)}")
    arrays = {"x": x, "weight": weight} if bias is None else {"x": x, "weight": weight, "bias": bias}
    check_float("conv2d", **arrays)


class Conv2d(Function):
    """2-D convolution (cross-correlation, as in every framework) by im2col + one GEMM.

    See the module docstring; groups are the two towers of §3.2/§3.5.
    """

    def __init__(self, stride=1, padding=0, groups=1):
        self.stride, self.padding = pair(stride, "stride"), pair(padding, "padding")
        self.groups = groups

    def forward(self, x, weight, bias=None):
        _check_conv(x, weight, bias, self.groups)
        y, self.col = _im2col_gemm(self.xp, x, weight, bias, self.groups, self.stride, self.padding)
        self.weight, self.x_shape, self.has_bias = weight, x.shape, bias is not None
        return y                                                      # (N, OC, OH, OW)

    def backward(self, gy):
        xp, G, weight = self.xp, self.groups, self.weight
        (SH, SW), (PH, PW) = self.stride, self.padding
        OC, Cg, KH, KW = weight.shape
        gy_nchw = gy
        gy = _swap_01(xp, gy).reshape(G, OC // G, -1)                 # (G, OC/G, N*OH*OW)
        col = self.col.reshape(G, -1, gy.shape[2])                    # (G, C/G*KH*KW, N*OH*OW)
        gw = xp.matmul(gy, col.transpose(0, 2, 1)).reshape(weight.shape)  # gy @ col.T: (OC, C/G, KH, KW)
        col_shape = self.col.shape
        if self.may_free_saved():                                     # col is done with: its memory can
            del col                                                   # hold the input gradient's matrix
            workspace.give(self.col)
            del self.col
        if not self.needs_input_grad(0):                              # e.g. conv1: the images need none
            gx = None
        elif (SH, SW) == (1, 1) and PH < KH and PW < KW and OC <= G * Cg:
            # At stride 1 the input gradient is itself a convolution: gy, padded by K - 1 - P, correlated
            # with the kernels flipped in space and with in/out channels swapped (per group). One more
            # im2col + GEMM, about twice as fast on the CPU as the GEMM into col and col2im's KH*KW adds.
            # Taken where gy's matrix (OC*KH*KW rows) is no larger than col2im's (C*KH*KW rows).
            flipped = weight.reshape(G, OC // G, Cg, KH, KW)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
            flipped = flipped.reshape(G * Cg, OC // G, KH, KW)        # (C, OC/G, KH, KW)
            gx, gy_col = _im2col_gemm(xp, gy_nchw, flipped, None, G, (1, 1), (KH - 1 - PH, KW - 1 - PW))
            workspace.give(gy_col)
        else:
            gcol = xp.matmul(weight.reshape(G, OC // G, -1).transpose(0, 2, 1), gy)  # (G, C/G*KH*KW, N*OH*OW)
            gx = col2im(gcol.reshape(col_shape), self.x_shape, KH, KW, SH, SW, PH, PW)  # (N, C, H, W)
        if not self.has_bias:
            return gx, gw
        return gx, gw, gy.reshape(OC, -1).sum(axis=1)                 # (OC,)

    def release(self):
        """Drop the saved arrays, handing ``col`` to :mod:`.workspace` for the next step's im2col."""
        col = getattr(self, "col", None)
        super().release()
        workspace.give(col)                                           # for the next step's im2col


def _im2col_gemm(xp, x, weight, bias, G, stride, padding):
    """im2col, then one GEMM per group over the whole batch: (y (N, OC, OH, OW), col)."""
    (SH, SW), (PH, PW) = stride, padding
    N, C, H, W = x.shape
    OC, _, KH, KW = weight.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    col = im2col(x, KH, KW, SH, SW, PH, PW, out=workspace.take(xp, (C * KH * KW, N * OH * OW), x.dtype))
    w = weight.reshape(G, OC // G, -1)                                # (G, OC/G, C/G*KH*KW)
    y = workspace.take(xp, (G, OC // G, N * OH * OW), x.dtype)
    xp.matmul(w, col.reshape(G, -1, N * OH * OW), out=y)              # (G, OC/G, N*OH*OW)
    out = _swap_01(xp, y.reshape(OC, N, OH, OW), bias)              # (N, OC, OH, OW), bias added
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


def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
    """Convolve ``x`` (N, C, H, W) with ``weight`` (OC, C/groups, KH, KW), add ``bias`` (OC,).

    ``stride`` and ``padding`` are an int or an (h, w) pair; ``groups=2`` is the paper's
    two-tower layer (§3.5). Returns a Tensor (N, OC, OH, OW); see :func:`conv_out_size`.
    """
    fn = Conv2d(stride, padding, groups)
    return fn(x, weight) if bias is None else fn(x, weight, bias)


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, groups=1):
    """The same convolution by loops over output positions and groups: plain arrays in and out.

    The definition written down directly (the tests' reference and the notebook's first
    draft): at every output position, a dot product of each kernel with the patch under it.
    """
    _check_conv(x, weight, bias, groups)
    xp = backend.xp_of(x)
    (SH, SW), (PH, PW) = pair(stride, "stride"), pair(padding, "padding")
    N, C, H, W = x.shape
    OC, Cg, KH, KW = weight.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    OCg = OC // groups
    x_pad = _pad(x, PH, PW)
    y = xp.zeros((N, OC, OH, OW), dtype=x.dtype)
    for g in range(groups):
        kernels = weight[g * OCg:(g + 1) * OCg]                       # (OC/G, C/G, KH, KW)
        for oh in range(OH):
            for ow in range(OW):
                patch = x_pad[:, g * Cg:(g + 1) * Cg, oh * SH:oh * SH + KH, ow * SW:ow * SW + KW]  # (N, C/G, KH, KW)
                y[:, g * OCg:(g + 1) * OCg, oh, ow] = xp.tensordot(patch, kernels, axes=([1, 2, 3], [1, 2, 3]))
    if bias is not None:
        y += bias[None, :, None, None]
    return y                                                          # (N, OC, OH, OW)
