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

``tinyconv/fast/normalization.py`` holds the fast versions of :class:`LocalResponseNormFunction`
(cache-sized batch chunks on all cores; the CUDA kernels of ``kernels/lrn.cu``).
"""
from __future__ import annotations

from .. import backend, dispatch
from ..function import Function
from ..tensor import Tensor
from .checks import check_float, check_ndim


def alpha_to_torch(alpha: float, size: int) -> float:
    """The paper's alpha -> the alpha of torch / Caffe / cuda-convnet (which divide it by ``size``)."""
    return alpha * size


def alpha_from_torch(alpha_torch: float, size: int) -> float:
    """The alpha of torch / Caffe / cuda-convnet -> the paper's alpha (§3.3): alpha_torch / size."""
    return alpha_torch / size


def check_lrn_arguments(size, alpha, beta, k, groups) -> None:
    """Refuse settings the §3.3 formula has no meaning for (the op and ``nn.LocalResponseNorm`` call this)."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1 or size % 2 == 0:
        raise ValueError(f"local_response_norm size must be odd, a positive int (the window is centred on each "
                         f"map, n/2 maps either side, §3.3), got {size!r}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"local_response_norm groups must be a positive int, got {groups!r}")
    if not (k > 0 and alpha >= 0 and beta >= 0):
        raise ValueError(f"local_response_norm needs k > 0, alpha >= 0 and beta >= 0, got k={k}, "
                         f"alpha={alpha}, beta={beta} (the paper: k=2, alpha=1e-4, beta=0.75)")


def _check_lrn(x, size, alpha, beta, k, groups) -> None:
    check_ndim("local_response_norm", x, 4, "N, C, H, W")
    check_float("local_response_norm", x=x)
    check_lrn_arguments(size, alpha, beta, k, groups)
    if x.shape[1] % groups:
        raise ValueError(f"local_response_norm: {x.shape[1]} channels do not divide into groups={groups!r}; "
                         "use a positive groups that divides the channel count")


def window_sum(a, half, out=None):
    """out[:, :, c] = sum of a[:, :, j] for |j - c| <= half, j inside the axis: the §3.3 window.

    ``a`` is (N, G, C/G, H, W), so the window never leaves a group. The sum runs over 2*half + 1
    shifted slices (few passes, no cumulative sum whose float32 differences would lose digits),
    into ``out`` when given.
    """
    if out is None:
        out = a.copy()
    else:
        out[...] = a
    for d in range(1, half + 1):
        out[:, :, d:] += a[:, :, :-d]                                   # map c - d, where it exists
        out[:, :, :-d] += a[:, :, d:]                                   # map c + d, where it exists
    return out


class LocalResponseNormFunction(Function):
    """Local response normalization of §3.3 (see the module docstring for the formula): the reference."""

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, groups=1):
        self.size, self.alpha, self.beta, self.k, self.groups = size, alpha, beta, k, groups

    def check(self, x):
        _check_lrn(x, self.size, self.alpha, self.beta, self.k, self.groups)

    def forward(self, x):                                               # x (N, C, H, W)
        N, C, H, W = x.shape
        a = x.reshape(N, self.groups, C // self.groups, H, W)           # (N, G, C/G, H, W): windows stay in a group
        s = self.k + self.alpha * window_sum(a * a, self.size // 2)     # s_i = k + alpha * sum_{j in W(i)} a_j^2
        self.save_for_backward(a, s)
        return (a * s ** -self.beta).reshape(x.shape)                   # b_i = a_i / s_i^beta

    def backward(self, gy):
        # b_i = a_i s_i^-beta with s_i = k + alpha sum_{j in W(i)} a_j^2, so
        #   db_i/da_j = [i == j] s_i^-beta - 2 alpha beta a_i s_i^(-beta-1) a_j [j in W(i)].
        # The window is symmetric (j in W(i) exactly when i in W(j), edges and groups included), so
        #   gx_j = gy_j s_j^-beta - 2 alpha beta a_j sum_{i in W(j)} gy_i a_i s_i^(-beta-1),
        # one more window sum.
        a, s = self.saved
        gy = gy.reshape(a.shape)                                        # (N, G, C/G, H, W)
        t = gy * a * s ** (-self.beta - 1)                              # gy_i a_i s_i^(-beta-1)
        gx = gy * s ** -self.beta - (2 * self.alpha * self.beta) * a * window_sum(t, self.size // 2)
        N, G, Cg, H, W = a.shape
        return gx.reshape(N, G * Cg, H, W)


def local_response_norm(x, size=5, alpha=1e-4, beta=0.75, k=2.0, groups=1):
    """LRN across channels in the paper's convention (§3.3): alpha is NOT divided by ``size``.

    ``groups`` > 1 normalises each group of C/groups channels on its own (the two towers, §3.5).
    For torch / Caffe / cuda-convnet hyperparameters use ``alpha=alpha_from_torch(alpha_t, size)``.
    """
    return dispatch.choose(LocalResponseNormFunction, x)(size, alpha, beta, k, groups)(x)


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
