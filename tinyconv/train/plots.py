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
from matplotlib.patches import Rectangle

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
    fig = Figure(figsize=(13, 3.8))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.13, top=0.9, wspace=0.25)
    loss_ax, err_ax, lr_ax = fig.subplots(1, 3)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        loss_ax.plot(epochs, [r[key] for r in rows], marker=".", label=label)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    for key, label, style in (("train_top1", "train top-1", "--"), ("val_top1", "validation top-1", "-"),
                              ("val_top5", "validation top-5", "-")):
        err_ax.plot(epochs, [100 * r[key] for r in rows], style, marker=".", label=label)
    err_ax.set(xlabel="epoch", ylabel="error (%)", title="top-1 / top-5 error")
    rates = [r["lr"] for r in rows]
    lr_ax.plot(epochs, rates, marker=".")
    lr_ax.set_yscale("log" if all(rate > 0 for rate in rates) else "linear")  # a log axis has no place for 0
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
    fig = Figure(figsize=(1 + 0.45 * columns, 0.6 + groups * 0.45 * (-(-len(towers[0]) // columns) + 1)))
    axes = np.atleast_1d(fig.subplots(groups, 1, gridspec_kw=dict(left=0.02, right=0.98, bottom=0.02, top=0.85,
                                                                   hspace=0.25)))
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
    fig = Figure(figsize=(3.2 * columns, 3.6 * rows))
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3, 2] * rows, left=0.1, right=0.98, bottom=0.04,
                            top=0.92, wspace=0.6, hspace=0.45)
    for i in range(count):
        r, c = divmod(i, columns)
        image_ax = fig.add_subplot(grid[2 * r, c])
        image_ax.imshow(_display(images[i]), cmap="gray", interpolation="nearest")
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
    """One row per query: the query image (framed in red), then its nearest training images (Figure 4, right).

    ``neighbour_images`` is (Q, k, C, H, W); the labels, if given, are written under each image.
    """
    queries, neighbours = np.asarray(query_images), np.asarray(neighbour_images)
    count, k, _, height, width = neighbours.shape
    rows = np.concatenate([queries[:, None], neighbours], axis=1)     # (Q, k + 1, C, H, W)
    fig = Figure(figsize=(1.1 * (k + 1), 0.4 + 1.25 * count))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9))
    ax.imshow(_mosaic(rows.reshape(-1, *rows.shape[2:]), k + 1), cmap="gray", interpolation="nearest")
    ax.axis("off")
    for q in range(count):
        ax.add_patch(Rectangle((-0.5, q * (height + 1) - 0.5), width, height, fill=False, edgecolor=_RED, linewidth=2))
        if query_labels is None or class_names is None:
            continue
        labels = [query_labels[q], *neighbour_labels[q]]
        for j, label in enumerate(labels):
            ax.text(j * (width + 1) + width / 2, q * (height + 1) + height - 0.5, str(class_names[label]),
                    ha="center", va="bottom", fontsize=6, color="yellow")
    fig.suptitle("validation image (red) and its nearest training images\nin last-hidden-layer space (Figure 4, right)",
                 fontsize=9)
    fig.savefig(path, dpi=100)
