"""ImageFolder: layout, colour modes, resizing (§2), the decode cache, and bad input."""
import numpy as np
import pytest
from PIL import Image

from tinyconv.data import CorruptImageError, ImageFolder, load_image

from data_builders import save_image


def test_reads_class_folders_in_sorted_order(image_folder):
    ds = ImageFolder(image_folder, resize=24)
    assert ds.classes == ("ant", "bee", "cat") and ds.num_classes == 3
    np.testing.assert_array_equal(np.bincount(ds.labels), [3, 4, 2])  # notes.txt is not an image
    assert ds.labels.dtype == np.int64
    image, label = ds[5]
    assert image.shape == (24, 24, 3) and image.dtype == np.uint8 and label == 1
    assert ds.files[5].parent.name == "bee"


def test_class_name_map(image_folder):
    ds = ImageFolder(image_folder, class_names={"ant": "Formica", "cat": "Felis"})
    assert ds.classes == ("Formica", "bee", "Felis") and ds.folders == ("ant", "bee", "cat")


def test_resize_keeps_the_centre_of_the_shorter_side(tmp_path):
    # a 40x80 picture: left quarter red, centre half green, right quarter blue
    rgb = np.zeros((40, 80, 3), np.uint8)
    rgb[:, :20, 0], rgb[:, 20:60, 1], rgb[:, 60:, 2] = 255, 255, 255
    path = save_image(tmp_path / "c" / "x.png", rgb)
    image = load_image(path, 16)
    assert image.shape == (16, 16, 3)
    # only the green centre survives; the edge columns mix in a little of their neighbours,
    # as resizing the whole picture and then cropping would
    np.testing.assert_array_equal(image[:, 1:-1, 1], 255)
    np.testing.assert_array_equal(image[:, 1:-1, [0, 2]], 0)
    assert image[..., 1].min() > 200 and image[..., [0, 2]].max() < 40


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "LA"])
def test_colour_modes_become_rgb(tmp_path, mode):
    rgb = np.full((8, 8, 3), (200, 40, 90), np.uint8)
    suffix = "jpg" if mode == "CMYK" else "png"
    path = save_image(tmp_path / "c" / f"x.{suffix}", rgb, mode)
    assert Image.open(path).mode == mode
    image = load_image(path)
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
    expected = np.asarray(Image.fromarray(rgb).convert(mode).convert("RGB"))
    np.testing.assert_allclose(image.astype(int), expected.astype(int), atol=3)  # JPEG rounding
    if mode in ("L", "LA"):
        assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()


def _corrupt(image_folder):
    truncated = image_folder / "bee" / "0.jpg"
    truncated.write_bytes(truncated.read_bytes()[:200])
    garbage = image_folder / "cat" / "9.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    return truncated, garbage


def test_corrupt_image_error_names_the_path(image_folder):
    truncated, garbage = _corrupt(image_folder)
    ds = ImageFolder(image_folder, resize=16)
    for path in (truncated, garbage):
        with pytest.raises(CorruptImageError, match=f"{path}.*skip_corrupt=True"):
            ds[ds.files.index(path)]


def test_skip_corrupt_leaves_them_out_and_counts_them(image_folder):
    truncated, garbage = _corrupt(image_folder)
    with pytest.warns(UserWarning, match="skipped 2 corrupt image"):
        ds = ImageFolder(image_folder, resize=16, skip_corrupt=True)
    assert sorted(p for p, _ in ds.skipped) == sorted([truncated, garbage])
    assert len(ds) == 8 and truncated not in ds.files
    np.testing.assert_array_equal(np.bincount(ds.labels), [3, 3, 2])
    for i in range(len(ds)):  # labels still match the folders after the removal
        assert ds.files[i].parent.name == ds.classes[ds[i][1]]


def test_decoded_images_are_cached(image_folder):
    ds = ImageFolder(image_folder, resize=16)
    first = [ds[i][0] for i in range(len(ds))]
    for path in ds.files:  # the files are gone: a second epoch can only come from the cache
        path.unlink()
    for i in range(len(ds)):
        np.testing.assert_array_equal(ds[i][0], first[i])


def test_cache_size_bounds_the_cache(image_folder):
    ds = ImageFolder(image_folder, resize=16, cache_size=2)
    ds.preload(num_workers=2)
    assert len(ds._cache) == 2
    ds.files[5].unlink()
    with pytest.raises(CorruptImageError):  # not cached, so it is decoded again
        ds[5]


def test_empty_class_folder_is_an_error(image_folder):
    (image_folder / "dog").mkdir()
    (image_folder / "dog" / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match=f"class folder {image_folder / 'dog'} holds no images"):
        ImageFolder(image_folder)


def test_missing_folder_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nope'} does not exist.*<class>"):
        ImageFolder(tmp_path / "nope")


def test_folder_without_class_folders_is_an_error(tmp_path):
    save_image(tmp_path / "loose.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="no class folders"):
        ImageFolder(tmp_path)
