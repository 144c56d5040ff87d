"""Dropout (§4.2): during training each hidden unit's output is set to zero with probability p
(the paper: p = 0.5, in the first two fully connected layers), so a unit cannot rely on the
presence of particular other units. Every training case sees a different sampled
architecture, all sharing weights.

Two ways to keep train and test outputs on the same scale:

* ``mode="paper"``: train multiplies by a 0/1 mask; test multiplies every output by 1 - p
  ("we use all the neurons but multiply their outputs by 0.5", §4.2).
* ``mode="inverted"``: train multiplies by mask / (1 - p); test is the identity. This is what
  ``torch.nn.Dropout`` does. Both modes give the same expected output at train time and the
  same network at test time, up to a constant factor on the next layer's weights.

The mask is drawn from the generator passed as ``rng`` (``numpy.random.Generator`` or
``cupy.random.Generator``, e.g. ``tinyconv.backend.default_rng(seed, device)``), so runs repeat.
"""
from __future__ import annotations

from .. import backend
from ..function import Function
from ..tensor import Tensor
from .basic import mul
from .shape import check_input

MODES = ("paper", "inverted")


class Dropout(Function):
    """y = x * mask * scale for a given 0/1 ``mask`` (broadcastable to x) and a constant ``scale``."""

    def __init__(self, mask, scale: float = 1.0):
        self.mask, self.scale = mask, scale

    def forward(self, x):
        self.factor = self.mask.astype(x.dtype) * x.dtype.type(self.scale)  # 0 or scale per element
        return x * self.factor

    def backward(self, gy):
        return gy * self.factor


def dropout(x, p: float = 0.5, training: bool = True, mode: str = "paper", rng=None):
    """Dropout with probability ``p`` of zeroing a unit (§4.2); see the module docstring for the modes.

    In training mode ``rng`` is required (no hidden global generator: the caller decides the seed).
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p!r} (the paper uses 0.5)")
    if mode not in MODES:
        raise ValueError(f"dropout mode must be one of {MODES}, got {mode!r}")
    x = x if isinstance(x, Tensor) else Tensor(x)
    check_input("dropout", x.data)
    if not training:
        return mul(x, 1.0 - p) if mode == "paper" else x               # test time (§4.2)
    if rng is None:
        raise ValueError("dropout in training mode needs rng=, a random generator on the input's device, "
                         "e.g. tinyconv.backend.default_rng(seed, device), so that runs are reproducible")
    keep = rng.random(x.shape, dtype=x.dtype) >= p                     # each unit kept with probability 1 - p
    if backend.device_of(keep) != x.device:
        raise ValueError(f"dropout: rng makes arrays on {backend.device_of(keep)} but x is on {x.device}; "
                         f"make the generator with tinyconv.backend.default_rng(seed, '{x.device}')")
    return Dropout(keep, 1.0 if mode == "paper" else 1.0 / (1.0 - p))(x)
