"""Crops, flips, ten-crop geometry, mean subtraction (§2), PCA lighting (§4.1), and the statistics."""
import numpy as np
import pytest

from tinyconv.data import (
    ArrayDataset,
    CenterCrop,
    PCALighting,
    RandomCropFlip,
    TenCrop,
    crop,
    gather_crops,
    mean_image,
    resize_center_crop,
    rgb_covariance,
    rgb_pca,
)

H, W, S = 10, 12, 4


def position_images(n=1, h=H, w=W):
    """Arange-style images (n, h, w, 3): red = row y, green = column x, blue = image index."""
    images = np.zeros((n, h, w, 3), np.uint8)
    images[..., 0] = np.arange(h)[None, :, None]
    images[..., 1] = np.arange(w)[None, None, :]
    images[..., 2] = np.arange(n)[:, None, None]
    return images


def test_crop_takes_the_window_and_transposes_to_chw():
    images = position_images(2)
    out = crop(images, top=[2, 5], left=[3, 0], size=S)
    assert out.shape == (2, 3, S, S) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out[0, 0], np.repeat(np.arange(2, 6)[:, None], S, axis=1))  # rows y=2..5
    np.testing.assert_array_equal(out[0, 1], np.repeat(np.arange(3, 7)[None, :], S, axis=0))  # cols x=3..6
    np.testing.assert_array_equal(out[1, 0, :, 0], np.arange(5, 9))
    np.testing.assert_array_equal(out[1, 2], 1)  # from image 1


def test_flip_mirrors_left_right():
    images = position_images()
    out = crop(images, [1], [2], S, flip=[True])
    np.testing.assert_array_equal(out[0, 1, 0], [5, 4, 3, 2])  # columns 2..5 reversed
    np.testing.assert_array_equal(out[0, 0, :, 0], [1, 2, 3, 4])  # rows unchanged


def test_random_crops_cover_every_offset_and_flip_half_the_time():
    transform = RandomCropFlip(S)
    out = transform.batch(position_images(4000), np.random.default_rng(0))
    top, left_of_first_col = out[:, 0, 0, 0], out[:, 1, 0, 0]
    flipped = left_of_first_col > out[:, 1, 0, -1]
    left = np.where(flipped, out[:, 1, 0, -1], left_of_first_col)
    assert set(top.astype(int)) == set(range(H - S + 1)) and set(left.astype(int)) == set(range(W - S + 1))
    assert 0.45 < flipped.mean() < 0.55
    # each crop is a real window: consecutive rows and columns
    np.testing.assert_array_equal(out[:, 0, :, 0] - top[:, None], np.arange(S)[None].repeat(4000, 0))
    step = np.where(flipped, -1, 1)[:, None]
    np.testing.assert_array_equal(out[:, 1, 0, :] - out[:, 1, 0, :1], step * np.arange(S)[None])


def test_same_generator_state_gives_the_same_crops():
    images = position_images(50)
    a = RandomCropFlip(S).batch(images, np.random.default_rng(3))
    b = RandomCropFlip(S).batch(images, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    one = RandomCropFlip(S)(images[0], np.random.default_rng(3))
    assert one.shape == (3, S, S)


def test_mean_is_subtracted_at_the_same_window_and_mirror():
    images = position_images(300)
    mean = (images[0].transpose(2, 0, 1) / 2).astype(np.float32)  # half of every image's (y, x) values
    out = RandomCropFlip(S, mean=mean).batch(images, np.random.default_rng(1))
    plain = RandomCropFlip(S).batch(images, np.random.default_rng(1))
    np.testing.assert_array_equal(out[:, :2], plain[:, :2] / 2)  # (v - v/2) only if windows agree


def test_center_crop_and_whole_image():
    images = position_images(2)
    out = CenterCrop(S).batch(images)
    np.testing.assert_array_equal(out[:, 0, 0, 0], (H - S) // 2)
    np.testing.assert_array_equal(out[:, 1, 0, 0], (W - S) // 2)
    whole = CenterCrop(None)(position_images(1, 6, 6)[0])
    np.testing.assert_array_equal(whole, position_images(1, 6, 6)[0].transpose(2, 0, 1))


def test_ten_crop_geometry():
    images = position_images(2)
    out = TenCrop(S).batch(images)
    assert out.shape == (2, 10, 3, S, S)
    corners = [(0, 0), (0, W - S), (H - S, 0), (H - S, W - S), ((H - S) // 2, (W - S) // 2)]
    for k, (y, x) in enumerate(corners):
        np.testing.assert_array_equal(out[:, k, 0, :, 0], np.arange(y, y + S)[None].repeat(2, 0))
        np.testing.assert_array_equal(out[:, k, 1, 0, :], np.arange(x, x + S)[None].repeat(2, 0))
        np.testing.assert_array_equal(out[:, 5 + k], out[:, k, :, :, ::-1])  # the mirrored five
    np.testing.assert_array_equal(out[1, :, 2], 1)
    np.testing.assert_array_equal(TenCrop(S)(images[1]), out[1])


def _random_rotation(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q


def test_pca_lighting_shift_has_the_eigen_covariance():
    # §4.1 with standard deviations: shift = P @ (alpha * sqrt(l)), alpha ~ N(0, 0.1), so
    # Cov(shift) = 0.01 * P diag(l) P^T. Measured on the transform's output: a constant
    # image comes back as constant-per-channel planes offset by the shift.
    rng = np.random.default_rng(7)
    eigenvectors, eigenvalues = _random_rotation(rng), np.array([900.0, 100.0, 25.0])
    transform = RandomCropFlip(2, lighting=PCALighting(eigenvalues, eigenvectors), flip=False)
    images = np.full((20000, 2, 2, 3), 100, np.uint8)
    out = transform.batch(images, np.random.default_rng(0))
    shifts = out[:, :, 0, 0] - 100
    np.testing.assert_allclose(out - 100, np.broadcast_to(shifts[:, :, None, None], out.shape), atol=1e-4)
    expected = 0.01 * eigenvectors @ np.diag(eigenvalues) @ eigenvectors.T
    np.testing.assert_allclose(np.cov(shifts.T), expected, atol=0.03 * 0.01 * 900)
    np.testing.assert_allclose(shifts.mean(axis=0), 0, atol=0.1)
    # the spread along each principal axis is 0.1 * sqrt(eigenvalue) levels, not 0.1 * eigenvalue
    np.testing.assert_allclose((shifts @ eigenvectors).std(axis=0), 0.1 * np.sqrt(eigenvalues), rtol=0.03)


def test_pca_lighting_draws_fresh_alphas_each_time():
    lighting = PCALighting([4.0, 2.0, 1.0], np.eye(3))
    rng = np.random.default_rng(0)
    assert not np.allclose(lighting.shifts(5, rng), lighting.shifts(5, rng))


def test_pca_lighting_refuses_greyscale():
    with pytest.raises(ValueError, match="greyscale"):
        RandomCropFlip(2, lighting=PCALighting([1.0, 1.0, 1.0], np.eye(3))).batch(
            np.zeros((1, 4, 4, 1), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="greyscale"):
        PCALighting([1.0], np.eye(1))


def test_resize_center_crop_arrays_rgb_and_grey():
    grey = np.zeros((30, 60, 1), np.uint8)
    grey[:, 15:45] = 200
    out = resize_center_crop(grey, 10)
    assert out.shape == (10, 10, 1)
    np.testing.assert_array_equal(out[:, 1:-1], 200)
    assert resize_center_crop(np.zeros((50, 20, 3), np.uint8), 7).shape == (7, 7, 3)


def test_crop_larger_than_image_and_mismatched_mean_are_errors():
    with pytest.raises(ValueError, match="larger than the images"):
        CenterCrop(20).batch(position_images())
    with pytest.raises(ValueError, match="mean image is"):
        CenterCrop(S, mean=np.zeros((3, 5, 5), np.float32)).batch(position_images())


def _dataset(images, name):
    return ArrayDataset(images, np.zeros(len(images), np.int64), ["only"], name=name)


def test_mean_image_is_the_pixelwise_mean_and_is_cached(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (37, 5, 6, 3), dtype=np.uint8)
    ds = _dataset(images, "toy-mean")
    mean = mean_image(ds, cache_dir=tmp_path)
    assert mean.shape == (3, 5, 6) and mean.dtype == np.float32
    np.testing.assert_allclose(mean, images.mean(axis=0).transpose(2, 0, 1), rtol=1e-6)
    cached = tmp_path / "toy-mean-mean.npy"
    np.save(cached, np.full((3, 5, 6), 7.0, np.float32))  # a second call must read the cache
    np.testing.assert_array_equal(mean_image(ds, cache_dir=tmp_path), 7.0)


def test_rgb_pca_matches_numpy_covariance(tmp_path):
    rng = np.random.default_rng(0)
    mix = np.array([[1.0, 0.5, 0.2], [0.0, 0.8, 0.3], [0.0, 0.0, 0.4]])
    pixels = np.clip(rng.normal(size=(20 * 8 * 8, 3)) @ mix * 40 + 128, 0, 255).astype(np.uint8)
    ds = _dataset(pixels.reshape(20, 8, 8, 3), "toy-pca")
    expected = np.cov(pixels.astype(np.float64).T, bias=True)
    np.testing.assert_allclose(rgb_covariance(ds, cache_dir=tmp_path), expected, rtol=1e-9)
    eigenvalues, eigenvectors = rgb_pca(ds, cache_dir=tmp_path)
    assert eigenvalues[0] >= eigenvalues[1] >= eigenvalues[2] > 0
    np.testing.assert_allclose(eigenvectors @ np.diag(eigenvalues) @ eigenvectors.T, expected, rtol=1e-9)


def test_rgb_pca_refuses_greyscale_datasets():
    with pytest.raises(ValueError, match="needs RGB"):
        rgb_pca(_dataset(np.zeros((2, 4, 4, 1), np.uint8), "grey"), cache_dir=False)


@pytest.mark.parametrize("channels, height, width, size", [(3, 40, 44, 32), (1, 34, 34, 28), (3, 9, 9, 9)])
def test_gather_crops_equals_crop_to_the_last_bit(channels, height, width, size):
    """The whole-batch gather (the GPU form) against the per-crop loop: crops, mirrors, mean, shift, index."""
    rng = np.random.default_rng(channels * 100 + size)
    images = rng.integers(0, 256, (6, height, width, channels), dtype=np.uint8)
    m = 15
    top = rng.integers(0, height - size + 1, m)
    left = rng.integers(0, width - size + 1, m)
    flip, index = rng.random(m) < 0.5, rng.integers(0, 6, m)
    mean = rng.normal(120, 30, (channels, height, width)).astype(np.float32)
    shift = rng.normal(0, 5, (m, channels)).astype(np.float32)
    for kwargs in ({}, {"mean": mean}, {"mean": mean, "shift": shift}):
        expected = crop(images, top, left, size, flip, index, **kwargs)
        got = gather_crops(np, images, top, left, size, flip, index, **kwargs)
        assert got.shape == expected.shape and got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, expected)
