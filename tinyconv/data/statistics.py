"""Training-set statistics the paper's preprocessing needs, computed once and cached (§2, §4.1).

* the mean image (§2), subtracted from every input: float32 (C, H, W);
* the 3x3 covariance of RGB values over all training pixels and its
  eigen-decomposition, for PCA colour augmentation (§4.1).

Both are cached as ``.npy`` files named after ``dataset.name`` (which changes when
the data changes) in ``cache_dir`` (default ``data_home()/stats``), so each is
computed once per dataset; ``cache_dir=False`` turns caching off.
"""
from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tinyconv.data.dataset import gather
from tinyconv.data.download import data_home

_PIXELS_PER_CHUNK = 1 << 21  # about 2M pixels (50 MB as float64 RGB) per step


def _cached(dataset, what: str, cache_dir, compute) -> np.ndarray:
    if cache_dir is False:
        return compute()
    path = Path(cache_dir or data_home() / "stats") / f"{dataset.name}-{what}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npy", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        np.save(f, value, allow_pickle=False)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old state or the whole file
    return value


def _chunks(dataset, num_workers: int):
    """Yield uint8 batches (B, H, W, C) covering the dataset in order, decoded in threads."""
    height, width = dataset[0][0].shape[:2]
    step = max(1, _PIXELS_PER_CHUNK // (height * width))
    starts = range(0, len(dataset), step)
    with ThreadPoolExecutor(max(1, num_workers)) as pool:
        for images, _ in pool.map(lambda s: gather(dataset, range(s, min(s + step, len(dataset)))), starts):
            yield images


def mean_image(dataset, cache_dir=None, num_workers: int = 2) -> np.ndarray:
    """The mean of the training images, float32 (C, H, W) (§2: "subtracting the mean activity")."""
    def compute():
        total = None
        for images in _chunks(dataset, num_workers):
            part = images.sum(axis=0, dtype=np.float64)  # (H, W, C)
            total = part if total is None else total + part
        return (total / len(dataset)).transpose(2, 0, 1).astype(np.float32)
    return _cached(dataset, "mean", cache_dir, compute)


def rgb_covariance(dataset, cache_dir=None, num_workers: int = 2) -> np.ndarray:
    """Covariance (3, 3) float64 of the RGB values of all pixels of all training images (§4.1)."""
    channels = dataset[0][0].shape[-1]
    if channels != 3:
        raise ValueError(
            f"{dataset.name} has {channels}-channel images: PCA colour augmentation (§4.1) needs RGB; "
            "for greyscale data leave the lighting out"
        )

    def compute():
        count, total, outer = 0, np.zeros(3), np.zeros((3, 3))
        for images in _chunks(dataset, num_workers):
            pixels = images.reshape(-1, 3).astype(np.float64)
            count += len(pixels)
            total += pixels.sum(axis=0)
            outer += pixels.T @ pixels
        mean = total / count
        return outer / count - np.outer(mean, mean)
    return _cached(dataset, "rgbcov", cache_dir, compute)


def rgb_pca(dataset, cache_dir=None, num_workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (3,), largest first, and eigenvectors (3, 3), one per column, of the RGB covariance (§4.1)."""
    eigenvalues, eigenvectors = np.linalg.eigh(rgb_covariance(dataset, cache_dir, num_workers))
    order = np.argsort(eigenvalues)[::-1]
    return eigenvalues[order], eigenvectors[:, order]
