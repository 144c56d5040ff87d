"""The checks every op makes of its arrays: number of dimensions and floating-point dtype.

Each op checks its arguments in one place, its reference Function's ``check`` (which its fast
versions inherit) or a ``check_*`` function that the layer in ``nn/`` calls as well, and the
errors name what was wrong and how to fix it.
"""
from __future__ import annotations


def check_ndim(op: str, a, ndim: int, layout: str = "") -> None:
    """Raise a ValueError when ``a`` does not have ``ndim`` dimensions (``layout`` names them)."""
    if a.ndim != ndim:
        hint = f" ({layout})" if layout else ""
        raise ValueError(f"{op} expects a {ndim}-D input{hint}, got shape {tuple(a.shape)}; "
                         "add or remove axes with reshape")


def check_float(op: str, **arrays) -> None:
    """Raise a TypeError unless every array (given by name) is floating point and all share one dtype."""
    for name, a in arrays.items():
        if a is not None and a.dtype.kind != "f":
            raise TypeError(f"{op} needs a floating-point input (float32 or float64), but {name} has dtype "
                            f"{a.dtype}; convert it with {name}.astype(numpy.float32)")
    given = {name: a for name, a in arrays.items() if a is not None}
    if len({a.dtype for a in given.values()}) > 1:
        listed = ", ".join(f"{name} {a.dtype}" for name, a in given.items())
        raise TypeError(f"{op} needs one dtype for all its arrays, got {listed}; convert with .astype(...)")
