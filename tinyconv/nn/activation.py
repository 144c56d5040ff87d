"""Nonlinearities as layers: ReLU (§3.1, the paper's choice), and tanh and sigmoid for Figure 1."""
from __future__ import annotations

from ..functional.activation import relu, sigmoid, tanh
from .module import Module


class ReLU(Module):
    """``max(0, x)``: the non-saturating nonlinearity that trains several times faster (§3.1)."""

    def forward(self, x):
        return relu(x)


class Tanh(Module):
    """``tanh(x)``: the saturating baseline of Figure 1 (§3.1)."""

    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``: the other saturating nonlinearity discussed in §3.1."""

    def forward(self, x):
        return sigmoid(x)
