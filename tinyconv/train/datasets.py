"""The data side of the training program: which dataset, how much of it, and the §2/§4.1 pipeline.

The network's input size decides the crops. Where the stored images are already that size
(Fashion-MNIST 28 px for the 28 px net, CIFAR-10 32 px for the 32 px net) they are padded by
``pad`` pixels of zeros on every side first, so the random crops of §4.1 become random shifts
of up to ``pad`` pixels and the ten test crops differ; the centre crop is then the original
image. Inputs are the crops minus the mean image of the (padded) training set (§2); RGB data
also gets the PCA colour shift (§4.1).

By default ``pad`` is an eighth of the input size: 3 px at 28 px, 4 px at 32 px, somewhat more
than §4.1's proportion (its 224-pixel crops of 256-pixel images shift by up to 16 px either way,
1/14 of the crop). Fashion-MNIST is the exception: its objects are centred and fill the frame,
and there shifts of up to 1 px let alexnet-28 fit its training images much better than 3 px
(training error 4.4% against 8.4%, test error 7.1% against 9.0%; docs/training.md).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from .. import data

DATASETS = ("fashion-mnist-mini", "fashion-mnist", "cifar10", "imagenette", "folder")
DEFAULT_MODEL = {"fashion-mnist-mini": "alexnet-28", "fashion-mnist": "alexnet-28", "cifar10": "alexnet-cifar",
                 "imagenette": "alexnet", "folder": "by image size"}
FOLDER_MODELS = ((48, "alexnet-cifar"), (128, "alexnet-64"))   # shorter side up to N px -> model; larger: alexnet
DEFAULT_EPOCHS = {"fashion-mnist-mini": 6}                     # other datasets: 30
IMAGE_FILE_DATASETS = ("imagenette", "folder")                  # decoded from image files, which may be corrupt
_FOLDER_NEEDS_DATA_DIR = "--dataset folder needs --data-dir DIR holding DIR/train/<class>/* and DIR/val/<class>/*"


def default_model(dataset: str, data_dir=None) -> str:
    """The model a dataset trains when --model is not given. For ``folder`` it goes by the size of the
    first training image: alexnet-cifar for CIFAR-sized images (up to 48 px), alexnet-64 up to 128 px,
    AlexNet itself above."""
    if dataset != "folder":
        return DEFAULT_MODEL.get(dataset, "alexnet")
    if data_dir is None:
        raise ValueError(_FOLDER_NEEDS_DATA_DIR)
    first = data.ImageFolder(_split_folder(data_dir, ("train",)), resize=None, cache_size=0)
    side = min(first[0][0].shape[:2])
    return next((name for most, name in FOLDER_MODELS if side <= most), "alexnet")


def default_epochs(dataset: str) -> int:
    """The epochs a run on ``dataset`` trains when --epochs is not given: 6 on the embedded set, else 30."""
    return DEFAULT_EPOCHS.get(dataset, 30)


PAPER_RESIZE = 256   # §2: every image rescaled to 256 x 256; §4.1 cuts the training crops out of those


def stored_size(input_size: int) -> int:
    """The side that images of folder datasets (imagenette, folder) are rescaled to, for ``input_size`` px nets.

    AlexNet (227 px inputs) crops images rescaled to 256 (§2, §4.1). The small members take images
    rescaled to their own input size, which :func:`make_loaders` pads so that the random crops become
    random shifts (module docstring): cut out of 256 px images, their 32 or 64 px crops would each
    show an eighth or a quarter of the picture's width.
    """
    return PAPER_RESIZE if input_size > PAPER_RESIZE // 2 else input_size


def _split_folder(data_dir, names) -> str:
    """The first of ``data_dir``/``names`` that exists (a clear error naming the layout otherwise)."""
    for name in names:
        if os.path.isdir(os.path.join(data_dir, name)):
            return os.path.join(data_dir, name)
    raise FileNotFoundError(f"--data-dir {data_dir} has no {' or '.join(names)} folder: --dataset folder expects "
                            f"{data_dir}/train/<class>/* and {data_dir}/val/<class>/* (or test/ in place of val/)")


def load_datasets(name: str, data_dir=None, download: bool = False, resize: int = PAPER_RESIZE,
                  skip_corrupt: bool = False):
    """(train, validation) datasets; for Fashion-MNIST and CIFAR-10 the test split is the validation set.

    ``resize`` is the side images of the folder datasets are rescaled to (:func:`stored_size`);
    ``skip_corrupt`` leaves out their image files that do not decode
    (:class:`~tinyconv.data.ImageFolder`).
    """
    if skip_corrupt and name not in IMAGE_FILE_DATASETS:
        raise ValueError(f"--skip-corrupt leaves out image files that do not decode; --dataset {name} has none "
                         f"(only {' and '.join(IMAGE_FILE_DATASETS)} do)")
    if name == "fashion-mnist-mini":
        return data.fashion_mnist_mini(train=True), data.fashion_mnist_mini(train=False)
    if name == "fashion-mnist":
        return (data.FashionMNIST(data_dir, train=True, download=download),
                data.FashionMNIST(data_dir, train=False, download=download))
    if name == "cifar10":
        return data.CIFAR10(data_dir, train=True, download=download), data.CIFAR10(data_dir, train=False)
    if name == "imagenette":
        return (data.Imagenette(data_dir, train=True, download=download, resize=resize, skip_corrupt=skip_corrupt),
                data.Imagenette(data_dir, train=False, resize=resize, skip_corrupt=skip_corrupt))
    if name == "folder":
        if data_dir is None:
            raise ValueError(_FOLDER_NEEDS_DATA_DIR)
        return (data.ImageFolder(_split_folder(data_dir, ("train",)), resize=resize, skip_corrupt=skip_corrupt),
                data.ImageFolder(_split_folder(data_dir, ("val", "test")), resize=resize, skip_corrupt=skip_corrupt))
    raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")


class Subset:
    """The examples ``indices`` of ``dataset`` (same protocol: len, [i], labels, classes, name)."""

    def __init__(self, dataset, indices, tag: str):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(dataset.labels)[self.indices]
        self.classes, self.num_classes = dataset.classes, dataset.num_classes
        self.name = f"{dataset.name}-{tag}"
        images = getattr(dataset, "images", None)
        if isinstance(images, np.ndarray):
            self.images = images[self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]


def limit(dataset, count: int | None, seed: int):
    """A seeded random ``count`` examples of ``dataset`` (all of it when count is None or larger)."""
    if count is None or count >= len(dataset):
        return dataset
    if count < 1:
        raise ValueError(f"the number of images to use must be at least 1, got {count}")
    chosen = np.sort(np.random.default_rng([seed, count]).choice(len(dataset), count, replace=False))
    return Subset(dataset, chosen, f"first{count}of{len(dataset)}seed{seed}")


VAL_SEED = 0         # --val-images draws the same images whatever --seed: nets of other seeds can be compared
HOLDOUT_STREAM = 1   # keeps the held-out draw apart from limit()'s draw of the same count


def hold_out(dataset, count: int, seed: int):
    """(rest, held): ``count`` seeded random examples of ``dataset`` set aside, and the others.

    §5 divides the learning rate "when the validation error rate stopped improving". Where the
    only labelled split besides the training set is the test set (Fashion-MNIST, CIFAR-10), a
    schedule that watches it has seen the test set, and the test error it ends at is a little
    optimistic; the held-out training images give the schedule a validation set of its own.
    """
    if not 1 <= count <= len(dataset) - 1:
        raise ValueError(f"--holdout {count}: hold out at least 1 and at most {len(dataset) - 1} of the "
                         f"{len(dataset)} training images")
    held = np.random.default_rng([seed, count, HOLDOUT_STREAM]).choice(len(dataset), count, replace=False)
    kept = np.ones(len(dataset), dtype=bool)
    kept[held] = False
    tag = f"holdout{count}seed{seed}"
    return Subset(dataset, np.flatnonzero(kept), f"without-{tag}"), Subset(dataset, np.sort(held), tag)


def choose_splits(dataset: str, data_dir=None, *, train_images: int | None, val_images: int | None,
                  holdout: int, seed: int, input_size: int, download: bool = False, skip_corrupt: bool = False):
    """(train, validation, test or None): the images a run trains on, watches, and is tested on at the end.

    Without ``holdout`` the dataset's own validation split (the test set of Fashion-MNIST and
    CIFAR-10), limited to ``val_images``, is the validation set and there is no separate test
    set. With ``holdout`` N, N of the (``train_images``) training images are the validation set
    (:func:`hold_out`) and that split is the test set. ``input_size`` is the net's (:func:`stored_size`).
    """
    train, val = load_datasets(dataset, data_dir, download, stored_size(input_size), skip_corrupt)
    train, val = limit(train, train_images, seed), limit(val, val_images, VAL_SEED)
    if not holdout:
        return train, val, None
    train, held = hold_out(train, holdout, seed)
    return train, held, val


def pad_images(dataset, pad: int):
    """An in-memory copy of ``dataset`` with ``pad`` zero pixels around every image."""
    if pad == 0:
        return dataset
    images = getattr(dataset, "images", None)
    if not isinstance(images, np.ndarray):   # images read from files (--dataset folder): decode them all now
        images = data.gather(dataset, np.arange(len(dataset)))[0]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    return data.ArrayDataset(padded, dataset.labels, dataset.classes, name=f"{dataset.name}-pad{pad}")


def image_size(dataset) -> int:
    return min(dataset[0][0].shape[:2])


DEFAULT_PAD = {"fashion-mnist-mini": 1, "fashion-mnist": 1}   # see the module docstring


def default_pad(input_size: int) -> int:
    """Zero pixels around images stored at the input size, so random crops become shifts of up to this many."""
    return input_size // 8


def dataset_pad(name: str, pad: int | None) -> int | None:
    """``pad`` if given, else dataset ``name``'s own default; None leaves it to :func:`default_pad`."""
    return pad if pad is not None else DEFAULT_PAD.get(name)


class Loaders(NamedTuple):
    """What :func:`make_loaders` builds: the batches, the padded datasets and the test-time transform."""

    train_loader: data.DataLoader
    val_loader: data.DataLoader
    test_loader: data.DataLoader | None
    train_eval_loader: data.DataLoader | None
    train: object
    val: object
    eval_transform: object


def make_loaders(train, val, input_size: int, *, batch_size: int, seed: int, workers: int | None, device,
                 ten_crop: bool = False, pad: int | None = None, eval_batch_size: int | None = None,
                 rank: int = 0, world_size: int = 1, transform_on_device: bool = False, test=None,
                 erase: float = 0.0, augment: bool = True, train_eval: int = 0) -> Loaders:
    """The :class:`Loaders` of a net taking ``input_size`` px inputs; ``test`` (optional) is evaluated as ``val`` is.

    ``pad=None`` pads by :func:`default_pad` when the stored images are no larger than the input.
    ``rank`` / ``world_size``: every loader gives this rank its shard (data parallelism,
    :mod:`tinyconv.distributed`): of every training epoch, and of ``val`` and ``test``, whose figures
    :func:`~tinyconv.train.loop.evaluate` then adds up over the ranks. ``transform_on_device``: the
    loaders crop on ``device`` (:class:`~tinyconv.data.DataLoader`). ``erase``: the probability that a
    training crop loses a random rectangle (:class:`~tinyconv.data.RandomErasing`, not in the paper).
    ``augment=False`` trains on the centre crops (no random crops, mirrors or colour noise: Figure 1's
    "no regularization of any kind"). ``train_eval`` > 0 adds a loader of that many (seeded) training
    images with the test-time transform, whose errors are the net's own fit of its training set.
    """
    if image_size(train) < input_size:
        raise ValueError(f"the images are {image_size(train)} px but the model takes {input_size} px inputs: "
                         "choose a model for this image size (--model; alexnet-28, alexnet-cifar and alexnet-64 "
                         "take 28, 32 and 64 px)")
    if pad is None:
        pad = default_pad(input_size) if image_size(train) == input_size else 0
    train, val = pad_images(train, pad), pad_images(val, pad)
    mean = data.mean_image(train)
    channels = train[0][0].shape[-1]
    lighting = data.PCALighting(*data.rgb_pca(train)) if channels == 3 else None
    evaluate = (data.TenCrop if ten_crop else data.CenterCrop)(input_size, mean)
    if augment:
        training = data.RandomCropFlip(input_size, mean, lighting, erasing=data.RandomErasing(erase) if erase else None)
    elif erase:
        raise ValueError("--erase changes the training crops, which --no-augment turns off: use one of the two")
    else:
        training = data.CenterCrop(input_size, mean)
    shared = dict(seed=seed, num_workers=workers, device=device, rank=rank, world_size=world_size,
                  transform_on_device=transform_on_device)
    train_loader = data.DataLoader(train, batch_size, training, shuffle=True, drop_last=True, **shared)

    def evaluation_loader(dataset):
        return data.DataLoader(dataset, eval_batch_size or batch_size, evaluate, shuffle=False, **shared)
    test_loader = None if test is None else evaluation_loader(pad_images(test, pad))
    train_eval_loader = evaluation_loader(limit(train, train_eval, seed)) if train_eval else None
    return Loaders(train_loader, evaluation_loader(val), test_loader, train_eval_loader, train, val, evaluate)
