"""``Dropout`` (§4.2) with masks that a resumed run draws again exactly.

The mask of each training call comes from a fresh generator seeded by ``(seed, calls)``,
where ``calls`` counts the training calls so far and is a buffer in ``state_dict()``. A run
restored from a checkpoint therefore continues with the same masks as the run that was not
interrupted. The generator lives on the input's device (``tinyconv.backend.default_rng``), so
the mask is drawn where it is used; NumPy and CuPy generators give different masks for the
same seed.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..functional.dropout import check_dropout_arguments, dropout
from ..tensor import Tensor
from .args import positive_int
from .module import Module


class Dropout(Module):
    """Zero each unit with probability ``p`` during training (§4.2).

    ``mode="paper"``: training multiplies by a 0/1 mask and evaluation multiplies by ``1 - p``
    ("at test time, we use all the neurons but multiply their outputs by 0.5").
    ``mode="inverted"``: training multiplies by ``mask / (1 - p)`` and evaluation is the identity
    (what PyTorch does); both give the same expected output.

    Give every Dropout layer of a network its own ``seed``: two layers with the same seed draw
    the same mask for inputs of the same shape.
    """

    def __init__(self, p: float = 0.5, mode: str = "paper", seed: int = 0):
        super().__init__()
        check_dropout_arguments(p, mode)
        self.p, self.mode = float(p), mode
        self.seed = positive_int(seed, "seed", minimum=0)
        self.register_buffer("calls", np.zeros((), dtype=np.int64), host=True)

    def forward(self, x):
        if not self.training:
            return dropout(x, self.p, training=False, mode=self.mode)
        rng = self.generator(backend.device_of(x.data if isinstance(x, Tensor) else x))
        self.calls += 1
        return dropout(x, self.p, training=True, mode=self.mode, rng=rng)

    def generator(self, dev):
        """The generator of this call's mask, on ``dev``: seeded by (seed, calls), mixed into one 64-bit
        seed, which NumPy and CuPy generators both accept."""
        mixed = int(np.random.SeedSequence([self.seed, int(self.calls)]).generate_state(1, np.uint64)[0])
        return backend.default_rng(mixed, dev)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode='{self.mode}', seed={self.seed}"
