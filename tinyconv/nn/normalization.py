"""``LocalResponseNorm``: the brightness normalization across adjacent channels of §3.3."""
from __future__ import annotations

from ..functional.normalization import local_response_norm
from .args import positive_int
from .module import Module


class LocalResponseNorm(Module):
    """``b = a / (k + alpha * sum_{size adjacent channels} a^2) ** beta`` (§3.3, paper convention).

    ``alpha`` is the paper's: PyTorch's ``nn.LocalResponseNorm`` divides its alpha by ``size``
    (convert with ``tinyconv.functional.normalization.alpha_to_torch``). ``groups`` > 1 normalizes
    within each channel group, as each GPU did in the two-tower net (§3.2).
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, groups: int = 1):
        super().__init__()
        if positive_int(size, "size") % 2 == 0:
            raise ValueError(f"size must be odd: the window is centred on each channel (§3.3), got {size}")
        self.size, self.groups = size, positive_int(groups, "groups")
        if not (k > 0 and alpha >= 0 and beta >= 0):
            raise ValueError(f"LocalResponseNorm needs k > 0, alpha >= 0, beta >= 0, got k={k}, alpha={alpha}, beta={beta}")
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k, self.groups)

    def extra_repr(self) -> str:
        text = f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
        return text + (f", groups={self.groups}" if self.groups != 1 else "")
