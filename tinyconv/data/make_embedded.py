"""Make the embedded Fashion-MNIST subset shipped in ``tinyconv/data/embedded/fashion-mnist-mini``.

The subset lets the training program and the notebooks run the paper's pipeline
on real images on a machine with no network and no datasets installed. It holds
600 training and 100 test images of each of the 10 classes (6,000 + 1,000),
drawn without replacement with a fixed seed from the official files and kept in
their original order, written in the official gzipped IDX format so the same
:class:`~tinyconv.data.FashionMNIST` reader reads both. The output is
byte-for-byte reproducible::

    python -m tinyconv.data.make_embedded --source /usr/share/datasets/fashion-mnist

Fashion-MNIST is (c) 2017 Zalando SE, MIT licence (see LICENSE beside the files).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tinyconv.data.fashion_mnist import DEBIAN_FOLDER, EMBEDDED, read_idx, write_idx

PER_CLASS = {"train": 600, "t10k": 100}
SEED = 2012


def balanced_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``per_class`` examples of every class, drawn without replacement."""
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))


def make(source=DEBIAN_FOLDER, target=EMBEDDED) -> None:
    source, target = Path(source), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for split, per_class in PER_CLASS.items():
        images = read_idx(source / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{split}-labels-idx1-ubyte.gz")
        keep = balanced_subset(labels, per_class, rng)
        write_idx(target / f"{split}-images-idx3-ubyte.gz", images[keep])
        write_idx(target / f"{split}-labels-idx1-ubyte.gz", labels[keep])
        print(f"{split}: {len(keep)} of {len(labels)} images -> {target}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=DEBIAN_FOLDER, help="folder with the official .gz files")
    parser.add_argument("--target", default=EMBEDDED, help="where to write the subset")
    args = parser.parse_args()
    make(args.source, args.target)
