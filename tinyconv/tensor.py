"""``Tensor``: an array plus the record of how it was computed, and reverse-mode autodiff.

A Tensor holds a plain NumPy or CuPy array in ``.data``. When it comes out of a
:class:`~tinyconv.function.Function` whose inputs need gradients, it remembers
that Function as ``.creator``; the creators link back through their inputs and
form the computation graph. ``loss.backward()`` walks that graph once in
reverse topological order (every Function after all the Functions that use its
output), applying the chain rule and summing the gradients of Tensors used more
than once. Only leaves (parameters and inputs made by the user) keep ``.grad``.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from . import backend

_grad_enabled = contextvars.ContextVar("tinyconv_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    return _grad_enabled.get()


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` operations record no graph (evaluation, optimiser updates)."""
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


def _ops():
    from .functional import basic  # late import: basic builds on Tensor

    return basic


class Tensor:
    """An array that can take part in automatic differentiation."""

    __array_priority__ = 100  # make `ndarray * Tensor` call Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if not backend.is_cupy_array(data):
            data = np.asarray(data)
        self.data = data
        self.requires_grad = requires_grad
        self.grad = None
        self.creator = None
        self.name = name

    # ----- description -------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    xp = property(lambda self: backend.xp_of(self.data))
    device = property(lambda self: backend.device_of(self.data))

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({backend.to_numpy(self.data)!r}, device='{self.device}'{grad})"

    def numpy(self) -> np.ndarray:
        return backend.to_numpy(self.data)

    def item(self) -> float:
        return self.numpy().item()

    def detach(self) -> "Tensor":
        """The same array, cut off from the graph."""
        return Tensor(self.data)

    def to(self, dev) -> "Tensor":
        """Differentiable copy to another device (gradients flow back to this one)."""
        from .functional.device import copy_to

        return copy_to(self, dev)

    # ----- reverse-mode differentiation -------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the upstream gradient (ones for a scalar). Saved arrays are freed as
        the pass goes unless ``retain_graph=True``; a second pass then raises.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: "
                               "no input of the computation had requires_grad=True")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar, got shape {self.shape}; "
                                   "pass grad= with the output's shape")
            grad = self.xp.ones_like(self.data)
        if self.creator is None:  # backward on a leaf: its gradient is the upstream one
            self.grad = grad if self.grad is None else self.grad + grad
            return
        grads = {id(self): grad}
        for fn, output in _topological_order(self):
            gy = grads.pop(id(output), None)
            if gy is None:
                continue
            if fn.released:
                raise RuntimeError(
                    "backward() through the graph a second time: its saved arrays were freed by the "
                    "first pass; call the first backward with retain_graph=True"
                )
            fn.retain_graph = retain_graph       # when False, backward may drop saved arrays early
            with backend.device_of(gy).context():  # the op's kernels run where its arrays are
                gxs = fn.backward(gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                with backend.device_of(gx).context():  # a copy_to's gradient is on its input's device
                    if x.creator is None:  # a leaf: keep its gradient
                        x.grad = gx if x.grad is None else x.grad + gx
                    else:
                        grads[id(x)] = gx if id(x) not in grads else grads[id(x)] + gx
            if not retain_graph:
                fn.release()

    # ----- operators (each one a Function in functional/basic.py) ---------------------
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().sub(self, other)
    def __rsub__(self, other): return _ops().sub(other, self)
    def __mul__(self, other): return _ops().mul(self, other)
    def __rmul__(self, other): return _ops().mul(other, self)
    def __truediv__(self, other): return _ops().div(self, other)
    def __rtruediv__(self, other): return _ops().div(other, self)
    def __neg__(self): return _ops().neg(self)
    def __pow__(self, exponent): return _ops().pow(self, exponent)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __getitem__(self, index): return _ops().getitem(self, index)

    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def reshape(self, *shape): return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)
    def transpose(self, *axes): return _ops().transpose(self, axes or None)
    def exp(self): return _ops().exp(self)
    def log(self): return _ops().log(self)

    @property
    def T(self): return _ops().transpose(self, None)


def _topological_order(root: Tensor):
    """(function, its output) pairs, each function after every function that consumes its output."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:  # iterative depth-first search: deep nets would overflow Python's recursion
        tensor, expanded = stack.pop()
        fn = tensor.creator
        if fn is None:
            continue
        if expanded:
            order.append((fn, tensor))
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((tensor, True))
        stack.extend((x, False) for x in fn.inputs)
    return reversed(order)
