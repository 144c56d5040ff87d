"""Sliding windows, shared by convolution (§3.5) and max pooling (§3.4): their (h, w) arguments
and the size of their output."""
from __future__ import annotations

import numbers


def pair(value, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair of ints -> (h, w), for kernel_size, stride and padding."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    pair_ = (value, value) if is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair_) != 2 or not all(is_int(v) for v in pair_):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    return int(pair_[0]), int(pair_[1])


def conv_out_size(size: int, k: int, s: int, p: int) -> int:
    """Output length of a window of ``k`` at stride ``s`` over ``size`` padded by ``p`` each side.

    Floor mode (§3.1: 227 -> 55 for conv1's 11x11 kernels at stride 4; §3.4: 55 -> 27 for
    3x3 pooling at stride 2): ``(size + 2p - k) // s + 1``. Every layer and model imports it.
    """
    if k < 1 or s < 1 or p < 0:
        raise ValueError(f"need kernel >= 1, stride >= 1, padding >= 0; got kernel {k}, stride {s}, padding {p}")
    if k > size + 2 * p:
        raise ValueError(
            f"kernel size {k} is larger than the padded input ({size} + 2*{p} = {size + 2 * p}); "
            "use a smaller kernel, more padding, or a larger input"
        )
    return (size + 2 * p - k) // s + 1
