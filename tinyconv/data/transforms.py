"""The paper's image preprocessing (§2) and data augmentation (§4.1).

§2: every image is rescaled so its shorter side is 256 px and the central
256x256 patch is kept; the only other preprocessing is subtracting the mean
image of the training set from each pixel (raw RGB values, no division).

§4.1: training uses random 224x224 patches (227x227 here, which gives the 55x55
conv1 maps without padding) and their horizontal reflections, plus "PCA colour
augmentation": each time an image is used, the RGB shift
``[p1 p2 p3] @ [a1*s1, a2*s2, a3*s3]`` is added to every pixel, with p_i and
s_i**2 the eigenvectors and eigenvalues of the 3x3 covariance of RGB values over
the training set and a_i ~ N(0, 0.1) drawn per image. The paper writes the
eigenvalues l_i where we write the standard deviations s_i = sqrt(l_i): this is
what cuda-convnet2 (the authors' code) does, and it keeps the shift in pixel units
(about a tenth of the spread of colours along each axis). With raw eigenvalues of
0-255 values the shift is hundreds of levels and training stays at chance.

Testing uses the centre crop, or the ten crops (four corners, centre, and their
reflections) whose softmax outputs are averaged (§4.1).

Every transform takes uint8 images (H, W, C) -- or batches (N, H, W, C) through
``.batch`` -- and returns float32 (C, S, S) or (N, C, S, S); the crop size S is a
parameter, so the same code serves 28, 32, 64 and 227 px data.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from tinyconv import backend


def resize_center_crop(image, size: int) -> np.ndarray:
    """Shorter side to ``size`` px, then the central ``size`` x ``size`` square, as uint8 (size, size, C) (§2).

    ``image`` is a PIL image or a uint8 array (H, W, C) with C = 1 or 3. Resizing
    uses bilinear interpolation (with Pillow's antialiasing when shrinking) of just
    the central square of the original, which is the same as resizing then cropping.
    """
    channels = 3
    if isinstance(image, np.ndarray):
        channels = image.shape[-1]
        image = Image.fromarray(image[..., 0] if channels == 1 else image)
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    out = image.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side))
    return np.asarray(out).reshape(size, size, channels)


def crop(images: np.ndarray, top, left, size: int, flip=None, index=None, mean=None, shift=None) -> np.ndarray:
    """Gather ``size`` x ``size`` crops of a uint8 batch (N, H, W, C) into float32 (M, C, size, size).

    Crop m is ``images[index[m], top[m]:top[m]+size, left[m]:left[m]+size]``
    (``index`` defaults to 0..M-1), mirrored left-right where ``flip[m]``, minus the
    same window of ``mean`` (C, H, W) if given, plus ``shift[m]`` (C,) if given.
    One pass per crop does the HWC->CHW transpose, the cast, the mean and the shift
    while the crop is in cache. Measured on a 2-core CPU against one whole-batch
    gather over a sliding-window view (RGB): 3-6x faster at 32 to 227 px, 1.4x
    slower at 28 px, so this one loop serves every size on the CPU. ``images`` on a
    GPU (uint8, copied there 3x smaller than the float32 crops) go to
    :func:`gather_crops` instead, which does the same in a few whole-batch kernels.
    """
    top, left = np.asarray(top), np.asarray(left)
    index = np.arange(len(top)) if index is None else np.asarray(index)
    flip = np.zeros(len(top), bool) if flip is None else np.asarray(flip, bool)
    _, height, width, channels = images.shape
    if size > height or size > width:
        raise ValueError(f"crop size {size} is larger than the images ({height}x{width})")
    if mean is not None and mean.shape != (channels, height, width):
        raise ValueError(
            f"mean image is {mean.shape} (C, H, W) but the images are {images.shape[1:]} (H, W, C): "
            "compute the mean over images of the same size"
        )
    if not isinstance(images, np.ndarray):  # a device (CuPy) batch: one gather for the whole batch
        return gather_crops(backend.xp_of(images), images, top, left, size, flip, index, mean, shift)
    out = np.empty((len(top), channels, size, size), np.float32)  # (M, C, s, s)
    for m, (i, y, x, mirror) in enumerate(zip(index, top, left, flip)):
        step = -1 if mirror else 1  # a mirrored crop reads its columns backwards
        window = images[i, y:y + size, x:x + size].transpose(2, 0, 1)[..., ::step]  # (C, s, s) view
        if mean is None:
            out[m] = window
        else:
            np.subtract(window, mean[:, y:y + size, x:x + size][..., ::step], out=out[m])
        if shift is not None:
            out[m] += shift[m][:, None, None]
    return out


def gather_crops(xp, images, top, left, size: int, flip, index, mean=None, shift=None):
    """:func:`crop` for a whole batch at once with array module ``xp``: the GPU form of §4.1's crops.

    The same crops, mirrors, mean and shifts as :func:`crop` (equal to the last bit, which
    ``tests/data/test_data_transforms.py`` checks on NumPy), as index arithmetic: the rows of
    crop m are ``top[m] + 0..size-1``, its columns ``left[m] + 0..size-1``, read backwards where
    ``flip[m]``; one fancy-indexing gather takes every crop's pixels and the mean image's same
    windows. ``mean`` is (C, H, W) float32 and ``shift`` (M, C), host or ``xp`` arrays.
    """
    steps = xp.arange(size)
    rows = xp.asarray(top)[:, None] + steps                                  # (M, s)
    flip = xp.asarray(flip)[:, None]
    cols = xp.asarray(left)[:, None] + xp.where(flip, size - 1 - steps, steps)  # (M, s), mirrored where flip
    rows, cols = rows[:, :, None], cols[:, None, :]                           # broadcast to (M, s, s)
    pixels = images[xp.asarray(index)[:, None, None], rows, cols]              # (M, s, s, C) uint8
    out = xp.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=xp.float32)  # (M, C, s, s)
    if mean is not None:
        out -= xp.asarray(mean)[:, rows, cols].transpose(1, 0, 2, 3)          # (C, M, s, s) -> (M, C, s, s)
    if shift is not None:
        out += xp.asarray(shift)[:, :, None, None]
    return out


def ten_crop_offsets(height: int, width: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top, left, flip) of the ten test crops: 4 corners and centre, then the same mirrored (§4.1)."""
    dy, dx = height - size, width - size
    top = np.array([0, 0, dy, dy, dy // 2] * 2)
    left = np.array([0, dx, 0, dx, dx // 2] * 2)
    flip = np.repeat([False, True], 5)
    return top, left, flip


class PCALighting:
    """The PCA colour shift of §4.1: ``eigenvectors @ (alpha * sqrt(eigenvalues))``, alpha ~ N(0, alpha_std).

    ``eigenvalues`` (3,) and ``eigenvectors`` (3, 3) (columns are the components)
    of the covariance of RGB values, as from :func:`tinyconv.data.rgb_pca`. The
    square roots make the shift a fraction of the standard deviation along each
    principal axis (see the module docstring). RGB only: for greyscale data there
    is no colour to shift, and using it there raises ``ValueError``.
    """

    def __init__(self, eigenvalues, eigenvectors, alpha_std: float = 0.1):
        self.eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
        self.eigenvectors = np.asarray(eigenvectors, dtype=np.float64)
        if self.eigenvalues.shape != (3,) or self.eigenvectors.shape != (3, 3):
            raise ValueError(
                "PCA lighting needs the 3 eigenvalues and 3x3 eigenvectors of the RGB covariance, got "
                f"{self.eigenvalues.shape} and {self.eigenvectors.shape}; it does not apply to greyscale data"
            )
        self.alpha_std = alpha_std

    def shifts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """One RGB shift per image, (n, 3) float32, with fresh alphas from ``rng``."""
        alpha = rng.normal(0.0, self.alpha_std, size=(n, 3))
        stds = np.sqrt(np.maximum(self.eigenvalues, 0.0))
        return ((alpha * stds) @ self.eigenvectors.T).astype(np.float32)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Add a fresh shift to each image of a float batch (N, 3, H, W), in place; returns it."""
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"PCA lighting needs RGB batches (N, 3, H, W), got {batch.shape}")
        batch += self.shifts(len(batch), rng)[:, :, None, None]
        return batch


class _Crops:
    """Shared by the crop transforms: single images go through the batch path."""

    def __init__(self, size: int | None, mean=None):
        self.size = size
        self.mean = None if mean is None else np.ascontiguousarray(mean, dtype=np.float32)  # (C, H, W)
        self._device_means = {}  # device -> the mean image copied there once (crops made on a GPU)

    def mean_for(self, images):
        """The mean image on the device of ``images``: ``mean`` itself on the CPU, a copy kept per GPU."""
        if self.mean is None or isinstance(images, np.ndarray):
            return self.mean
        dev = backend.device_of(images)
        if dev not in self._device_means:
            self._device_means[dev] = backend.to_device(self.mean, dev)
        return self._device_means[dev]

    def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.batch(image[None], rng)[0]


class RandomCropFlip(_Crops):
    """Training transform (§4.1): random ``size`` crop, random mirror, minus the mean image (§2), PCA lighting.

    ``mean`` is the training set's mean image, float32 (C, H, W) at the size of the
    stored images; ``lighting`` a :class:`PCALighting` or None; ``flip=False`` turns
    mirroring off; ``erasing`` a :class:`~tinyconv.data.erasing.RandomErasing` (not in the
    paper) or None.
    """

    def __init__(self, size: int, mean=None, lighting: PCALighting | None = None, flip: bool = True,
                 erasing=None):
        super().__init__(size, mean)
        self.lighting, self.flip, self.erasing = lighting, flip, erasing

    def batch(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """uint8 (N, H, W, C) -> float32 (N, C, size, size) with fresh randomness from ``rng``."""
        n, height, width, channels = images.shape
        if self.lighting is not None and channels != 3:
            raise ValueError(
                f"PCA lighting (§4.1) shifts RGB colours, but these images have {channels} channel(s): "
                "build RandomCropFlip without lighting for greyscale data"
            )
        top = rng.integers(0, height - self.size + 1, size=n)
        left = rng.integers(0, width - self.size + 1, size=n)
        flip = rng.random(n) < 0.5 if self.flip else None
        shift = self.lighting.shifts(n, rng) if self.lighting is not None else None
        crops = crop(images, top, left, self.size, flip, mean=self.mean_for(images), shift=shift)
        return crops if self.erasing is None else self.erasing(crops, rng)


class CenterCrop(_Crops):
    """Test transform: the central ``size`` crop minus the mean image; ``size=None`` keeps the whole image."""

    def batch(self, images: np.ndarray, rng=None) -> np.ndarray:
        """uint8 (N, H, W, C) -> float32 (N, C, size, size)."""
        n, height, width, _ = images.shape
        size = self.size or min(height, width)
        top = np.full(n, (height - size) // 2)
        left = np.full(n, (width - size) // 2)
        return crop(images, top, left, size, mean=self.mean_for(images))


class TenCrop(_Crops):
    """Test transform (§4.1): the ten ``size`` crops of each image, (10, C, s, s); batches (N, 10, C, s, s)."""

    def batch(self, images: np.ndarray, rng=None) -> np.ndarray:
        """uint8 (N, H, W, C) -> float32 (N, 10, C, size, size): corners and centre, then mirrored."""
        n, height, width, _ = images.shape
        top, left, flip = (np.tile(a, n) for a in ten_crop_offsets(height, width, self.size))
        index = np.repeat(np.arange(n), 10)
        out = crop(images, top, left, self.size, flip, index, mean=self.mean_for(images))  # (N*10, C, s, s)
        return out.reshape(n, 10, *out.shape[1:])
