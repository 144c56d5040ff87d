"""Batches for training and testing, prepared in background threads (§4.1).

"The transformed images are generated in Python code on the CPU while the GPU is
training on the previous batch of images" (§4.1). The :class:`DataLoader` does the
same: ``num_workers`` threads read, crop and augment the next batches while the
caller trains on the current one (NumPy and Pillow release the GIL while they
work), with at most ``2 * num_workers`` batches waiting. By default the number of
workers comes from the process's thread budget (:mod:`tinyconv.threads`), read
again at the start of each epoch.

Everything random is a pure function of ``(seed, epoch)``: the order of the
examples comes from ``default_rng([seed, epoch])`` and the augmentation of batch
b from ``default_rng([seed, epoch, rank, b])``, so the batches do not depend on
which thread finishes first, on the number of workers, or on whether the run was
resumed (call ``loader.set_epoch(e)`` before each epoch).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tinyconv import backend, threads
from tinyconv.data.dataset import gather


class DataLoader:
    """Yields ``(x, y)``: float32 (N, C, H, W) contiguous batches and int64 (N,) labels.

    ``transform`` has ``batch(images, rng)`` taking uint8 (N, H, W, C) (the
    transforms of :mod:`tinyconv.data.transforms`), or is called per image as
    ``transform(image, rng)``; without one the images become float32 NCHW as they
    are. ``rank`` / ``world_size`` split each epoch's shuffled order so that every
    example is seen exactly once per epoch across the ``world_size`` processes
    (rank r takes positions r, r + world_size, ...; shard sizes differ by at most
    one). ``device`` ("cpu" or "cuda:N") is where the batches are delivered.
    ``num_workers``: threads preparing batches (0: the caller's thread makes each batch when
    it is asked for); None (default): :func:`tinyconv.threads.loader_workers` for ``device``.

    ``transform_on_device=True`` copies the uint8 images to ``device`` and runs the transform's
    pixel work there (:func:`tinyconv.data.transforms.gather_crops`): a third of the bytes cross
    to the GPU (uint8 256 px images instead of float32 227 px crops) and the CPU threads only
    gather and draw the random offsets, flips and colour shifts, which come from the same
    generators, so the batches are the same as with the CPU doing it all (§4.1 did it on the CPU;
    this is for when the CPU cannot keep up with the GPU).
    """

    def __init__(self, dataset, batch_size: int, transform=None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, num_workers: int | None = None, device="cpu", rank: int = 0,
                 world_size: int = 1, transform_on_device: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, world_size={world_size}), got {rank}")
        if num_workers is not None and num_workers < 0:
            raise ValueError(f"num_workers must be 0 (no threads) or more, got {num_workers}")
        self.dataset, self.batch_size, self.transform = dataset, batch_size, transform
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.num_workers, self.rank, self.world_size = num_workers, rank, world_size
        self.device = backend.device(device)
        if transform_on_device and transform is not None and not hasattr(transform, "batch"):
            raise ValueError("transform_on_device=True needs a batch transform (RandomCropFlip, CenterCrop, TenCrop, "
                             f"or anything with .batch(images, rng)); {type(transform).__name__} works image by "
                             "image on the CPU: leave transform_on_device off for it")
        self.transform_on_device = transform_on_device and self.device.kind != "cpu"
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order and augmentation the next iteration uses."""
        self.epoch = epoch

    def indices(self) -> np.ndarray:
        """This rank's example indices for the current epoch, in order."""
        order = np.arange(len(self.dataset))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.dataset))
        return order[self.rank::self.world_size]

    def __len__(self) -> int:
        count = len(range(self.rank, len(self.dataset), self.world_size))
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def _make_batch(self, number: int, indices: np.ndarray):
        images, labels = gather(self.dataset, indices)
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, number])
        with self.device.context():
            if self.transform_on_device:
                images = backend.to_device(images, self.device)
            xp = backend.xp_of(images)
            if self.transform is None:
                x = images.transpose(0, 3, 1, 2).astype(xp.float32)
            elif hasattr(self.transform, "batch"):
                x = self.transform.batch(images, rng)
            else:
                x = np.stack([self.transform(image, rng) for image in images])
            return xp.ascontiguousarray(x, dtype=xp.float32), labels

    def _prepare(self, number: int, indices: np.ndarray):
        """A worker's job: make batch ``number`` and copy it to the loader's device. On a GPU the copy
        from host memory (79 MB for 128 AlexNet crops) then also happens while the caller trains."""
        return self._deliver(self._make_batch(number, indices))

    def _deliver(self, batch):
        x, y = batch
        if self.device.kind == "cpu":
            return x, y
        return backend.to_device(x, self.device), backend.to_device(y, self.device)

    def __iter__(self):
        order = self.indices()
        jobs = [(b, order[start:start + self.batch_size]) for b, start in
                enumerate(range(0, len(self) * self.batch_size, self.batch_size))]
        workers = threads.loader_workers(self.device.kind) if self.num_workers is None else self.num_workers
        if workers == 0:
            for number, indices in jobs:
                yield self._deliver(self._make_batch(number, indices))
            return
        pool = ThreadPoolExecutor(workers, thread_name_prefix="tinyconv-loader")
        pending = deque()
        try:
            for job in jobs:
                pending.append(pool.submit(self._prepare, *job))
                if len(pending) > 2 * workers:  # bounded prefetch
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # also runs when the caller stops early (break, exception, generator closed)
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)
