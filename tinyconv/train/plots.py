"""The paper's figures for a trained net, written as PNG files (matplotlib, Agg, no pyplot state).

* :func:`plot_curves`: training/validation loss and top-1/top-5 error per epoch (with the
  learning rate, so the §5 divisions by 10 are visible).
* :func:`plot_filters`: the first-layer kernels as a grid, the two towers apart (Figure 3: the
  GPU 1 kernels are largely colour-agnostic, the GPU 2 kernels colour-specific).
* :func:`plot_top5`: eight validation images with the net's five most probable labels as bars,
  the correct label's bar in red (Figure 4, left).
* :func:`plot_neighbours`: validation images and the training images whose last-hidden-layer
  feature vectors are nearest in Euclidean distance (Figure 4, right; §6.1).

All functions take NumPy arrays; images are (N, C, H, W) in any value range and are stretched
to [0, 1] one image at a time for display.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

_RED, _BLUE = "#d62728", "#1f77b4"


def _display(image: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W, 3) or (H, W), stretched to [0, 1]."""
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image[0] if image.shape[0] == 1 else image[:3].transpose(1, 2, 0)


def plot_curves(rows: list[dict], path) -> None:
    """Loss, top-1/top-5 error and learning rate per epoch from the metrics rows."""
    epochs = [r["epoch"] for r in rows]
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    loss_ax, err_ax, lr_ax = fig.subplots(1, 3)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        loss_ax.plot(epochs, [r[key] for r in rows], marker=".", label=label)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    for key, label, style in (("train_top1", "train top-1", "--"), ("val_top1", "validation top-1", "-"),
                              ("val_top5", "validation top-5", "-")):
        err_ax.plot(epochs, [100 * r[key] for r in rows], style, marker=".", label=label)
    err_ax.set(xlabel="epoch", ylabel="error (%)", title="top-1 / top-5 error")
    lr_ax.semilogy(epochs, [r["lr"] for r in rows], marker=".")
    lr_ax.set(xlabel="epoch", ylabel="learning rate", title="learning rate (÷10 on plateaus, §5)")
    for ax in (loss_ax, err_ax):
        ax.legend()
    for ax in (loss_ax, err_ax, lr_ax):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)


def _mosaic(filters: np.ndarray, columns: int) -> np.ndarray:
    """Tile (K, C, KH, KW) kernels, each stretched on its own, into one image with 1-px gaps."""
    count, _, kh, kw = filters.shape
    rows = -(-count // columns)
    tiles = [_display(f) for f in filters]
    shape = (rows * (kh + 1) - 1, columns * (kw + 1) - 1) + tiles[0].shape[2:]
    mosaic = np.ones(shape)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        mosaic[r * (kh + 1):r * (kh + 1) + kh, c * (kw + 1):c * (kw + 1) + kw] = tile
    return mosaic


def plot_filters(weight: np.ndarray, path, groups: int = 2, columns: int | None = None) -> None:
    """First-layer kernels (OC, C, KH, KW), one panel per tower (Figure 3)."""
    weight = np.asarray(weight)
    if weight.ndim != 4 or weight.shape[0] % groups:
        raise ValueError(f"plot_filters needs conv weights (OC, C, KH, KW) with OC divisible by groups={groups}, "
                         f"got shape {weight.shape}")
    towers = np.split(weight, groups)
    columns = columns or int(np.ceil(np.sqrt(len(towers[0]) * 2)))
    fig = Figure(figsize=(1 + 0.45 * columns, 0.6 + groups * 0.45 * (-(-len(towers[0]) // columns) + 1)),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(groups, 1))
    for g, (ax, tower) in enumerate(zip(axes, towers)):
        ax.imshow(_mosaic(tower, columns), cmap="gray", interpolation="nearest")
        ax.set_title(f"tower {g + 1} (GPU {g + 1} in the paper): {len(tower)} kernels "
                     f"{weight.shape[1]}x{weight.shape[2]}x{weight.shape[3]}", fontsize=9)
        ax.axis("off")
    fig.suptitle("first-layer kernels (Figure 3)")
    fig.savefig(path, dpi=120)


def plot_top5(images, labels, probs, class_names, path) -> None:
    """Images with their five most probable classes (Figure 4, left); correct label in red."""
    images, labels, probs = np.asarray(images), np.asarray(labels), np.asarray(probs)
    count = len(images)
    columns = min(4, count)
    rows = -(-count // columns)
    fig = Figure(figsize=(3.2 * columns, 3.6 * rows), layout="constrained")
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3, 2] * rows)
    for i in range(count):
        r, c = divmod(i, columns)
        image_ax = fig.add_subplot(grid[2 * r, c])
        image_ax.imshow(_display(images[i]), cmap="gray")
        image_ax.set_title(str(class_names[labels[i]]), fontsize=9)
        image_ax.axis("off")
        top = np.argsort(-probs[i])[:5]
        bar_ax = fig.add_subplot(grid[2 * r + 1, c])
        colours = [_RED if k == labels[i] else _BLUE for k in top]
        bar_ax.barh(range(len(top)), probs[i][top], color=colours)
        bar_ax.set_yticks(range(len(top)), [str(class_names[k]) for k in top], fontsize=8)
        bar_ax.invert_yaxis()
        bar_ax.set_xlim(0, 1)
        bar_ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("top-5 predictions (Figure 4, left): the correct label in red")
    fig.savefig(path, dpi=100)


def nearest_neighbours(queries: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """Indices (Q, k) of the ``k`` rows of ``pool`` nearest to each query row (Euclidean, §6.1)."""
    queries, pool = np.asarray(queries, np.float64), np.asarray(pool, np.float64)
    distances = (queries ** 2).sum(1)[:, None] - 2 * queries @ pool.T + (pool ** 2).sum(1)[None, :]
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def plot_neighbours(query_images, neighbour_images, path, query_labels=None, neighbour_labels=None,
                    class_names=None) -> None:
    """One row per query: the query image, then its nearest training images (Figure 4, right).

    ``neighbour_images`` is (Q, k, C, H, W).
    """
    queries, neighbours = np.asarray(query_images), np.asarray(neighbour_images)
    count, k = neighbours.shape[:2]
    fig = Figure(figsize=(1.3 * (k + 1), 1.4 * count), layout="constrained")
    axes = np.atleast_2d(fig.subplots(count, k + 1))
    for q in range(count):
        for j in range(k + 1):
            image = queries[q] if j == 0 else neighbours[q, j - 1]
            label = query_labels if j == 0 else neighbour_labels
            ax = axes[q, j]
            ax.imshow(_display(image), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if label is not None and class_names is not None:
                ax.set_xlabel(str(class_names[label[q] if j == 0 else label[q][j - 1]]), fontsize=7)
            if j == 0:
                for spine in ax.spines.values():
                    spine.set(color=_RED, linewidth=2)
    axes[0, 0].set_title("validation", fontsize=8)
    for j in range(1, k + 1):
        axes[0, j].set_title(f"neighbour {j}", fontsize=8)
    fig.suptitle("nearest training images in last-hidden-layer space (Figure 4, right)")
    fig.savefig(path, dpi=100)
