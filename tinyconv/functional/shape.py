"""Shapes: ``flatten`` (the step from the last pooled maps to the first fully connected layer, §3.5),
and the argument checks the ops of this package share (dimensions, dtypes, (h, w) pairs).
"""
from __future__ import annotations

import numbers

from ..tensor import Tensor
from .basic import reshape


def flatten(x):
    """(N, ...) -> (N, -1): the 256 x 6 x 6 maps of layer 5 become the 9216 inputs of layer 6 (§3.5)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 1:
        raise ValueError("flatten needs an array with a batch axis, got a 0-d array")
    return reshape(x, (x.shape[0], -1))


def check_input(op: str, a, ndim: int | None = None, layout: str = "") -> None:
    """Raise a clear error when ``a`` is not a floating-point array with ``ndim`` dimensions."""
    if ndim is not None and a.ndim != ndim:
        hint = f" ({layout})" if layout else ""
        raise ValueError(f"{op} expects a {ndim}-D input{hint}, got shape {tuple(a.shape)}; "
                         "add or remove axes with reshape")
    if a.dtype.kind != "f":
        raise TypeError(f"{op} needs a floating-point input (float32 or float64), got {a.dtype}; "
                        "convert it with .astype(numpy.float32)")


def pair(value, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair of ints -> (h, w), for kernel_size, stride and padding."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    pair_ = (value, value) if is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair_) != 2 or not all(is_int(v) for v in pair_):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    return int(pair_[0]), int(pair_[1])
