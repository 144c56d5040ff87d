"""The ``Function`` base class: one differentiable operation and its place in the graph.

A Function turns input Tensors into one output Tensor. Subclasses write two
methods on plain arrays:

* ``forward(self, *arrays)`` returns the output array and says what the backward
  pass needs with ``self.save_for_backward(col, weight)``;
* ``backward(self, gy)`` receives the gradient of the loss with respect to the
  output, reads ``col, weight = self.saved``, and returns one gradient per input
  (``None`` where an input is not differentiable).

``self.xp`` (numpy or cupy) is set from the inputs before ``forward`` runs, so
one body serves the CPU and the GPU. ``check(self, *arrays)`` may raise a clear
error for inputs the op cannot compute through; it runs before ``forward``, so
the faster versions of an op (:mod:`tinyconv.dispatch`) share their reference's
checks. What a Function keeps besides its saved arrays (shapes, settings) is
small and lives as plain attributes. After the backward pass the engine
(:meth:`tinyconv.tensor.Tensor.backward`) calls :meth:`Function.free_saved`.

This is the second half of the engine; :mod:`tinyconv.tensor` says why the two stay
two files.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor, frees_saved_arrays, is_grad_enabled


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """Wrap arrays and Python numbers; numbers take the dtype and device of ``like``."""
    if isinstance(value, Tensor):
        return value
    if like is not None and np.isscalar(value):
        return Tensor(like.xp.asarray(value, dtype=like.dtype))
    return Tensor(value)


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    saved = ()      # the arrays backward needs (save_for_backward); None once the engine freed them

    def __call__(self, *inputs) -> Tensor:
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        tensors = [as_tensor(x, like) for x in inputs]
        self._check_devices(tensors)
        self.xp = tensors[0].xp
        arrays = [t.data for t in tensors]
        self.check(*arrays)
        with backend.device_of(arrays[0]).context():
            y = Tensor(self.forward(*arrays))
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            self.inputs = tensors
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

    def check(self, *arrays) -> None:
        """Raise a clear error for inputs ``forward`` cannot compute through (none by default)."""

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def save_for_backward(self, *arrays) -> None:
        """Keep ``arrays`` for ``backward`` (as ``self.saved``); the engine frees them after it."""
        self.saved = arrays

    def free_saved(self) -> None:
        """Let go of the saved arrays (the engine calls this after ``backward``, unless retain_graph)."""
        self.saved = None

    def needs_input_grad(self, i: int) -> bool:
        """Whether input ``i`` takes part in the gradient; ``backward`` may return None for it and skip
        the work (conv1's input gradient, the images', is never used). True when no graph was recorded."""
        inputs = getattr(self, "inputs", None)
        return inputs is None or inputs[i].requires_grad

    def may_free_saved(self) -> bool:
        """True inside a ``backward`` after which the engine frees the saved arrays (no ``retain_graph``):
        the op may give back a saved array as soon as it has used it, lowering the pass's peak memory."""
        return frees_saved_arrays()
