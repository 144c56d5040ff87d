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

Groups (§3.2, §3.5): in the paper each GPU holds half of the kernels of conv2, conv4 and
conv5, which see only the feature maps on their own GPU. On one device that is
``groups=2``: the channels split into two towers, and the GEMM becomes a batched matmul
over a leading group axis (conv3 and conv1 use ``groups=1``).

Layout choice: rows ordered (C, KH, KW) match ``weight.reshape(OC, -1)`` with no copy, and
put the group axis first, so grouping is a free reshape; columns ordered (N, OH, OW) keep
each output row contiguous, and im2col and col2im loop over the KH*KW kernel offsets, never
over pixels. :class:`Conv2dFunction` is the reference; ``tinyconv/fast/conv.py`` holds its fast
versions (scratch matrices kept between steps, threads, the input gradient as a convolution
with flipped kernels, the CUDA kernels of ``kernels/conv.cu``), chosen by :mod:`tinyconv.dispatch`.
"""
from __future__ import annotations

from .. import backend, dispatch
from ..function import Function
from .checks import check_float
from .windows import conv_out_size, pair


def im2col(x, KH, KW, SH, SW, PH, PW):
    """(N, C, H, W) -> col (C*KH*KW, N*OH*OW): every patch a kernel sees, as a column.

    For each kernel offset (kh, kw) the input pixels it touches in every patch form one strided
    slice of the padded input, (N, C, OH, OW): KH*KW copies fill the matrix.
    """
    xp = backend.xp_of(x)
    N, C, H, W = x.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    x_pad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))               # (N, C, H + 2PH, W + 2PW)
    col = xp.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            window = x_pad[:, :, kh:kh + SH * OH:SH, kw:kw + SW * OW:SW]    # (N, C, OH, OW)
            col[:, kh, kw] = window.transpose(1, 0, 2, 3)                   # (C, N, OH, OW)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, SH, SW, PH, PW):
    """The adjoint of :func:`im2col`: add each column entry back onto its input pixel.

    ``col`` (C*KH*KW, N*OH*OW) -> (N, C, H, W). One strided slice-add per kernel offset
    (kh, kw) covers all channels, images and output positions at once; entries of
    overlapping patches land on the same pixel and sum, which is what the chain rule needs.
    """
    xp = backend.xp_of(col)
    N, C, H, W = x_shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    cols = col.reshape(C, KH, KW, N, OH, OW)
    g = xp.zeros((C, N, H + 2 * PH, W + 2 * PW), dtype=col.dtype)     # (C, N, H_pad, W_pad)
    for kh in range(KH):
        for kw in range(KW):
            g[:, :, kh:kh + SH * OH:SH, kw:kw + SW * OW:SW] += cols[:, kh, kw]  # (C, N, OH, OW)
    return xp.ascontiguousarray(g[:, :, PH:PH + H, PW:PW + W].transpose(1, 0, 2, 3))  # (N, C, H, W)


def check_groups(groups, in_channels: int, out_channels: int) -> None:
    """Both channel counts must split evenly into ``groups`` (the towers of §3.2)."""
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    for name, n in (("in_channels (C)", in_channels), ("out_channels (OC)", out_channels)):
        if n % groups:
            raise ValueError(f"{name} = {n} is not divisible by groups = {groups}: each group needs the same "
                             "number of channels; pick groups that divides both C and OC")


def check_conv(x, weight, bias, stride, padding, groups) -> None:
    """Clear errors for the mistakes conv2d can't compute through (each names the fix)."""
    if x.ndim != 4:
        raise ValueError(f"conv2d expects x of shape (N, C, H, W), got shape {tuple(x.shape)}; "
                         "for a single image add a batch axis with x[None]")
    if weight.ndim != 4:
        raise ValueError(f"conv2d expects weight of shape (OC, C/groups, KH, KW), got shape {tuple(weight.shape)}")
    C, (OC, Cg) = x.shape[1], weight.shape[:2]
    check_groups(groups, C, OC)
    if Cg * groups != C:
        raise ValueError(
            f"weight has {Cg} input channels per group (weight.shape[1]) but x has C = {C} channels "
            f"in {groups} group(s), i.e. {C // groups} per group; make weight of shape "
            f"(OC, C/groups, KH, KW) = ({OC}, {C // groups}, KH, KW)")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != OC):
        raise ValueError(f"bias must have shape (OC,) = ({OC},), got {tuple(bias.shape)}")
    check_float("conv2d", x=x, weight=weight, bias=bias)
    for size, k, s, p in zip(x.shape[2:], weight.shape[2:], stride, padding):
        conv_out_size(size, k, s, p)                                      # refuses a kernel larger than the input


class Conv2dFunction(Function):
    """2-D convolution (cross-correlation, as in every framework) by im2col + one GEMM per group.

    The reference (see the module docstring); groups are the two towers of §3.2/§3.5.
    """

    def __init__(self, stride=1, padding=0, groups=1):
        self.stride, self.padding = pair(stride, "stride"), pair(padding, "padding")
        self.groups = groups

    def check(self, x, weight, bias=None):
        check_conv(x, weight, bias, self.stride, self.padding, self.groups)

    def forward(self, x, weight, bias=None):                             # x (N, C, H, W)
        G, (SH, SW), (PH, PW) = self.groups, self.stride, self.padding
        N, C, H, W = x.shape
        OC, _, KH, KW = weight.shape                                      # (OC, C/G, KH, KW)
        OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
        col = im2col(x, KH, KW, SH, SW, PH, PW)                           # (C*KH*KW, N*OH*OW)
        w = weight.reshape(G, OC // G, -1)                                # (G, OC/G, C/G*KH*KW)
        y = w @ col.reshape(G, -1, N * OH * OW)                           # (G, OC/G, N*OH*OW): the GEMMs
        y = y.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3)                # (N, OC, OH, OW)
        if bias is not None:
            y = y + bias.reshape(OC, 1, 1)
        self.save_for_backward(col, weight)
        self.x_shape, self.has_bias = x.shape, bias is not None
        return self.xp.ascontiguousarray(y)

    def backward(self, gy):                                               # gy (N, OC, OH, OW)
        col, weight = self.saved
        G, (SH, SW), (PH, PW) = self.groups, self.stride, self.padding
        OC, _, KH, KW = weight.shape
        gy_mat = gy.transpose(1, 0, 2, 3).reshape(G, OC // G, -1)         # (G, OC/G, N*OH*OW)
        w = weight.reshape(G, OC // G, -1)                                # (G, OC/G, C/G*KH*KW)
        gw = gy_mat @ col.reshape(G, w.shape[2], -1).transpose(0, 2, 1)   # gy @ col.T: (G, OC/G, C/G*KH*KW)
        gcol = w.transpose(0, 2, 1) @ gy_mat                              # weight.T @ gy: (G, C/G*KH*KW, N*OH*OW)
        gx = col2im(gcol.reshape(col.shape), self.x_shape, KH, KW, SH, SW, PH, PW)  # (N, C, H, W)
        if not self.has_bias:
            return gx, gw.reshape(weight.shape)
        return gx, gw.reshape(weight.shape), gy.sum(axis=(0, 2, 3))       # (OC,)


def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
    """Convolve ``x`` (N, C, H, W) with ``weight`` (OC, C/groups, KH, KW), add ``bias`` (OC,).

    ``stride`` and ``padding`` are an int or an (h, w) pair; ``groups=2`` is the paper's
    two-tower layer (§3.5). Returns a Tensor (N, OC, OH, OW); see :func:`conv_out_size`.
    """
    fn = dispatch.choose(Conv2dFunction, x)(stride, padding, groups)
    return fn(x, weight) if bias is None else fn(x, weight, bias)


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, groups=1):
    """The same convolution by loops over output positions and groups: plain arrays in and out.

    The definition written down directly (the tests' reference and the notebook's first
    draft): at every output position, a dot product of each kernel with the patch under it.
    """
    (SH, SW), (PH, PW) = pair(stride, "stride"), pair(padding, "padding")
    check_conv(x, weight, bias, (SH, SW), (PH, PW), groups)
    xp = backend.xp_of(x)
    N, C, H, W = x.shape
    OC, Cg, KH, KW = weight.shape
    OH, OW = conv_out_size(H, KH, SH, PH), conv_out_size(W, KW, SW, PW)
    OCg = OC // groups
    x_pad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
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
