"""The dataset protocol shared by every tinyconv dataset, and the in-memory one.

A dataset has ``len(ds)``, ``ds[i] -> (image, label)`` with ``image`` a uint8
array (H, W, C) and ``label`` an int, ``ds.classes`` (names, in label order),
``ds.num_classes``, ``ds.labels`` (int64, all labels) and ``ds.name``, a string
that changes when the data changes (cached statistics such as the mean image,
§2, are stored under it). Datasets small enough to sit in memory also keep
``ds.images`` (N, H, W, C), which lets the loader gather a whole batch in one
NumPy operation.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np


def fingerprint_files(paths) -> str:
    """A short hash of file paths, sizes and modification times (changes when the data does)."""
    digest = hashlib.sha1()
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


class ArrayDataset:
    """Images (N, H, W, C) uint8 and labels (N,) int64 held in memory."""

    def __init__(self, images: np.ndarray, labels, classes, name: str):
        images = np.asarray(images)
        labels = np.asarray(labels, dtype=np.int64)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, H, W, C), got {images.dtype} {images.shape}")
        if labels.shape != images.shape[:1]:
            raise ValueError(f"{len(images)} images but labels of shape {labels.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(
                f"labels must lie in [0, {len(classes)}), got [{labels.min()}, {labels.max()}]"
            )
        self.images, self.labels = images, labels
        self.classes = tuple(classes)
        self.name = name

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images {self.images.shape[1:]}, {self.num_classes} classes)"


def gather(dataset, indices) -> tuple[np.ndarray, np.ndarray]:
    """Images (B, H, W, C) uint8 and labels (B,) int64 of ``dataset[indices]``.

    In-memory datasets (with an ``images`` array) take one NumPy gather; others
    are read item by item and stacked, which needs images of one size.
    """
    indices = np.asarray(indices, dtype=np.int64)
    images = getattr(dataset, "images", None)
    if isinstance(images, np.ndarray):
        return images[indices], np.asarray(dataset.labels)[indices]
    items = [dataset[i] for i in indices]
    shapes = {item[0].shape for item in items}
    if len(shapes) > 1:
        raise ValueError(
            f"images of {type(dataset).__name__} differ in size ({sorted(shapes)}), so they cannot "
            "form a batch: give the dataset a fixed size (e.g. ImageFolder(resize=256))"
        )
    return np.stack([item[0] for item in items]), np.asarray([item[1] for item in items], np.int64)
