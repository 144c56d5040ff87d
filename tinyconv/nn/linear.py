"""``Linear``: the fully connected layers of AlexNet (§3.5)."""
from __future__ import annotations

import numpy as np

from .. import init
from ..functional.linear import linear
from .args import positive_int
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight (out_features, in_features) as in PyTorch.

    Weights start N(0, 0.01) and biases 0 (§5), drawn from ``rng`` (a ``numpy.random.Generator``)
    or :func:`tinyconv.init.default_rng`; float32 unless ``dtype`` says otherwise.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.weight = init.normal_(Parameter(np.zeros((out_features, in_features), dtype=dtype)), 0.01, rng)
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
