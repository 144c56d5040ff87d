"""Random erasing (Zhong et al. 2017, "Random Erasing Data Augmentation"): not in the paper.

§4.1 fights overfitting with label-preserving transforms: crops, mirrors and colour shifts.
Random erasing is one more of that kind, published five years later: with probability ``p`` a
training crop loses a random rectangle, so the net cannot lean on any one part of the image
(a collar, a sleeve) and must use the rest as well. Zhong et al. report lower test errors on
CIFAR-10, CIFAR-100 and Fashion-MNIST for nets already trained with crops and mirrors (on
Fashion-MNIST, 4.01% down to 3.65% for their best net).

Here the rectangle covers a fraction of the crop drawn uniformly from ``area`` (0.02-0.4, as
in their paper), with an aspect ratio h/w drawn log-uniformly between ``aspect`` and
1/``aspect`` (0.3), clipped to the crop and placed uniformly where it fits. Its pixels become
the training set's mean image there, which is 0 after §2's mean subtraction: their "mean
value" variant (their default fills random values, which they found about as good). The
draws come from the batch's generator after the crops', flips' and colour shifts', so a run
without erasing draws the same crops as before, and an interrupted run resumes bit for bit.
"""
from __future__ import annotations

import numpy as np


class RandomErasing:
    """Set a random rectangle of each float crop to 0 (the mean image, §2) with probability ``probability``."""

    def __init__(self, probability: float = 0.5, area=(0.02, 0.4), aspect: float = 0.3):
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"random erasing needs a probability in (0, 1], got {probability}; "
                             "leave it out (or --erase 0) to erase nothing")
        if not 0.0 < area[0] <= area[1] <= 1.0:
            raise ValueError(f"random erasing needs 0 < smallest <= largest area fraction <= 1, got {area}")
        if not 0.0 < aspect <= 1.0:
            raise ValueError(f"random erasing needs an aspect ratio bound in (0, 1], got {aspect}")
        self.probability, self.area, self.aspect = probability, tuple(area), aspect

    def boxes(self, n: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """(image, top, left, h, w) rows, int64, one per erased image of a batch of ``n`` crops."""
        chosen = rng.random(n) < self.probability
        area = rng.uniform(*self.area, size=n) * height * width
        ratio = np.exp(rng.uniform(np.log(self.aspect), -np.log(self.aspect), size=n))   # h / w
        h = np.clip(np.rint(np.sqrt(area * ratio)), 1, height).astype(np.int64)
        w = np.clip(np.rint(np.sqrt(area / ratio)), 1, width).astype(np.int64)
        top = np.floor(rng.random(n) * (height - h + 1)).astype(np.int64)
        left = np.floor(rng.random(n) * (width - w + 1)).astype(np.int64)
        return np.stack([np.arange(n), top, left, h, w], axis=1)[chosen]

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Erase in place in a float batch (N, C, H, W) of mean-subtracted crops; returns it."""
        if not isinstance(batch, np.ndarray):
            raise TypeError("random erasing works on crops made on the CPU (NumPy arrays), got "
                            f"{type(batch).__name__}: leave out --augment-on-gpu to use --erase")
        if batch.ndim != 4:
            raise ValueError(f"random erasing needs a batch of crops (N, C, H, W), got shape {batch.shape}")
        for m, top, left, h, w in self.boxes(len(batch), *batch.shape[2:], rng):
            batch[m, :, top:top + h, left:left + w] = 0.0
        return batch
