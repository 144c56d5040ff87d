"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) from the official IDX files.

Fashion-MNIST is a drop-in replacement for MNIST: 60,000 training and 10,000 test
greyscale 28x28 images of 10 kinds of clothing, stored as gzipped IDX files
(``train-images-idx3-ubyte.gz`` and friends). tinyconv uses it as the small, real
dataset that the paper's pipeline (§2, §4.1) runs on when no ImageNet is at hand.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from tinyconv.data.dataset import ArrayDataset, fingerprint_files
from tinyconv.data.download import data_home, download
from tinyconv.data.errors import MissingDataError

CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
EMBEDDED = Path(__file__).parent / "embedded" / "fashion-mnist-mini"  # made by make_embedded.py
# MD5 checksums of the official downloads (fashion-mnist README). The Debian package
# recompresses the files, so only downloads are checked against them.
FILES = {
    "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or not): magic ``0 0 type ndim``, big-endian sizes, then the data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: header says shape {shape} ({expected} bytes), "
            f"file has {len(raw)} bytes; delete it and download it again"
        )
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (the official format; deterministic bytes)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(header + array.tobytes())


def _find_folder(root, download_allowed: bool, split: str) -> Path:
    names = [f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz"]
    candidates = [Path(root)] if root is not None else [DEBIAN_FOLDER, data_home() / "fashion-mnist"]
    for folder in candidates:
        if all((folder / name).is_file() for name in names):
            return folder
    if download_allowed:
        target = candidates[-1]
        for name in names:
            download(URL + name, target / name, FILES[name])
        return target
    raise MissingDataError(
        "Fashion-MNIST files {names} not found (looked in {looked}). Get them with `sudo apt-get install "
        "dataset-fashion-mnist` (Debian/Ubuntu), {download} to fetch them from {url}, or put the official .gz "
        "files in a folder and {root}", names=names, looked=", ".join(str(c) for c in candidates), url=URL)


class FashionMNIST(ArrayDataset):
    """Fashion-MNIST from its official gzipped IDX files: uint8 images (28, 28, 1), int64 labels.

    ``root`` is a folder holding the four official ``.gz`` files. Without it the
    Debian package's folder (``/usr/share/datasets/fashion-mnist``) is tried, then
    ``data_home()/fashion-mnist``; ``download=True`` fetches missing files from the
    official location and checks their MD5 sums.
    """

    def __init__(self, root=None, train: bool = True, download: bool = False):
        split = "train" if train else "t10k"
        self.root = _find_folder(root, download, split)
        image_file = self.root / f"{split}-images-idx3-ubyte.gz"
        label_file = self.root / f"{split}-labels-idx1-ubyte.gz"
        images, labels = read_idx(image_file), read_idx(label_file)
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise ValueError(
                f"{image_file} holds {images.shape} and {label_file} holds {labels.shape}: "
                "expected (N, 28, 28) images and N labels"
            )
        super().__init__(
            images[..., None], labels, CLASSES,
            name=f"fashion-mnist-{split}-{fingerprint_files([image_file, label_file])}",
        )


def fashion_mnist_mini(train: bool = True) -> FashionMNIST:
    """The small Fashion-MNIST subset shipped with tinyconv: 6,000 train / 1,000 test images, 10 balanced classes.

    Real images (a seeded subset of the official files, see ``make_embedded.py``),
    so examples and notebooks run with no network and no installed datasets.
    """
    return FashionMNIST(EMBEDDED, train=train)
