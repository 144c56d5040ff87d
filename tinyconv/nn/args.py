"""Checks of layer constructor arguments, so a wrong setting fails when the layer is built."""
from __future__ import annotations

from ..functional.windows import pair as _int_pair


def positive_int(value, name: str, minimum: int = 1) -> int:
    """``value`` if it is an int >= ``minimum``; otherwise a ValueError naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def pair(value, name: str, minimum: int = 1) -> tuple:
    """``value`` as an (h, w) pair of ints >= ``minimum``; an int means the same for both."""
    return tuple(positive_int(v, name, minimum) for v in _int_pair(value, name))
