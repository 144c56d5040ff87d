"""Datasets laid out as class folders (the ILSVRC layout ``root/<wnid>/*.JPEG``), §2.

Classes are the sorted sub-folder names; every file Pillow has a decoder for is an
image. Each image is decoded, converted to RGB (greyscale, RGBA, CMYK and palette
images all occur in ImageNet), and brought to the paper's fixed resolution: the
shorter side resized to ``resize`` pixels and the central ``resize`` x ``resize``
square cropped (§2). The result is cached as uint8, so JPEG decoding happens in
the first epoch only.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from tinyconv.data.dataset import Dataset, fingerprint_files
from tinyconv.data.errors import CorruptImageError
from tinyconv.data.transforms import resize_center_crop

_IMAGE_SUFFIXES = frozenset(s.lower() for s in Image.registered_extensions())


def load_image(path, size: int | None = None) -> np.ndarray:
    """Decode ``path`` to uint8 RGB (H, W, 3); with ``size``, resize and centre-crop to size x size (§2)."""
    try:
        with Image.open(path) as img:
            if size is not None and img.format == "JPEG":  # let libjpeg decode at a reduced scale
                w, h = img.size
                scale = size / min(w, h)
                if scale < 1:
                    img.draft("RGB", (int(np.ceil(w * scale)), int(np.ceil(h * scale))))
            if img.mode == "P":  # palette images may carry transparency: go through RGBA
                img = img.convert("RGBA")
            rgb = img.convert("RGB")  # greyscale, RGBA, CMYK, ... -> RGB
            return resize_center_crop(rgb, size) if size is not None else np.asarray(rgb)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise CorruptImageError("cannot decode image {path}: {error}. Delete or replace the file, or {skip_corrupt} "
                                "to leave such files out", path=path, error=error) from error


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in _IMAGE_SUFFIXES
    )


class ImageFolder(Dataset):
    """Images in ``root/<class>/*`` as uint8 (resize, resize, 3) arrays with int64 labels.

    ``class_names`` maps folder names to readable names (e.g. WordNet ids to
    "tench"); ``ds.folders`` keeps the folder names. A corrupt image raises
    :class:`CorruptImageError` naming its path when it is read; with
    ``skip_corrupt=True`` every image is decoded up front and the unreadable ones
    are left out (``ds.skipped`` lists them). ``cache_size`` is how many decoded
    images to keep in memory (``None``: all of them, ``resize**2 * 3`` bytes each;
    ``0``: none).
    """

    def __init__(self, root, class_names=None, skip_corrupt: bool = False,
                 cache_size: int | None = None, resize: int | None = 256, num_workers: int = 2):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"image folder {self.root} does not exist. Expected the layout "
                f"{self.root}/<class>/<image files>; download the dataset (e.g. Imagenette(download=True)) "
                "or pass the folder that holds the class folders"
            )
        self.folders = tuple(sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")))
        if not self.folders:
            raise ValueError(f"{self.root} has no class folders: expected {self.root}/<class>/<image files>")
        self.files: list[Path] = []
        labels = []
        for label, folder in enumerate(self.folders):
            files = _image_files(self.root / folder)
            if not files:
                raise ValueError(
                    f"class folder {self.root / folder} holds no images Pillow can read; "
                    "add images or remove the folder"
                )
            self.files += files
            labels += [label] * len(files)
        self.labels = np.asarray(labels, dtype=np.int64)
        names = dict(class_names or {})
        self.classes = tuple(names.get(f, f) for f in self.folders)
        self.resize, self.cache_size = resize, cache_size
        self._cache: dict[int, np.ndarray] = {}
        self.skipped: list[tuple[Path, str]] = []
        self.name = f"imagefolder-{self.root.name}-{resize}-{fingerprint_files(self.files)}"
        if skip_corrupt:
            self._drop_corrupt(num_workers)

    def __getitem__(self, index):
        index = int(index)
        image = self._cache.get(index)
        if image is None:
            image = load_image(self.files[index], self.resize)
            if self.cache_size is None or len(self._cache) < self.cache_size:
                self._cache[index] = image
        return image, int(self.labels[index])

    def preload(self, num_workers: int = os.cpu_count() or 1) -> None:
        """Decode every image now (in threads: Pillow releases the GIL while decoding)."""
        with ThreadPoolExecutor(num_workers) as pool:
            list(pool.map(self.__getitem__, range(len(self))))

    def _try_load(self, index):
        try:
            return self[index]
        except CorruptImageError as error:
            return error

    def _drop_corrupt(self, num_workers: int) -> None:
        with ThreadPoolExecutor(max(1, num_workers)) as pool:
            results = list(pool.map(self._try_load, range(len(self))))
        keep = [i for i, r in enumerate(results) if not isinstance(r, CorruptImageError)]
        self.skipped = [(self.files[i], str(r)) for i, r in enumerate(results) if isinstance(r, CorruptImageError)]
        if not self.skipped:
            return
        warnings.warn(f"skipped {len(self.skipped)} corrupt image(s) in {self.root}, e.g. {self.skipped[0][0]}")
        self._cache = {new: self._cache[old] for new, old in enumerate(keep) if old in self._cache}
        self.files = [self.files[i] for i in keep]
        self.labels = self.labels[keep]

    def __repr__(self) -> str:
        return f"ImageFolder({str(self.root)!r}, {len(self)} images, {self.num_classes} classes, resize={self.resize})"
