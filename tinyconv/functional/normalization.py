"""Local response normalization across channels, exactly as §3.3 of the paper writes it.

    b_i = a_i / (k + alpha * sum_{j = max(0, i - n/2)}^{min(N - 1, i + n/2)} a_j^2) ** beta

a_i is the ReLU output of kernel map i at one position, the sum runs over the n "adjacent"
maps at the same position (clipped at the first and last map), and N is the number of maps.
The paper uses k=2, n=5, alpha=1e-4, beta=0.75, after the ReLUs of layers 1 and 2; it lowered
top-1/top-5 error by 1.4%/1.2%. With ``groups`` > 1 the window stays inside each group of
C/groups maps: each tower of the two-GPU net (§3.5) normalises its own maps.

Convention: Caffe, cuda-convnet and ``torch.nn.LocalResponseNorm`` divide alpha by n,
b = a / (k + alpha' / n * sum a^2) ** beta. The same layer therefore has alpha' = n * alpha
there. Convert with :func:`alpha_to_torch` / :func:`alpha_from_torch`; tinyconv never
converts silently, so alpha here always means the paper's alpha.
"""
from __future__ import annotations

from .. import backend, kernels
from ..function import Function
from ..tensor import Tensor
from .shape import batch_chunks, check_input, for_each_chunk


def alpha_to_torch(alpha: float, size: int) -> float:
    """The paper's alpha -> the alpha of torch / Caffe / cuda-convnet (which divide it by ``size``)."""
    return alpha * size


def alpha_from_torch(alpha_torch: float, size: int) -> float:
    """The alpha of torch / Caffe / cuda-convnet -> the paper's alpha (§3.3): alpha_torch / size."""
    return alpha_torch / size


def _check_lrn(x, size, alpha, beta, k, groups):
    check_input("local_response_norm", x, 4, "N, C, H, W")
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"local_response_norm size must be an odd positive int (the window is centred "
                         f"on each map, n/2 maps either side, §3.3), got {size!r}")
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups:
        raise ValueError(f"local_response_norm: {x.shape[1]} channels do not divide into groups={groups!r}; "
                         "use a positive groups that divides the channel count")
    if not (k > 0 and alpha >= 0 and beta >= 0):
        raise ValueError(f"local_response_norm needs k > 0, alpha >= 0 and beta >= 0, got k={k}, "
                         f"alpha={alpha}, beta={beta} (the paper: k=2, alpha=1e-4, beta=0.75)")


def _window_sum(a, half, out):
    """out[:, :, c] = sum of a[:, :, j] for |j - c| <= half, j inside the axis: the §3.3 window.

    ``a`` is (N, G, C/G, H, W), so the window never leaves a group. The sum runs over 2*half + 1
    shifted slices (few passes, no cumulative sum whose float32 differences would lose digits).
    """
    out[...] = a
    for d in range(1, half + 1):
        out[:, :, d:] += a[:, :, :-d]                                   # map c - d, where it exists
        out[:, :, :-d] += a[:, :, d:]                                   # map c + d, where it exists
    return out


def _pow_neg(xp, scale, beta, out):
    """scale ** -beta into ``out``. For the paper's beta = 0.75: 1 / (sqrt(s) * sqrt(sqrt(s))),
    several times faster than pow on the CPU."""
    if beta != 0.75:
        return xp.power(scale, -beta, out=out)
    root = xp.sqrt(scale)
    xp.sqrt(root, out=out)
    out *= root
    return xp.reciprocal(out, out=out)


class LocalResponseNorm(Function):
    """Local response normalization of §3.3 (see the module docstring for the formula).

    Forward and backward run over the batch in chunks (:func:`~.shape.batch_chunks`): on the
    CPU their dozen passes then stay in the cache, about three times faster than whole-batch passes,
    and the chunks run on all cores (:func:`~.shape.for_each_chunk`). On the GPU each pass is one
    fused kernel instead (``kernels/lrn.cu``), which saves s_i alone and recomputes s_i ** -beta.
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, groups=1):
        self.size, self.alpha, self.beta, self.k, self.groups = size, alpha, beta, k, groups

    def forward(self, x):                                               # x: (N, C, H, W)
        _check_lrn(x, self.size, self.alpha, self.beta, self.k, self.groups)
        xp = self.xp
        N, C, H, W = x.shape
        self.fused = kernels.fused(x)
        if self.fused:                                                  # one pass: kernels/lrn.cu
            self.a = xp.ascontiguousarray(x)
            y, self.scale = xp.empty_like(self.a), xp.empty_like(self.a)
            kernels.launch("lrn.cu", "lrn_forward", y.size, self.a, y, self.scale, *self._window_arguments(),
                           self.k)
            return y
        a = x.reshape(N, self.groups, C // self.groups, H, W)           # (N, G, C/G, H, W), a view
        y, scale, p = xp.empty_like(a), xp.empty_like(a), xp.empty_like(a)
        alpha, k = xp.asarray(self.alpha, dtype=x.dtype), xp.asarray(self.k, dtype=x.dtype)

        def chunk(n):
            s = _window_sum(a[n] * a[n], self.size // 2, out=scale[n])  # sum of a_j^2 over the window
            s *= alpha
            s += k                                                      # s_i = k + alpha * sum a_j^2
            _pow_neg(xp, s, self.beta, out=p[n])                        # s_i ** -beta
            xp.multiply(a[n], p[n], out=y[n])                           # b_i = a_i * s_i ** -beta
        for_each_chunk(chunk, batch_chunks(a), a)
        self.a, self.scale, self.p = a, scale, p
        return y.reshape(x.shape)

    def backward(self, gy):
        # b_i = a_i s_i^-beta with s_i = k + alpha sum_{j in W(i)} a_j^2, so
        #   db_i/da_j = [i == j] s_i^-beta - 2 alpha beta a_i s_i^(-beta-1) a_j [j in W(i)].
        # The window is symmetric (j in W(i) exactly when i in W(j), edges and groups included), so
        #   gx_j = gy_j s_j^-beta - 2 alpha beta a_j sum_{i in W(j)} gy_i b_i / s_i,
        # one more window sum, over t_i = gy_i a_i s_i^-beta / s_i.
        if self.fused:
            gx = self.xp.empty_like(self.a)
            kernels.launch("lrn.cu", "lrn_backward", gx.size, self.a, self.scale, self.xp.ascontiguousarray(gy), gx,
                           *self._window_arguments())
            return gx
        xp, a, scale, p = self.xp, self.a, self.scale, self.p
        gy = gy.reshape(a.shape)                                        # (N, G, C/G, H, W)
        gx = xp.empty_like(gy)
        two_alpha_beta = xp.asarray(2 * self.alpha * self.beta, dtype=gy.dtype)

        def chunk(n):
            t = gy[n] * a[n]
            t *= p[n]
            t /= scale[n]                                               # gy_i b_i / s_i
            w = _window_sum(t, self.size // 2, out=xp.empty_like(t))
            w *= a[n]
            w *= two_alpha_beta
            xp.multiply(gy[n], p[n], out=gx[n])
            gx[n] -= w
        for_each_chunk(chunk, batch_chunks(a), a)
        N, G, Cg, H, W = a.shape
        return gx.reshape(N, G * Cg, H, W)

    def _window_arguments(self):
        """C, HW, per_group, half, alpha, beta: the arguments the kernels in lrn.cu share."""
        N, C, H, W = self.a.shape
        return C, H * W, C // self.groups, self.size // 2, self.alpha, self.beta


def local_response_norm(x, size=5, alpha=1e-4, beta=0.75, k=2.0, groups=1):
    """LRN across channels in the paper's convention (§3.3): alpha is NOT divided by ``size``.

    ``groups`` > 1 normalises each group of C/groups channels on its own (the two towers, §3.5).
    For torch / Caffe / cuda-convnet hyperparameters use ``alpha=alpha_from_torch(alpha_t, size)``.
    """
    return LocalResponseNorm(size, alpha, beta, k, groups)(x)


def local_response_norm_naive(x, size=5, alpha=1e-4, beta=0.75, k=2.0, groups=1):
    """Reference LRN on plain arrays, one map at a time, the §3.3 sum written out (for the tests)."""
    x = x.data if isinstance(x, Tensor) else x
    _check_lrn(x, size, alpha, beta, k, groups)
    xp = backend.xp_of(x)
    C = x.shape[1]
    per_group = C // groups
    y = xp.empty_like(x)
    for i in range(C):
        first, last = (i // per_group) * per_group, (i // per_group + 1) * per_group - 1
        lo, hi = max(first, i - size // 2), min(last, i + size // 2)     # clipped at the group's edges
        s = k + alpha * (x[:, lo:hi + 1] ** 2).sum(axis=1)
        y[:, i] = x[:, i] / s ** beta
    return y

