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

import numbers

from .. import backend
from ..function import Function
from .checks import check_float

MODES = ("paper", "inverted")


def check_dropout_arguments(p, mode) -> None:
    """Refuse a p outside [0, 1) and an unknown mode (the op and ``nn.Dropout`` call this)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p!r} (the paper uses 0.5)")
    if mode not in MODES:
        raise ValueError(f"dropout mode must be one of {MODES} ('paper' scales at test time, §4.2), got {mode!r}")


class DropoutFunction(Function):
    """y = x * factor (§4.2): a 0/1 mask drawn from ``rng`` (times 1/(1 - p) when inverted) in training,
    1 - p (paper) or 1 (inverted) at test time. The reference; dropout has no other version."""

    def __init__(self, p: float, mode: str, training: bool, rng=None):
        check_dropout_arguments(p, mode)
        self.p, self.mode, self.training, self.rng = p, mode, training, rng

    def check(self, x):
        check_float("dropout", x=x)
        if self.training and self.rng is None:
            raise ValueError("dropout in training mode needs rng=, a random generator on the input's device, "
                             "e.g. tinyconv.backend.default_rng(seed, device), so that runs are reproducible")

    def forward(self, x):
        if not self.training:                                           # test time: every unit (§4.2)
            factor = x.dtype.type(1.0 - self.p if self.mode == "paper" else 1.0)
        else:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p    # each unit kept with probability 1 - p
            if backend.device_of(keep) != backend.device_of(x):
                raise ValueError(f"dropout: rng makes arrays on {backend.device_of(keep)} but x is on "
                                 f"{backend.device_of(x)}; make the generator with "
                                 f"tinyconv.backend.default_rng(seed, '{backend.device_of(x)}')")
            scale = 1.0 if self.mode == "paper" else 1.0 / (1.0 - self.p)
            factor = keep.astype(x.dtype) * x.dtype.type(scale)        # 0 or scale per unit
        self.save_for_backward(factor)
        return x * factor

    def backward(self, gy):
        (factor,) = self.saved
        return gy * factor


def dropout(x, p: float = 0.5, training: bool = True, mode: str = "paper", rng=None):
    """Dropout with probability ``p`` of zeroing a unit (§4.2); see the module docstring for the modes.

    In training mode ``rng`` is required (no hidden global generator: the caller decides the seed).
    """
    return DropoutFunction(p, mode, training, rng)(x)
