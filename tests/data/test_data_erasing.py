"""Random erasing (Zhong et al. 2017; ``--erase``): which crops, which rectangles, nothing else touched."""
import numpy as np
import pytest

from tinyconv.data import RandomCropFlip, RandomErasing


def test_boxes_are_drawn_for_the_asked_share_of_crops_and_fit_inside_with_the_asked_areas():
    erasing = RandomErasing(0.5)
    boxes = erasing.boxes(20000, 28, 24, np.random.default_rng(0))
    image, top, left, h, w = boxes.T
    assert 0.48 < len(boxes) / 20000 < 0.52
    assert len(np.unique(image)) == len(boxes)                     # at most one rectangle a crop
    assert top.min() >= 0 and left.min() >= 0 and (top + h).max() <= 28 and (left + w).max() <= 24
    share = h * w / (28 * 24)
    assert share.min() > 0.01 and share.max() < 0.45               # 2-40%, give or take the rounding
    assert 0.15 < np.median(share) < 0.25                           # uniform in area: median near 0.21
    ratio = h / w
    assert ratio.min() >= 0.2 and ratio.max() <= 1 / 0.2           # 0.3-3.3, give or take the rounding
    assert (ratio > 1).mean() == pytest.approx(0.5, abs=0.05)       # log-uniform: as many tall as wide


def test_erasing_zeroes_exactly_the_drawn_rectangles_in_every_channel():
    batch = np.random.default_rng(1).uniform(1, 2, (64, 3, 16, 16)).astype(np.float32)  # no zero anywhere
    boxes = RandomErasing(0.5).boxes(64, 16, 16, np.random.default_rng(2))
    out = RandomErasing(0.5)(batch.copy(), np.random.default_rng(2))
    expected = batch.copy()
    for m, top, left, h, w in boxes:
        expected[m, :, top:top + h, left:left + w] = 0
    np.testing.assert_array_equal(out, expected)
    untouched = np.setdiff1d(np.arange(64), boxes[:, 0])
    assert len(untouched) > 10
    np.testing.assert_array_equal(out[untouched], batch[untouched])


def test_crops_with_erasing_are_the_same_crops_with_a_rectangle_of_mean_image():
    images = np.random.default_rng(3).integers(0, 256, (32, 30, 30, 1), dtype=np.uint8)
    mean = images.mean(axis=0).transpose(2, 0, 1).astype(np.float32)       # (1, 30, 30)
    plain = RandomCropFlip(28, mean).batch(images, np.random.default_rng(4))
    erased = RandomCropFlip(28, mean, erasing=RandomErasing(1.0)).batch(images, np.random.default_rng(4))
    changed = erased != plain
    assert changed.reshape(32, -1).any(axis=1).all()               # probability 1: every crop lost a rectangle
    assert np.all(erased[changed] == 0)                             # what changed became the mean image (0)


@pytest.mark.parametrize("options, message", [
    (dict(probability=0.0), r"probability in \(0, 1\]"),
    (dict(probability=1.5), r"probability in \(0, 1\]"),
    (dict(area=(0.4, 0.02)), "smallest <= largest area"),
    (dict(aspect=2.0), r"aspect ratio bound in \(0, 1\]"),
])
def test_bad_settings_are_refused_with_what_is_allowed(options, message):
    with pytest.raises(ValueError, match=message):
        RandomErasing(**options)


def test_batches_that_are_not_numpy_crops_are_refused():
    with pytest.raises(TypeError, match="leave out --augment-on-gpu"):
        RandomErasing(0.5)([[0.0]], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        RandomErasing(0.5)(np.zeros((3, 8, 8), np.float32), np.random.default_rng(0))
