"""Builders of files in the official dataset formats, for the data tests."""
from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
IMAGENETTE_MINI = REPO.parent / "shared" / "data" / "imagenette-mini"


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` opcodes, like the cPickle that wrote the CIFAR batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    """A protocol-2 pickle as Python 2 and NumPy 1 wrote it (``numpy.core.multiarray``)."""
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """A .tar.gz archive holding ``members`` (name -> content) as regular files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def cifar_members(counts=(3, 3, 3, 3, 3, 4), seed=0):
    """Member name -> pickled batch for a small CIFAR-10 archive, plus the images and labels it holds."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    members, truth = {}, {}
    for name, n in zip(names, counts):
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        batch = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072).copy(),  # rows: R plane, G, B
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
        }
        members[f"cifar-10-batches-py/{name}"] = py2_pickle(batch)
        truth[name] = (images, np.asarray(labels))
    members["cifar-10-batches-py/batches.meta"] = py2_pickle({b"label_names": [b"airplane"] * 10})
    return members, truth




def save_image(path: Path, rgb: np.ndarray, mode: str = "RGB") -> Path:
    """Save an RGB uint8 array as ``path`` in ``mode`` (converted by Pillow)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).convert(mode).save(path)
    return path
