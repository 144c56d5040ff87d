"""Initialisation of weights and biases as in §5 of the paper.

§5: "We initialized the weights in each layer from a zero-mean Gaussian distribution with
standard deviation 0.01. We initialized the neuron biases in the second, fourth, and fifth
convolutional layers, as well as in the fully-connected hidden layers, with the constant 1
[...] We initialized the neuron biases in the remaining layers with the constant 0."

The layers of :mod:`tinyconv.nn` start from N(0, 0.01) weights and zero biases; AlexNet sets
its biases of 1 with :func:`constant_`. Numbers are drawn by a NumPy generator on the host
and copied to the parameter's device, so a seed gives the same weights on every device.
Layers built without an ``rng`` draw from one module-level generator, reset by
:func:`manual_seed` (a model built after ``manual_seed(s)`` is the same every time).
"""
from __future__ import annotations

import numpy as np

from . import backend

_default_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Restart the generator that layers built without ``rng=`` draw their weights from."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def default_rng() -> np.random.Generator:
    """The module-level generator used when no ``rng`` is given."""
    return _default_rng


def _fill(param, values) -> None:
    """Write host array ``values`` into ``param.data`` in place, keeping its dtype and device."""
    data = param.data
    if values.shape != data.shape:
        raise ValueError(f"cannot fill an array of shape {data.shape} with values of shape {values.shape}")
    if data.dtype.kind != "f":
        raise TypeError(f"initialisation needs a floating-point parameter, got dtype {data.dtype}")
    data[...] = backend.to_device(values.astype(data.dtype), backend.device_of(data))


def normal_(param, std: float = 0.01, rng: np.random.Generator | None = None):
    """Fill ``param`` (a Tensor or Parameter) in place with N(0, std^2) samples (§5); returns it.

    ``rng`` is a ``numpy.random.Generator``; None uses :func:`default_rng`.
    """
    if not std >= 0:
        raise ValueError(f"std must be >= 0, got {std}")
    rng = _default_rng if rng is None else rng
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    _fill(param, rng.standard_normal(param.shape) * std)
    return param


def constant_(param, value: float):
    """Fill ``param`` in place with ``value`` (biases: 0, or 1 in AlexNet's ReLU layers, §5); returns it."""
    _fill(param, np.full(param.shape, value))
    return param
