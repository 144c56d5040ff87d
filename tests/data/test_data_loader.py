"""DataLoader: batch layout, determinism from (seed, epoch), sharding, prefetch threads (§4.1)."""
import threading

import numpy as np
import pytest

from tinyconv import backend
from tinyconv.data import ArrayDataset, CenterCrop, DataLoader, ImageFolder, RandomCropFlip


def numbered(n=103, size=6):
    """A dataset whose image i is filled with i % 256 and whose label is i % 7."""
    images = np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None, None], (n, size, size, 3))
    return ArrayDataset(np.ascontiguousarray(images), np.arange(n) % 7, [str(c) for c in range(7)], name="numbered")


def collect(loader, epoch=0):
    loader.set_epoch(epoch)
    return [(x.copy(), y.copy()) for x, y in loader]


def test_batches_are_contiguous_float32_nchw_with_int64_labels():
    loader = DataLoader(numbered(), 16, RandomCropFlip(4), seed=0)
    batches = collect(loader)
    assert len(batches) == len(loader) == 7
    x, y = batches[0]
    assert x.shape == (16, 3, 4, 4) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.dtype == np.int64 and y.shape == (16,)
    assert batches[-1][0].shape[0] == 103 - 6 * 16
    np.testing.assert_array_equal(x[:, 0, 0, 0] % 7, y)  # images and labels stay paired


def test_no_transform_gives_the_images_as_float_nchw():
    x, y = next(iter(DataLoader(numbered(), 5, shuffle=False)))
    np.testing.assert_array_equal(x, np.arange(5, dtype=np.float32)[:, None, None, None] * np.ones((1, 3, 6, 6)))


def test_same_seed_and_epoch_give_the_same_batches_with_or_without_workers():
    ds, transform = numbered(), RandomCropFlip(4)
    reference = collect(DataLoader(ds, 10, transform, seed=5, num_workers=0), epoch=3)
    for workers in (1, 3):
        again = collect(DataLoader(ds, 10, transform, seed=5, num_workers=workers), epoch=3)
        for (xa, ya), (xb, yb) in zip(reference, again, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_a_resumed_run_sees_the_epoch_it_resumes_at():
    ds, transform = numbered(), RandomCropFlip(4)
    first = DataLoader(ds, 10, transform, seed=5)
    run = [collect(first, epoch) for epoch in range(3)]
    resumed = collect(DataLoader(ds, 10, transform, seed=5), epoch=2)
    for (xa, _), (xb, _) in zip(run[2], resumed, strict=True):
        np.testing.assert_array_equal(xa, xb)
    order = lambda batches: np.concatenate([x[:, 0, 0, 0] for x, _ in batches])
    assert not np.array_equal(order(run[0]), order(run[1]))  # epochs reshuffle
    assert not np.array_equal(order(run[0]), order(collect(DataLoader(ds, 10, transform, seed=6))))


def test_shuffle_off_keeps_dataset_order():
    xs = [x[:, 0, 0, 0] for x, _ in DataLoader(numbered(), 10, shuffle=False)]
    np.testing.assert_array_equal(np.concatenate(xs), np.arange(103) % 256)


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_shards_cover_every_example_exactly_once(world_size):
    ds = ArrayDataset(np.zeros((103, 1, 1, 1), np.uint8), np.arange(103) % 7, list("abcdefg"), name="z")
    seen = []
    for rank in range(world_size):
        loader = DataLoader(ds, 8, seed=1, rank=rank, world_size=world_size)
        loader.set_epoch(4)
        shard = loader.indices()
        assert abs(len(shard) - 103 / world_size) < 1
        assert sum(len(y) for _, y in loader) == len(shard)
        seen.append(shard)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(103))


def test_drop_last():
    loader = DataLoader(numbered(), 16, drop_last=True)
    assert len(loader) == 6 and all(len(y) == 16 for _, y in loader)


def test_stopping_early_shuts_the_workers_down():
    before = {t for t in threading.enumerate() if t.name.startswith("tinyconv-loader")}
    loader = DataLoader(numbered(1000), 4, RandomCropFlip(4), num_workers=3)
    iterator = iter(loader)
    next(iterator)
    assert any(t.name.startswith("tinyconv-loader") for t in threading.enumerate())
    iterator.close()  # what `break` in a for loop does once the generator is released
    after = {t for t in threading.enumerate() if t.name.startswith("tinyconv-loader")}
    assert after <= before


def test_per_image_transform_and_file_datasets(image_folder):
    ds = ImageFolder(image_folder, resize=8)
    per_image = lambda image, rng: CenterCrop(6)(image)  # a callable without .batch
    x, y = next(iter(DataLoader(ds, 4, per_image, shuffle=False)))
    assert x.shape == (4, 3, 6, 6)
    np.testing.assert_array_equal(x[1], CenterCrop(6)(ds[1][0]))
    np.testing.assert_array_equal(y, ds.labels[:4])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="rank"):
        DataLoader(numbered(), 4, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered(), 0)
    with pytest.raises(ValueError, match="unknown device"):
        DataLoader(numbered(), 4, device="tpu")


def test_batches_arrive_on_the_requested_device(device):
    x, y = next(iter(DataLoader(numbered(), 8, RandomCropFlip(4), device=device)))
    assert str(backend.device_of(x)) == device and str(backend.device_of(y)) == device
    assert x.dtype == np.float32 and x.shape == (8, 3, 4, 4)


@pytest.mark.parametrize("transform", [RandomCropFlip(4, mean=np.full((3, 6, 6), 9.5, np.float32)), CenterCrop(4)])
def test_transforms_on_the_device_give_the_cpus_batches(device, transform):
    """transform_on_device moves the pixel work to the GPU (uint8 copied over); the batches stay the same."""
    on_host = DataLoader(numbered(), 16, transform, seed=2, device=device, num_workers=2)
    on_device = DataLoader(numbered(), 16, transform, seed=2, device=device, num_workers=2, transform_on_device=True)
    for (xh, yh), (xd, yd) in zip(on_host, on_device, strict=True):
        assert str(backend.device_of(xd)) == device and xd.dtype == np.float32 and xd.flags.c_contiguous
        np.testing.assert_array_equal(backend.to_numpy(xd), backend.to_numpy(xh))
        np.testing.assert_array_equal(backend.to_numpy(yd), backend.to_numpy(yh))


def test_transform_on_device_needs_a_batch_transform():
    with pytest.raises(ValueError, match="batch transform"):
        DataLoader(numbered(), 4, lambda image, rng: image, transform_on_device=True)
