"""``Flatten``: (N, C, H, W) maps to (N, C*H*W) vectors, between the conv and the FC layers (§3.5)."""
from __future__ import annotations

from ..functional.shape import flatten
from .module import Module


class Flatten(Module):
    """Reshape to (N, -1), keeping the batch axis."""

    def forward(self, x):
        return flatten(x)
