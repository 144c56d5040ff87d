"""Images per second of the paper's training transforms (§2, §4.1) on this machine.

    python -m benchmarks.bench_transforms                # from the repository root
    python -m benchmarks.bench_transforms --batch-size 256 --workers 0 2 4

Three pipelines, each a random crop + mirror + mean subtraction (+ PCA lighting for RGB):

* paper: 227x227 crops from 256x256 images already decoded and cached as uint8 (§2, §4.1);
* 32 px: 28x28 crops of 32x32 RGB images (CIFAR-10 size);
* 28 px: 24x24 crops of 28x28 greyscale images (Fashion-MNIST size, no PCA lighting).

"transform" times ``RandomCropFlip.batch`` alone on one thread; the ``loader`` columns
time a whole epoch of :class:`tinyconv.data.DataLoader` (gather, transform, contiguous
float32 NCHW batches) with that many background threads. Where real photos are found
in ``../shared/data/imagenette-mini``, the first-epoch JPEG decode rate of ImageFolder
(decode + resize to 256 + centre crop) is printed too. Pixel values do not change
the speed of these transforms, so the in-memory pipelines use random images.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import median_seconds, print_table
from tinyconv.data import ArrayDataset, DataLoader, ImageFolder, PCALighting, RandomCropFlip

IMAGENETTE_MINI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "imagenette-mini"
PIPELINES = [  # name, stored size, channels, crop size, number of images
    ("paper 256 -> 227, RGB + PCA", 256, 3, 227, 1024),
    ("32 px -> 28, RGB + PCA", 32, 3, 28, 20000),
    ("28 px -> 24, grey", 28, 1, 24, 20000),
]


def pipeline(size: int, channels: int, crop: int, count: int, rng):
    images = rng.integers(0, 256, (count, size, size, channels), dtype=np.uint8)
    dataset = ArrayDataset(images, np.zeros(count, np.int64), ["x"], name=f"bench-{size}")
    mean = images[:256].mean(axis=0).transpose(2, 0, 1).astype(np.float32)
    lighting = PCALighting([1800.0, 120.0, 30.0], np.linalg.qr(rng.normal(size=(3, 3)))[0]) if channels == 3 else None
    return dataset, RandomCropFlip(crop, mean, lighting)


def loader_rate(dataset, transform, batch_size: int, workers: int) -> float:
    loader = DataLoader(dataset, batch_size, transform, seed=0, num_workers=workers, drop_last=True)
    seconds = median_seconds(lambda: sum(len(y) for _, y in loader), repeat=3, warmup=1)
    return len(loader) * batch_size / seconds


def decode_rate(workers: int) -> float:
    folder = ImageFolder(IMAGENETTE_MINI / "train", resize=256)
    start = time.perf_counter()
    folder.preload(num_workers=workers)
    return len(folder) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for name, size, channels, crop, count in PIPELINES:
        dataset, transform = pipeline(size, channels, crop, count, rng)
        batch = dataset.images[:args.batch_size]
        seconds = median_seconds(lambda: transform.batch(batch, rng), repeat=5, warmup=1)
        rates = [loader_rate(dataset, transform, args.batch_size, w) for w in args.workers]
        rows.append([name, f"{args.batch_size / seconds:,.0f}"] + [f"{r:,.0f}" for r in rates])
    header = ["pipeline", "transform (1 thread)"] + [f"loader, {w} workers" for w in args.workers]
    print_table(f"Training transforms, images/s (batch {args.batch_size})", header, rows)
    if IMAGENETTE_MINI.is_dir():
        rows = [[f"{w} threads", f"{decode_rate(w):,.0f}"] for w in args.workers if w > 0]
        print_table("First epoch: JPEG decode + resize 256 + centre crop, images/s", ["decode", "images/s"], rows)


if __name__ == "__main__":
    main()
