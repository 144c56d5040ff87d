"""Fashion-MNIST, CIFAR-10, Imagenette and the embedded subset read files in their official formats."""
import gzip
import hashlib
import pickle

import numpy as np
import pytest

from tinyconv.data import CIFAR10, FashionMNIST, Imagenette, cifar, fashion_mnist, fashion_mnist_mini, imagenette
from tinyconv.data.errors import PYTHON, MissingDataError
from tinyconv.data.fashion_mnist import read_idx

from data_builders import cifar_members, py2_pickle, save_image, tar_bytes


def test_fashion_mnist_reads_idx_files(fashion_folder):
    truth = read_idx(fashion_folder / "train-images-idx3-ubyte.gz")
    train, test = FashionMNIST(fashion_folder), FashionMNIST(fashion_folder, train=False)
    assert (len(train), len(test)) == (50, 20)
    assert train.images.shape == (50, 28, 28, 1) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and train.num_classes == 10
    image, label = train[13]
    assert image.shape == (28, 28, 1) and label == 3
    np.testing.assert_array_equal(train.images[..., 0], truth)
    assert train.classes[9] == "Ankle boot"


def test_idx_reader_checks_the_header_against_the_data(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:  # header says 5 images of 28x28, data holds fewer bytes
        f.write(bytes([0, 0, 8, 3]) + np.array([5, 28, 28], ">u4").tobytes() + b"\0" * 100)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(path)


def test_fashion_mnist_missing_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "debian")
    monkeypatch.setenv("TINYCONV_DATA", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError) as error:
        FashionMNIST()
    message = str(error.value)
    assert str(tmp_path / "debian") in message and str(tmp_path / "home" / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message


def test_fashion_mnist_downloads_with_checksums(fashion_folder, tmp_path, http_server, monkeypatch):
    files = {}
    for name in fashion_mnist.FILES:
        data = (fashion_folder / name).read_bytes()
        http_server(f"/fm/{name}", data)
        files[name] = "md5:" + hashlib.md5(data).hexdigest()
    monkeypatch.setattr(fashion_mnist, "URL", http_server("/fm/", b""))
    monkeypatch.setattr(fashion_mnist, "FILES", files)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "debian")
    monkeypatch.setenv("TINYCONV_DATA", str(tmp_path / "home"))
    test = FashionMNIST(train=False, download=True)
    assert len(test) == 20 and test.root == tmp_path / "home" / "fashion-mnist"
    np.testing.assert_array_equal(test.labels, np.arange(20) % 10)


def test_embedded_subset_is_balanced_real_fashion_mnist():
    train, test = fashion_mnist_mini(), fashion_mnist_mini(train=False)
    assert (len(train), len(test)) == (6000, 1000)
    assert train.images.shape[1:] == (28, 28, 1)
    np.testing.assert_array_equal(np.bincount(train.labels), [600] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [100] * 10)
    # real clothing pictures: dark background, mean brightness near the full dataset's (72.9)
    assert 60 < train.images.mean() < 85 and train.images[:, 0, 0].mean() < 5
    assert len(np.unique(train.images.reshape(6000, -1), axis=0)) == 6000


def _cifar_archive(tmp_path, members, monkeypatch):
    """Put the archive in root; its checksum stands in for the official one."""
    data = tar_bytes(members)
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(data)
    monkeypatch.setattr(cifar, "CHECKSUM", "md5:" + hashlib.md5(data).hexdigest())


def test_cifar10_reads_the_official_batches(tmp_path, monkeypatch):
    members, truth = cifar_members()
    _cifar_archive(tmp_path, members, monkeypatch)  # the reader checks the archive in root and extracts it
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert (len(train), len(test)) == (15, 4)
    assert train.images.shape == (15, 32, 32, 3) and train.labels.dtype == np.int64
    np.testing.assert_array_equal(train.images[3:6], truth["data_batch_2"][0])  # pixel order R, G, B planes
    np.testing.assert_array_equal(test.labels, truth["test_batch"][1])
    assert train.classes[0] == "airplane" and train.num_classes == 10


def test_cifar10_never_runs_code_from_a_batch_file(tmp_path, monkeypatch, capsys):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    members, _ = cifar_members()
    members["cifar-10-batches-py/data_batch_3"] = pickle.dumps({b"data": Evil()}, protocol=4)
    _cifar_archive(tmp_path, members, monkeypatch)
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.print.*refusing"):
        CIFAR10(tmp_path)
    assert "pwned" not in capsys.readouterr().out


def test_cifar10_pickle_is_in_the_legacy_numpy_spelling():
    # the builder writes what the official files hold: a Python 2 pickle naming numpy.core
    assert b"cnumpy.core.multiarray\n_reconstruct" in py2_pickle({b"data": np.zeros(3, np.uint8)})


def test_cifar10_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        CIFAR10(tmp_path / "nothing")


def test_cifar10_archive_with_a_wrong_checksum_is_refused(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(tar_bytes(cifar_members()[0]))
    with pytest.raises(ValueError, match="does not match the official md5"):
        CIFAR10(tmp_path)


def test_cifar10_downloads_with_its_checksum(tmp_path, http_server, monkeypatch):
    members, truth = cifar_members()
    data = tar_bytes(members)
    monkeypatch.setattr(cifar, "URL", http_server("/cifar.tgz", data))
    monkeypatch.setattr(cifar, "CHECKSUM", "md5:" + hashlib.md5(data).hexdigest())
    test = CIFAR10(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(test.images, truth["test_batch"][0])


def test_imagenette_downloads_extracts_and_maps_class_names(tmp_path, http_server, monkeypatch):
    src = tmp_path / "src"
    rng = np.random.default_rng(0)
    members = {}
    for split, n in (("train", 2), ("val", 1)):
        for wnid in imagenette.CLASS_NAMES:
            for i in range(n):
                path = save_image(src / f"{wnid}{split}{i}.JPEG", rng.integers(0, 256, (20, 30, 3), np.uint8))
                members[f"imagenette2-160/{split}/{wnid}/{path.name}"] = path.read_bytes()
    members["imagenette2-160/noisy_imagenette.csv"] = b"path,noisy_labels_0\n"
    data = tar_bytes(members)
    url = http_server("/imagenette2-160.tgz", data)
    monkeypatch.setattr(imagenette, "URL", url.rsplit("/", 1)[0] + "/imagenette2-{size}.tgz")
    monkeypatch.setattr(imagenette, "CHECKSUMS", {160: "md5:" + hashlib.md5(data).hexdigest()})
    train = Imagenette(tmp_path / "root", size=160, download=True, resize=32)
    val = Imagenette(tmp_path / "root", size=160, train=False, resize=32)  # already there: no download
    assert (len(train), len(val)) == (20, 10)
    assert train.classes[0] == "tench" and train.folders[0] == "n01440764"
    image, label = train[3]
    assert image.shape == (32, 32, 3) and label == 1


def test_imagenette_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True.*imagenette2-320.tgz"):
        Imagenette(tmp_path, size=320)


def test_advice_on_missing_data_is_in_the_words_of_whoever_reads_it(tmp_path):
    with pytest.raises(MissingDataError) as info:
        CIFAR10(tmp_path / "nothing")
    python = str(info.value)
    assert "pass download=True to fetch" in python and "in a folder and pass that folder as root" in python
    command_line = info.value.in_words({"download": "add --download", "root": "give that folder as --data-dir"})
    assert "add --download to fetch" in command_line and "give that folder as --data-dir" in command_line
    assert "download=True" not in command_line and command_line.startswith("CIFAR-10 batches not found in ")
    assert info.value.in_words(PYTHON) == python
