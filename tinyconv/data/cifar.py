"""CIFAR-10 (Krizhevsky, 2009) from the official Python batches, read without running their code.

The official archive ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/``
with ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``: Python 2 pickles of
a dict whose ``data`` entry is a uint8 NumPy array (10000, 3072) (each row the
1024 red, then green, then blue values of a 32x32 image) and ``labels`` a list
of ints. Unpickling can call any function a file names, so the batches are read
with an unpickler that builds only dicts, lists, strings, numbers and the three
NumPy names an array needs, and refuses every other name with an error.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from tinyconv.data.dataset import ArrayDataset, fingerprint_files
from tinyconv.data.download import check_file, data_home, download, extract_tar
from tinyconv.data.errors import DamagedDataError, MissingDataError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CHECKSUM = "md5:c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)

# The names a pickled NumPy array needs (NumPy 1 spells the module numpy.core, NumPy 2 numpy._core).
try:
    from numpy._core.multiarray import _reconstruct as _RECONSTRUCT
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct as _RECONSTRUCT
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _BatchUnpickler(pickle.Unpickler):
    """Resolves only the NumPy array names of the documented batch format."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"{self.source} asks to load {module}.{name}, which the CIFAR batch format never needs; "
                "refusing to run it. Is this really an official CIFAR-10 batch file?"
            )
        return _ALLOWED[(module, name)]


def load_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch file -> images (N, 32, 32, 3) uint8 and labels (N,) int64."""
    with open(path, "rb") as f:
        unpickler = _BatchUnpickler(f, encoding="bytes")
        unpickler.source = path
        batch = unpickler.load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 batch (no b'data' and b'labels' entries)")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"], dtype=np.int64)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape != (len(labels), 3072):
        raise ValueError(f"{path}: data should be uint8 ({len(labels)}, 3072), got {getattr(data, 'shape', data)}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 32, 32, 3)
    return np.ascontiguousarray(images), labels


def _find_folder(root, download_allowed: bool) -> Path:
    base = Path(root) if root is not None else data_home() / "cifar-10"
    for folder in (base / FOLDER, base):
        if all((folder / b).is_file() for b in TRAIN_BATCHES + TEST_BATCHES):
            return folder
    archive = base / "cifar-10-python.tar.gz"
    if download_allowed:
        download(URL, archive, CHECKSUM)
    if archive.is_file():
        if not check_file(archive, CHECKSUM):
            raise DamagedDataError("{archive} does not match the official {checksum}: it is damaged or not the "
                                   "official archive; delete it and {download}", archive=archive, checksum=CHECKSUM)
        extract_tar(archive, base)
        return base / FOLDER
    raise MissingDataError(
        "CIFAR-10 batches not found in {folder} or {base}, and no archive at {archive}: {download} to fetch "
        "{url} (163 MB, checked against its MD5), or put the official cifar-10-python.tar.gz (or the "
        "cifar-10-batches-py folder it holds) in a folder and {root}",
        folder=base / FOLDER, base=base, archive=archive, url=URL)


class CIFAR10(ArrayDataset):
    """CIFAR-10 from the official Python batches: uint8 images (32, 32, 3), int64 labels.

    ``root`` holds ``cifar-10-batches-py/`` (or the batches themselves, or the
    official archive, which is checked and extracted); the default root is
    ``data_home()/cifar-10``. ``download=True`` fetches the archive if needed.
    """

    def __init__(self, root=None, train: bool = True, download: bool = False):
        self.root = _find_folder(root, download)
        files = [self.root / b for b in (TRAIN_BATCHES if train else TEST_BATCHES)]
        parts = [load_batch(f) for f in files]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        split = "train" if train else "test"
        super().__init__(images, labels, CLASSES, name=f"cifar10-{split}-{fingerprint_files(files)}")
