"""``LocalResponseNorm``: the brightness normalization across adjacent channels of §3.3."""
from __future__ import annotations

from ..functional.normalization import check_lrn_arguments, local_response_norm
from .module import Module


class LocalResponseNorm(Module):
    """``b = a / (k + alpha * sum_{size adjacent channels} a^2) ** beta`` (§3.3, paper convention).

    ``alpha`` is the paper's: PyTorch's ``nn.LocalResponseNorm`` divides its alpha by ``size``
    (convert with ``tinyconv.functional.normalization.alpha_to_torch``). ``groups`` > 1 normalizes
    within each channel group, as each GPU did in the two-tower net (§3.2).
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, groups: int = 1):
        super().__init__()
        check_lrn_arguments(size, alpha, beta, k, groups)
        self.size, self.alpha, self.beta, self.k, self.groups = size, alpha, beta, k, groups

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k, self.groups)

    def extra_repr(self) -> str:
        text = f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
        return text + (f", groups={self.groups}" if self.groups != 1 else "")
