"""The fully connected layer: ``y = x @ weight.T + bias`` (AlexNet's fc6, fc7, fc8, §3.5).

The last three layers of the network are fully connected: 4096, 4096 and 1000 neurons,
each seeing every output of the layer below (conv5's maps flattened). Weights are
(out_features, in_features) as in PyTorch, so one row holds the weights of one neuron.
Forward is one GEMM; backward is one GEMM for each of the input and weight gradients.
"""
from __future__ import annotations

from ..function import Function
from .checks import check_float


def _check_linear(x, weight, bias) -> None:
    if x.ndim != 2:
        raise ValueError(f"linear expects x of shape (N, in_features), got shape {tuple(x.shape)}; "
                         "flatten feature maps first with flatten(x) (or x.reshape(N, -1))")
    if weight.ndim != 2:
        raise ValueError(f"linear expects weight of shape (out_features, in_features), got shape {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"linear: x has {x.shape[1]} features per row but weight expects in_features = {weight.shape[1]} "
            f"(weight shape {tuple(weight.shape)}); make the layer's in_features {x.shape[1]}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise ValueError(f"bias must have shape (out_features,) = ({weight.shape[0]},), got {tuple(bias.shape)}")
    check_float("linear", x=x, weight=weight, bias=bias)


class LinearFunction(Function):
    """y = x @ weight.T + bias (§3.5): one GEMM forward, one for each gradient backward. The only version."""

    def check(self, x, weight, bias=None):
        _check_linear(x, weight, bias)

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        y = x @ weight.T                                   # (N, in) @ (in, out) -> (N, out)
        if bias is not None:
            y += bias
        return y

    def backward(self, gy):                                # gy (N, out)
        x, weight = self.saved
        gx = gy @ weight                                   # (N, in)
        gw = gy.T @ x                                      # (out, in)
        if not self.has_bias:
            return gx, gw
        return gx, gw, gy.sum(axis=0)                      # (out,)


def linear(x, weight, bias=None):
    """``x`` (N, in_features) times ``weight.T`` (weight is (out_features, in_features)) plus ``bias``."""
    fn = LinearFunction()
    return fn(x, weight) if bias is None else fn(x, weight, bias)
