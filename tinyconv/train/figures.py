"""What the trained net learned, drawn from the model and the data: Figures 3 and 4 (§6.1).

These functions pull the arrays out of a model (first-layer kernels, softmax outputs,
last-hidden-layer activations) and hand them to :mod:`tinyconv.train.plots`.
"""
from __future__ import annotations

import os

import numpy as np

from .. import backend, data
from ..tensor import no_grad
from . import plots
from .loop import predict


def first_layer_kernels(model) -> np.ndarray:
    """The first convolution's kernels (OC, C, KH, KW), both towers (gathered from two devices if split)."""
    state = model.state_dict()
    first = next((name for name, array in state.items() if array.ndim == 4), None)
    if first is None:
        raise ValueError(f"{type(model).__name__} has no convolution weights to draw")
    layer = first.rsplit(".", 2)[-2] + ".weight"  # "conv1.weight", also under "tower0." prefixes
    parts = [array for name, array in state.items() if name == layer or name.endswith("." + layer)]
    return np.concatenate(parts)


def hidden_features(model, x) -> np.ndarray:
    """Activations of the last hidden layer (the input of the last FC layer) for a batch, as NumPy.

    Uses ``model.walk(x)`` (one Step per layer); the towers' outputs are joined when split.
    """
    model.eval()
    with no_grad():
        steps = list(model.walk(x))
    model.train()
    outputs = [backend.to_numpy(t.data) for t in steps[-2].outputs]
    return np.concatenate([o.reshape(len(o), -1) for o in outputs], axis=1)


def _display_images(dataset, indices) -> np.ndarray:
    images, _ = data.gather(dataset, indices)
    return images.transpose(0, 3, 1, 2)  # (N, C, H, W) uint8 for plotting


def _batches(dataset, indices, transform, device, batch_size):
    for start in range(0, len(indices), batch_size):
        images, _ = data.gather(dataset, indices[start:start + batch_size])
        x = transform.batch(images)
        yield backend.to_device(x, device) if str(device) != "cpu" else x


def write_figures(model, train, val, eval_transform, out, device, rng, *, pool_size: int = 2000,
                  queries: int = 5, neighbours: int = 6, batch_size: int = 128) -> list[str]:
    """Write filters.png (Figure 3), top5.png and neighbours.png (Figure 4) into ``out``; return the paths."""
    paths = [os.path.join(out, name) for name in ("filters.png", "top5.png", "neighbours.png")]
    kernels = first_layer_kernels(model)
    plots.plot_filters(kernels, paths[0], groups=2 if len(kernels) % 2 == 0 else 1)

    shown = np.sort(rng.choice(len(val), min(8, len(val)), replace=False))
    probs = np.concatenate([predict(model, x) for x in _batches(val, shown, eval_transform, device, batch_size)])
    plots.plot_top5(_display_images(val, shown), np.asarray(val.labels)[shown], probs, val.classes, paths[1])

    centre = data.CenterCrop(eval_transform.size, eval_transform.mean)
    pool = np.sort(rng.choice(len(train), min(pool_size, len(train)), replace=False))
    asked = np.sort(rng.choice(len(val), min(queries, len(val)), replace=False))
    pool_features = np.concatenate([hidden_features(model, x)
                                    for x in _batches(train, pool, centre, device, batch_size)])
    query_features = np.concatenate([hidden_features(model, x)
                                     for x in _batches(val, asked, centre, device, batch_size)])
    nearest = pool[plots.nearest_neighbours(query_features, pool_features, min(neighbours, len(pool)))]
    image_shape = _display_images(train, [0]).shape[1:]
    neighbour_images = _display_images(train, nearest.ravel()).reshape(*nearest.shape, *image_shape)
    plots.plot_neighbours(_display_images(val, asked), neighbour_images, paths[2],
                          np.asarray(val.labels)[asked], np.asarray(train.labels)[nearest], val.classes)
    return paths
