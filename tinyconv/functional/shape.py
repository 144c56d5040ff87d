"""``flatten``: the step from the last pooled maps to the first fully connected layer (§3.5)."""
from __future__ import annotations

from ..tensor import Tensor
from .basic import reshape


def flatten(x):
    """(N, ...) -> (N, -1): the 256 x 6 x 6 maps of layer 5 become the 9216 inputs of layer 6 (§3.5)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 1:
        raise ValueError("flatten needs an array with a batch axis, got a 0-d array")
    return reshape(x, (x.shape[0], -1))
