"""``Parameter``: a Tensor that a Module trains (weights and biases)."""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor with ``requires_grad=True`` that a :class:`~tinyconv.nn.Module` registers.

    Assigning a Parameter to a Module attribute (``self.weight = Parameter(...)``) is what makes
    it appear in ``module.parameters()``, in ``state_dict()`` and in the optimiser.
    """

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype}, device='{backend.device_of(self.data)}')"
