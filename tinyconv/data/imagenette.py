"""Imagenette (Howard, fast.ai): 10 easy ImageNet classes in the ILSVRC folder layout.

About 9,500 training and 3,900 validation images, small enough to run the paper's
whole recipe (§2, §4.1, §5) in minutes on one GPU. The official archives
``imagenette2-160.tgz`` / ``imagenette2-320.tgz`` (shorter side 160 / 320 px) hold
``imagenette2-<size>/{train,val}/<wnid>/*.JPEG``; they are downloaded with their
MD5 sums, extracted safely, and read through :class:`ImageFolder`.
"""
from __future__ import annotations

from pathlib import Path

from tinyconv.data.download import data_home, download, extract_tar
from tinyconv.data.errors import MissingDataError
from tinyconv.data.image_folder import ImageFolder

CLASS_NAMES = {
    "n01440764": "tench",
    "n02102040": "English springer",
    "n02979186": "cassette player",
    "n03000684": "chain saw",
    "n03028079": "church",
    "n03394916": "French horn",
    "n03417042": "garbage truck",
    "n03425413": "gas pump",
    "n03445777": "golf ball",
    "n03888257": "parachute",
}
URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-{size}.tgz"
CHECKSUMS = {160: "md5:e793b78cc4c9e9a4ccc0c1155377a412", 320: "md5:3df6f0d01a2c9592104656642f5e78a3"}


class Imagenette(ImageFolder):
    """Imagenette's ``train`` or ``val`` split as uint8 (resize, resize, 3) images (§2).

    ``root`` holds ``imagenette2-<size>/`` (default ``data_home()/imagenette``);
    ``download=True`` fetches and extracts the official archive when it is missing.
    ``classes`` are the readable names ("tench", ...), ``folders`` the WordNet ids.
    Other keyword arguments go to :class:`ImageFolder` (``skip_corrupt``, ``cache_size``).
    """

    def __init__(self, root=None, size: int = 160, train: bool = True, download: bool = False,
                 resize: int = 256, **kwargs):
        if size not in CHECKSUMS:
            raise ValueError(f"Imagenette comes in sizes {sorted(CHECKSUMS)} (shorter side, px), got {size}")
        root = Path(root) if root is not None else data_home() / "imagenette"
        folder = root / f"imagenette2-{size}"
        if not folder.is_dir():
            archive = root / f"imagenette2-{size}.tgz"
            if not (download or archive.is_file()):
                raise MissingDataError(
                    "Imagenette not found: no folder {folder} and no archive {archive}: {download} to fetch {url} "
                    "(checked against its MD5), or put that archive (or the folder it holds) in a folder and {root}",
                    folder=folder, archive=archive, url=URL.format(size=size))
            extract_tar(download_archive(root, size), root)
        super().__init__(folder / ("train" if train else "val"), class_names=CLASS_NAMES, resize=resize, **kwargs)


def download_archive(root, size: int = 160) -> Path:
    """Download (or check an existing) ``imagenette2-<size>.tgz`` into ``root``; return its path."""
    return download(URL.format(size=size), Path(root) / f"imagenette2-{size}.tgz", CHECKSUMS[size])
