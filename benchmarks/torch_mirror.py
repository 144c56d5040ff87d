"""The PyTorch twin of a tinyconv network, with the same weights, for the speed comparisons.

:func:`layers_of` lists the layers a tinyconv model runs in order (a ``Sequential`` or a
member of the AlexNet family); :func:`to_torch` builds the ``torch.nn.Sequential`` that
computes the same function: grouped convolutions (the towers, §3.2), LRN within each tower
with torch's alpha = paper alpha * n (§3.3), padded overlapping max pooling (§3.4).
Dropout becomes ``torch.nn.Dropout``, which scales at training time: build the tinyconv
model with ``dropout_mode="inverted"`` for both to compute the same function.
"""
from __future__ import annotations

import numpy as np
import torch

from tinyconv import nn
from tinyconv.functional.normalization import alpha_to_torch


class TowerLRN(torch.nn.Module):
    """``torch.nn.functional.local_response_norm`` applied to each of ``groups`` channel groups."""

    def __init__(self, size, alpha_torch, beta, k, groups):
        super().__init__()
        self.args, self.groups = (size, alpha_torch, beta, k), groups

    def forward(self, x):
        lrn = torch.nn.functional.local_response_norm
        if self.groups == 1:
            return lrn(x, *self.args)
        return torch.cat([lrn(h, *self.args) for h in x.chunk(self.groups, 1)], 1)


def layers_of(model) -> list:
    """The layers of ``model`` in the order its forward pass runs them."""
    if hasattr(model, "layer_names"):                        # the AlexNet family (models/towers.py)
        return [getattr(model, name) for name in model.layer_names]
    if isinstance(model, nn.Sequential):
        return list(model)
    raise TypeError(f"layers_of takes an nn.Sequential or an AlexNet-family model, got {type(model).__name__}")


def _param(array) -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.from_numpy(np.array(array, copy=True)))


def _mirror(layer) -> torch.nn.Module:
    if isinstance(layer, nn.Conv2d):
        t = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                            layer.padding, groups=layer.groups, bias=layer.bias is not None)
    elif isinstance(layer, nn.Linear):
        t = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    elif isinstance(layer, nn.LocalResponseNorm):
        return TowerLRN(layer.size, alpha_to_torch(layer.alpha, layer.size), layer.beta, layer.k, layer.groups)
    elif isinstance(layer, nn.MaxPool2d):
        return torch.nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
    elif isinstance(layer, nn.ReLU):
        return torch.nn.ReLU()
    elif isinstance(layer, nn.Flatten):
        return torch.nn.Flatten()
    elif isinstance(layer, nn.Dropout):
        return torch.nn.Dropout(layer.p)
    else:
        raise TypeError(f"no PyTorch twin for layer {type(layer).__name__}")
    t.weight = _param(layer.weight.data)
    if layer.bias is not None:
        t.bias = _param(layer.bias.data)
    return t


def to_torch(model) -> torch.nn.Sequential:
    """A float32 ``torch.nn.Sequential`` computing what ``model`` computes, with copied weights."""
    return torch.nn.Sequential(*(_mirror(layer) for layer in layers_of(model)))
