"""Datasets, the paper's transforms (§2, §4.1) and a prefetching loader.

    from tinyconv.data import fashion_mnist_mini, DataLoader, RandomCropFlip, mean_image
    train = fashion_mnist_mini(train=True)                  # real data shipped with tinyconv
    loader = DataLoader(train, 128, RandomCropFlip(24, mean_image(train)), seed=0)
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for x, y in loader:                                  # float32 (128, 1, 24, 24), int64 (128,)
            ...
"""
from tinyconv.data.cifar import CIFAR10
from tinyconv.data.dataset import ArrayDataset, Dataset, gather
from tinyconv.data.download import data_home, download, extract_tar
from tinyconv.data.erasing import RandomErasing
from tinyconv.data.fashion_mnist import FashionMNIST, fashion_mnist_mini
from tinyconv.data.image_folder import CorruptImageError, ImageFolder, load_image
from tinyconv.data.imagenette import Imagenette
from tinyconv.data.loader import DataLoader
from tinyconv.data.statistics import mean_image, rgb_covariance, rgb_pca
from tinyconv.data.transforms import (
    CenterCrop,
    PCALighting,
    RandomCropFlip,
    TenCrop,
    crop,
    gather_crops,
    resize_center_crop,
    ten_crop_offsets,
)

__all__ = [
    "ArrayDataset", "CIFAR10", "CenterCrop", "CorruptImageError", "DataLoader", "Dataset", "FashionMNIST",
    "ImageFolder", "Imagenette", "PCALighting", "RandomCropFlip", "RandomErasing", "TenCrop", "crop", "data_home",
    "download", "extract_tar", "fashion_mnist_mini", "gather", "gather_crops", "load_image", "mean_image",
    "rgb_covariance", "rgb_pca", "resize_center_crop", "ten_crop_offsets",
]
