"""The ``Function`` base class: one differentiable operation and its place in the graph.

A Function turns input Tensors into one output Tensor. Subclasses write two
methods on plain arrays:

* ``forward(self, *arrays)`` returns the output array and saves on ``self``
  whatever the backward pass needs (``self.col``, ``self.mask``, ...);
* ``backward(self, gy)`` receives the gradient of the loss with respect to the
  output and returns one gradient per input (``None`` where an input is not
  differentiable).

``self.xp`` (numpy or cupy) is set from the inputs before ``forward`` runs, so
one body serves the CPU and the GPU.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor, is_grad_enabled

# Attributes the graph itself needs; everything else on a Function is saved state.
_GRAPH_ATTRS = frozenset({"inputs", "xp", "released"})


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """Wrap arrays and Python numbers; numbers take the dtype and device of ``like``."""
    if isinstance(value, Tensor):
        return value
    if like is not None and np.isscalar(value):
        return Tensor(like.xp.asarray(value, dtype=like.dtype))
    return Tensor(value)


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    def __call__(self, *inputs) -> Tensor:
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        tensors = [as_tensor(x, like) for x in inputs]
        self._check_devices(tensors)
        self.xp = tensors[0].xp
        with backend.device_of(tensors[0].data).context():
            y = Tensor(self.forward(*(t.data for t in tensors)))
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            self.inputs = tensors
            self.released = False
            y.requires_grad = True
            y.creator = self
        return y

    def _check_devices(self, tensors) -> None:
        devices = {str(backend.device_of(t.data)) for t in tensors}
        if len(devices) > 1:
            raise RuntimeError(
                f"{type(self).__name__} got arrays on different devices ({', '.join(sorted(devices))}); "
                "move them to one device first with tensor.to(device) or tinyconv.functional.copy_to"
            )

    def needs_input_grad(self, i: int) -> bool:
        """Whether input ``i`` takes part in the gradient; ``backward`` may return None for it and skip
        the work (conv1's input gradient, the images', is never used). True when no graph was recorded."""
        inputs = getattr(self, "inputs", None)
        return inputs is None or inputs[i].requires_grad

    def may_free_saved(self) -> bool:
        """True inside a ``backward`` after which the graph is released (no ``retain_graph``): the
        op may drop a saved array as soon as it has used it, lowering the pass's peak memory."""
        return getattr(self, "retain_graph", True) is False

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def release(self) -> None:
        """Drop the saved arrays once backward has used them (frees memory; see retain_graph)."""
        for name in [k for k in vars(self) if k not in _GRAPH_ATTRS]:
            delattr(self, name)
        self.released = True
