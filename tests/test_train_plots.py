"""The figures are written, and nearest neighbours are the nearest (Figure 4, right)."""
import numpy as np
import pytest
from PIL import Image

from tinyconv.train import plots


def _png(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_curves_filters_top5_neighbours_are_written(tmp_path, rng):
    rows = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "train_top1": 0.5 / e,
             "val_top1": 0.6 / e, "val_top5": 0.1 / e, "lr": 0.01} for e in (1, 2, 3)]
    plots.plot_curves(rows, tmp_path / "curves.png")
    plots.plot_filters(rng.standard_normal((96, 3, 11, 11)), tmp_path / "filters.png", groups=2)
    plots.plot_filters(rng.standard_normal((32, 1, 5, 5)), tmp_path / "filters_grey.png", groups=2)
    probs = rng.dirichlet(np.ones(10), size=8)
    plots.plot_top5(rng.random((8, 1, 28, 28)), np.arange(8), probs, [f"c{i}" for i in range(10)],
                    tmp_path / "top5.png")
    plots.plot_neighbours(rng.random((3, 3, 32, 32)), rng.random((3, 5, 3, 32, 32)), tmp_path / "nn.png",
                          np.arange(3), np.zeros((3, 5), int), list("abc"))
    for name in ("curves", "filters", "filters_grey", "top5", "nn"):
        width, height = _png(tmp_path / f"{name}.png")
        assert width > 200 and height > 100


def test_filter_mosaic_keeps_towers_apart_and_scales_each_kernel():
    weight = np.zeros((4, 3, 2, 2))
    weight[0, 0] = [[0, 1], [2, 3]]  # a red ramp, stretched to [0, 1] on its own
    mosaic = plots._mosaic(weight[:2], columns=2)
    assert mosaic.shape == (2, 5, 3)
    np.testing.assert_allclose(mosaic[:, :2, 0], [[0, 1 / 3], [2 / 3, 1]])
    assert (mosaic[:, 2] == 1).all()  # the white gap between kernels
    with pytest.raises(ValueError, match="divisible by groups=2"):
        plots.plot_filters(np.zeros((5, 3, 2, 2)), "unused.png")


def test_nearest_neighbours_matches_brute_force(rng):
    queries, pool = rng.standard_normal((4, 16)), rng.standard_normal((50, 16))
    found = plots.nearest_neighbours(queries, pool, k=3)
    brute = np.argsort(np.linalg.norm(queries[:, None] - pool[None], axis=2), axis=1)[:, :3]
    np.testing.assert_array_equal(found, brute)
    assert (plots.nearest_neighbours(pool[:5], pool, 1)[:, 0] == np.arange(5)).all()
