"""The whole §2 + §4.1 pipeline over real ImageNet pictures (../shared/data/imagenette-mini)."""
import numpy as np
import pytest
from PIL import Image

from tinyconv.data import DataLoader, ImageFolder, PCALighting, RandomCropFlip, TenCrop, mean_image, rgb_pca
from tinyconv.data.imagenette import CLASS_NAMES

from data_builders import IMAGENETTE_MINI

pytestmark = pytest.mark.skipif(
    not IMAGENETTE_MINI.is_dir(),
    reason=f"real test images not found at {IMAGENETTE_MINI} (clone the repo with shared/ beside it)",
)


@pytest.fixture(scope="module")
def train():
    return ImageFolder(IMAGENETTE_MINI / "train", class_names=CLASS_NAMES, resize=256)


@pytest.fixture(scope="module")
def stats(train, tmp_path_factory):
    """Mean image and RGB PCA of the training images, computed once (and cached) for this module."""
    cache = tmp_path_factory.mktemp("stats")
    mean = mean_image(train, cache_dir=cache)
    assert (cache / f"{train.name}-mean.npy").is_file()
    return mean, rgb_pca(train, cache_dir=cache)


def test_imagenette_mini_reads_as_ten_balanced_classes(train):
    assert len(train) == 800 and train.classes[0] == "tench" and train.classes[-1] == "parachute"
    np.testing.assert_array_equal(np.bincount(train.labels), [80] * 10)
    grey = [i for i, path in enumerate(train.files) if Image.open(path).mode == "L"]
    assert grey, "the sample is known to hold greyscale JPEGs"
    image, _ = train[grey[0]]
    assert image.shape == (256, 256, 3)
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()


def test_paper_statistics_of_real_photos(stats):
    mean, (eigenvalues, eigenvectors) = stats
    assert mean.shape == (3, 256, 256) and 60 < mean.mean() < 190
    # natural images: one dominant brightness axis (all channels together), then colour axes
    assert eigenvalues[0] > 5 * eigenvalues[1] > 5 * eigenvalues[2] > 0
    brightness = eigenvectors[:, 0] * np.sign(eigenvectors[0, 0])
    np.testing.assert_allclose(brightness, 1 / np.sqrt(3), atol=0.1)


def test_training_and_test_batches_at_paper_size(train, stats):
    mean, lighting = stats[0], PCALighting(*stats[1])
    loader = DataLoader(train, 100, RandomCropFlip(227, mean, lighting), seed=0, num_workers=2)
    labels, total = [], 0.0
    for x, y in loader:
        assert x.shape == (100, 3, 227, 227) and x.dtype == np.float32 and x.flags.c_contiguous
        assert np.isfinite(x).all()
        labels.append(y)
        total += x.sum(dtype=np.float64)
    np.testing.assert_array_equal(np.bincount(np.concatenate(labels)), [80] * 10)  # one epoch: each once
    assert abs(total / (800 * 3 * 227 * 227)) < 5  # mean subtracted: inputs centred on zero (§2)

    val = ImageFolder(IMAGENETTE_MINI / "val", class_names=CLASS_NAMES, resize=256)
    x, y = next(iter(DataLoader(val, 6, TenCrop(227, mean), shuffle=False)))
    assert x.shape == (6, 10, 3, 227, 227) and (y == 0).all()
    np.testing.assert_array_equal(x[:, 5:], x[:, :5, :, :, ::-1])
