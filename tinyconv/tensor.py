"""``Tensor``: an array plus the record of how it was computed, and reverse-mode autodiff.

A Tensor holds a plain NumPy or CuPy array in ``.data``. When it comes out of a
:class:`~tinyconv.function.Function` whose inputs need gradients, it remembers
that Function as ``.creator``; the creators link back through their inputs and
form the computation graph. ``loss.backward()`` walks that graph once in
reverse topological order (every Function after all the Functions that use its
output), applying the chain rule and summing the gradients of Tensors used more
than once. Only leaves (parameters and inputs made by the user) keep ``.grad``.
After each Function's backward the engine frees the arrays it saved for it
(:meth:`~tinyconv.function.Function.save_for_backward`), unless ``retain_graph=True``.

This module and :mod:`tinyconv.function` are the two halves of the engine, kept as two
files because each is one idea with a one-way dependency: a Function builds Tensors and
links them (function.py imports this module), and this module walks what the Functions
recorded, calling only their ``backward`` and ``free_saved``. The arithmetic operators
(``+``, ``@``, ``x[i]``, ``x.sum()``, ...) are Functions too; they are attached to Tensor
once, by :mod:`tinyconv.functional.operators` when the package is imported.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from . import backend

_grad_enabled = contextvars.ContextVar("tinyconv_grad_enabled", default=True)
_freeing_saved = contextvars.ContextVar("tinyconv_freeing_saved", default=False)


def is_grad_enabled() -> bool:
    return _grad_enabled.get()


def frees_saved_arrays() -> bool:
    """True inside a backward pass that frees each Function's saved arrays after its backward
    (``retain_graph=False``): an op may then let go of a saved array as soon as it has used it."""
    return _freeing_saved.get()


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` operations record no graph (evaluation, optimiser updates)."""
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


def _as_array(data):
    """``data`` as a NumPy or CuPy array of numbers; a TypeError for anything else."""
    if isinstance(data, Tensor):
        return data.data
    array = data if backend.is_cupy_array(data) else np.asarray(data)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"a Tensor holds numbers, got {type(data).__name__} data of dtype {array.dtype} "
                        f"({data!r:.60}); pass numbers, a list of numbers or a numeric array")
    return array


class Tensor:
    """An array that can take part in automatic differentiation."""

    __array_priority__ = 100  # make `ndarray * Tensor` call Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        self.data = _as_array(data)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad=True needs floating-point data (gradients are real numbers), got "
                            f"dtype {self.data.dtype}; convert it first, e.g. Tensor(data.astype(numpy.float32), "
                            "requires_grad=True)")
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

    # ----- reverse-mode differentiation -------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the upstream gradient, an array or Tensor of this tensor's shape, dtype and
        device (ones for a scalar when left out). Saved arrays are freed as the pass goes unless
        ``retain_graph=True``; a second pass then raises.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: "
                               "no input of the computation had requires_grad=True")
        grad = self._upstream_gradient(grad)
        if self.creator is None:  # backward on a leaf: its gradient is the upstream one
            self.grad = grad if self.grad is None else self.grad + grad
            return
        grads = {id(self): grad}
        token = _freeing_saved.set(not retain_graph)
        try:
            for fn, output in _topological_order(self):
                gy = grads.pop(id(output), None)
                if gy is not None:
                    self._backward_through(fn, gy, grads, retain_graph)
        finally:
            _freeing_saved.reset(token)

    @staticmethod
    def _backward_through(fn, gy, grads, retain_graph) -> None:
        """One step of the chain rule: ``fn``'s backward, its input gradients summed into ``grads``
        (or into ``.grad`` for leaves), then its saved arrays freed."""
        if fn.saved is None:
            raise RuntimeError("backward() through the graph a second time: its saved arrays were freed by the "
                               "first pass; call the first backward with retain_graph=True")
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
            fn.free_saved()

    def _upstream_gradient(self, grad):
        """``grad`` checked against this tensor (shape, dtype, device) as an array; ones for a scalar."""
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar, got shape {self.shape}; "
                                   "pass grad= with the output's shape")
            return self.xp.ones_like(self.data)
        if isinstance(grad, Tensor):
            grad = grad.data
        if not (isinstance(grad, np.ndarray) or backend.is_cupy_array(grad)):
            raise TypeError(f"backward(grad) takes an array or a Tensor, got {type(grad).__name__}; "
                            f"make one with numpy.asarray(grad, dtype=numpy.{self.dtype})")
        if grad.shape != self.shape:
            raise ValueError(f"backward(grad): grad has shape {grad.shape} but the tensor has shape {self.shape}; "
                             "the upstream gradient needs the tensor's own shape")
        if grad.dtype != self.dtype:
            raise TypeError(f"backward(grad): grad has dtype {grad.dtype} but the tensor has dtype {self.dtype}; "
                            f"convert it with grad.astype(numpy.{self.dtype})")
        if backend.device_of(grad) != self.device:
            raise ValueError(f"backward(grad): grad is on {backend.device_of(grad)} but the tensor is on "
                             f"{self.device}; move it with tinyconv.backend.to_device(grad, '{self.device}')")
        return grad


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
