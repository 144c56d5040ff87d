"""Does the data pipeline keep up with training? Both measured in one run (§4.1).

    python -m benchmarks.feed_vs_train                          # AlexNet 227 px on cuda:0 (needs CuPy + a GPU)
    python -m benchmarks.feed_vs_train --data-dir gpu_carry/imagenette-mini/train --workers 4 8 12
    python -m benchmarks.feed_vs_train --device cpu --model alexnet-64 --batch 32 --batches 4   # a CPU run

§4.1 prepares the next batches on the CPU while the GPU trains on the current one, so that the
augmentation is "computationally free". That holds when the loader delivers at least as many
images per second as the training step consumes. Three figures, images per second:

* **loader alone**: :class:`tinyconv.data.DataLoader` with ``W`` background threads doing the
  training transforms of the paper (random crop, mirror, mean subtraction, PCA colour noise for
  RGB) from decoded uint8 images and copying each batch to the device, nothing else running;
* **training alone**: :func:`tinyconv.train.loop.train_epoch` (forward, loss, backward, §5 SGD
  update) on one batch already on the device, repeated;
* **training fed by the loader**: ``train_epoch`` on the loader's batches, as the training
  program runs it.

On a GPU each loader runs twice: with the crops made by the CPU threads (§4.1) and with
``transform_on_device`` (uint8 images copied to the GPU and cropped there, the CPU threads only
gathering them and drawing the random offsets). The column loader / tinyconv is the ratio that
matters: 1.0 or more means the pipeline keeps up. PyTorch/cuDNN's training step on the same model and
batch is timed too, since a pipeline that is to keep up with a tinyconv faster than PyTorch must also
keep up with PyTorch.

The stored images are 256 px for the 227 px AlexNet (§2) and, for the small members, the input
size plus an eighth of it on every side, as the training program pads them. ``--data-dir`` reads
real images (an ILSVRC-style class folder, decoded once before timing); otherwise random pixels,
which cost the transforms exactly as much.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from benchmarks.bench_transforms import pipeline
from benchmarks.common import environment_line, median_seconds, print_table
from benchmarks.torch_mirror import to_torch
from benchmarks.training_step import torch_runner
from tinyconv import backend, data, models
from tinyconv.optim import SGD
from tinyconv.train.datasets import default_pad
from tinyconv.train.guards import LossGuard
from tinyconv.train.loop import EpochProgress, train_epoch


class Repeat:
    """A loader stand-in: the same device batch ``count`` times (training with no pipeline behind it)."""

    def __init__(self, batch, count: int):
        self.batch, self.count = batch, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter([self.batch] * self.count)


def stored_images(args, input_size: int, channels: int, count: int):
    """(dataset of ``count`` images or fewer, training transform) at the size the training program stores them."""
    stored = 256 if input_size == 227 else input_size + 2 * default_pad(input_size)  # as train_alexnet.py pads
    if args.data_dir is None:
        return pipeline(stored, channels, input_size, count, np.random.default_rng(0))
    folder = data.ImageFolder(args.data_dir, resize=stored)
    folder.preload(num_workers=max(args.workers))
    images = np.stack([folder[i][0] for i in range(min(count, len(folder)))])
    dataset = data.ArrayDataset(images, np.asarray(folder.labels[:len(images)]), folder.classes, name="feed-bench")
    lighting = data.PCALighting(*data.rgb_pca(dataset, cache_dir=False)) if channels == 3 else None
    return dataset, data.RandomCropFlip(input_size, data.mean_image(dataset, cache_dir=False), lighting)


def images_per_second(run, images: int, sync) -> float:
    """``images`` / the median wall time of ``run()`` (one warm-up run; ``sync`` waits for the device)."""
    return images / median_seconds(run, repeat=3, warmup=1, sync=sync)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda:0", help="where training runs: cuda:N (default cuda:0) or cpu")
    parser.add_argument("--model", default="alexnet", help="a tinyconv.models name (default: the paper's AlexNet)")
    parser.add_argument("--batch", type=int, default=128, help="images per step (paper: 128)")
    parser.add_argument("--batches", type=int, default=40, help="batches per timed epoch (default 40)")
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8], help="loader threads to try")
    parser.add_argument("--data-dir", default=None, help="class folder of real images (default: random pixels)")
    parser.add_argument("--tf32", action="store_true", help="TF32 matrix products for both frameworks")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.tf32:
        os.environ["CUPY_TF32"] = "1"  # read by CuPy at its first float32 matrix product
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    dev = backend.device(args.device)
    sync = lambda: backend.synchronize(dev)  # noqa: E731
    model = models.create(args.model, 10)
    twin = to_torch(model)                 # the same weights, before they move to the device
    model.to(dev)
    channels, input_size, _ = model.input_shape
    dataset, transform = stored_images(args, input_size, channels, args.batch * args.batches)
    images = len(dataset) // args.batch * args.batch
    if images == 0:
        raise SystemExit(f"only {len(dataset)} images: fewer than one batch of {args.batch}")
    optimizer = SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    guard = LossGuard(model.num_classes, warn=lambda message: None)

    def train(loader):
        train_epoch(model, loader, optimizer, guard, EpochProgress(), epoch=1, show=False)

    def loader(workers, on_device=False):
        return data.DataLoader(dataset, args.batch, transform, seed=0, drop_last=True, num_workers=workers,
                               device=dev, transform_on_device=on_device)

    print(environment_line())
    print(f"{args.model} on {dev}, batch {args.batch}, {images // args.batch} batches per epoch, stored images "
          f"{dataset[0][0].shape[0]} px -> {input_size} px crops, {'real' if args.data_dir else 'random'} pixels, "
          f"{'TF32' if args.tf32 else 'fp32'}")
    first = next(iter(loader(0)))
    alone = images_per_second(lambda: train(Repeat(first, images // args.batch)), images, sync)
    x, labels = backend.to_numpy(first[0]), backend.to_numpy(first[1]).astype(np.int64)
    _, torch_step = torch_runner(twin, x, labels, device="cpu" if dev.kind == "cpu" else f"cuda:{dev.index}")
    torch_sync = (lambda: None) if dev.kind == "cpu" else torch.cuda.synchronize
    torch_rate = args.batch / median_seconds(torch_step, repeat=5, warmup=2, sync=torch_sync)

    rows = []
    for workers in args.workers:
        for on_device in (False, True) if dev.kind == "cuda" else (False,):
            feeder = loader(workers, on_device)
            feed = images_per_second(lambda: sum(len(y) for _, y in feeder), images, sync)
            fed = images_per_second(lambda: train(feeder), images, sync)
            rows.append([f"{workers} threads, crops on the {'GPU' if on_device else 'CPU'}", f"{feed:,.0f}",
                         f"{alone:,.0f}", f"{fed:,.0f}", f"{torch_rate:,.0f}", f"{feed / alone:.2f}",
                         f"{feed / torch_rate:.2f}"])
    print_table(f"Images per second: the §4.1 pipeline feeding {args.model} ({time.strftime('%Y-%m-%d')})",
                ["loader", "loader alone", "tinyconv training alone", "tinyconv training fed by the loader",
                 "PyTorch training alone", "loader / tinyconv", "loader / PyTorch"], rows)


if __name__ == "__main__":
    main()
