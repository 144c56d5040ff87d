"""``Module``: a layer or a network that owns Parameters, buffers and sub-Modules.

Attributes register themselves, as in PyTorch: assigning a :class:`Parameter` or a
Module to ``self.name`` is all a layer does to have it found by ``parameters()``,
``state_dict()``, ``train()``/``eval()`` and ``to(device)``. The order of assignment
is the order of iteration, and names are dotted paths (``"features.0.weight"``).

Buffers (:meth:`Module.register_buffer`) are arrays that are saved and restored but
not trained, such as the call counter of :class:`~tinyconv.nn.Dropout`.

Training mode is module state (``.training``) that a layer passes explicitly to its
op (``dropout(x, p, training=self.training)``); there is no global flag.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import backend
from .parameter import Parameter


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _as_array(value):
    """NumPy and CuPy arrays as they are; anything else (numbers, lists) as a NumPy array."""
    return value if backend.is_cupy_array(value) else np.asarray(value)


def _fresh_copy(array, dev):
    """A copy of ``array`` on ``dev`` that shares no memory with ``array``."""
    moved = backend.to_device(array, dev)
    return moved.copy() if moved is array else moved


class Module:
    """Base class of every layer and network (see the module docstring)."""

    def __init__(self):
        self._buffers = {}      # buffer name -> True when it stays on the host under to(device)
        self.training = True

    def __getattr__(self, name):  # only called when normal lookup fails
        if name in ("_buffers", "training"):
            raise AttributeError(f"{type(self).__name__} has no '{name}': call super().__init__() "
                                 "at the start of its __init__")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ----- registration ------------------------------------------------------------
    def register_buffer(self, name: str, array, host: bool = False) -> None:
        """Keep ``array`` as ``self.<name>``: saved in ``state_dict()``, not trained.

        ``host=True`` keeps it a NumPy array under ``to(device)``: for bookkeeping that
        Python reads every step (a counter), so reading it never waits for the GPU.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"buffer name must be an identifier, got {name!r}")
        if isinstance(array, (Parameter, Module)):
            raise TypeError(f"buffer '{name}' must be an array, got {type(array).__name__}")
        array = _as_array(array)
        self._buffers[name] = host
        setattr(self, name, backend.to_device(array, "cpu") if host else array)

    def named_children(self):
        """(name, module) for each direct sub-Module, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return (module for _, module in self.named_children())

    def named_modules(self, prefix: str = ""):
        """(dotted name, module) for this module ("") and every descendant, parents first."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            kids = [(_join(name, k), m) for k, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_parameters(self):
        """(dotted name, Parameter) for every Parameter, each once even if shared."""
        seen = set()
        for prefix, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(prefix, name), value

    def parameters(self):
        return (param for _, param in self.named_parameters())

    def named_buffers(self):
        """(dotted name, array) for every buffer."""
        for full, module, name, _ in self._buffer_slots():
            yield full, getattr(module, name)

    def _buffer_slots(self):
        """(dotted name, owning module, attribute name, kept on host) for every buffer."""
        for prefix, module in self.named_modules():
            for name, host in module._buffers.items():
                yield _join(prefix, name), module, name, host

    # ----- state ---------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set ``.training`` on this module and every descendant (Dropout reads it)."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) takes True or False, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget accumulated gradients (``.grad = None``; the next backward starts afresh)."""
        for param in self.parameters():
            param.grad = None

    def to(self, dev) -> "Module":
        """Move every parameter (and its gradient) and buffer to ``dev``, in place; returns self."""
        dev = backend.device(dev)
        for param in self.parameters():
            param.data = backend.to_device(param.data, dev)
            if param.grad is not None:
                param.grad = backend.to_device(param.grad, dev)
        for _, module, name, host in self._buffer_slots():
            if not host:
                setattr(module, name, backend.to_device(getattr(module, name), dev))
        return self

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Dotted name -> NumPy copy of every parameter, then every buffer.

        The values are fresh host arrays (no views of the model), so the dict is a snapshot
        that can be saved with ``numpy.savez`` and is unaffected by later training.
        """
        state = OrderedDict((name, _fresh_copy(p.data, "cpu")) for name, p in self.named_parameters())
        state.update((name, _fresh_copy(b, "cpu")) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy ``state`` (as from :meth:`state_dict`) into this module, on its current devices.

        Every problem is checked before anything is copied, and all of them are reported
        together: names missing from ``state`` or not in the module (only when ``strict``),
        and shapes or dtypes that differ (always).
        """
        targets = self._state_targets()
        problems = []
        if strict:
            missing = [name for name in targets if name not in state]
            unexpected = [name for name in state if name not in targets]
            if missing:
                problems.append(f"missing keys (in the module, not in the state dict): {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected keys (in the state dict, not in the module): {', '.join(unexpected)}")
        for name, (current, _) in targets.items():
            if name not in state:
                continue
            value = _as_array(state[name])
            if tuple(value.shape) != tuple(current.shape):
                problems.append(f"'{name}': shape {tuple(value.shape)} in the state dict, "
                                f"{tuple(current.shape)} in the module")
            elif value.dtype != current.dtype:
                problems.append(f"'{name}': dtype {value.dtype} in the state dict, {current.dtype} in "
                                f"the module; convert with .astype('{current.dtype}') first")
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed:\n  " + "\n  ".join(problems))
        for name, (current, assign) in targets.items():
            if name in state:
                assign(_fresh_copy(_as_array(state[name]), backend.device_of(current)))

    def _state_targets(self):
        """Dotted name -> (current array, function that replaces it) for parameters and buffers."""
        targets = OrderedDict()
        for name, param in self.named_parameters():
            targets[name] = (param.data, lambda a, p=param: setattr(p, "data", a))
        for full, module, name, _ in self._buffer_slots():
            targets[full] = (getattr(module, name), lambda a, m=module, b=name: setattr(m, b, a))
        return targets

    # ----- printing ------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings for ``repr`` (``"3, 96, kernel_size=(11, 11)"``)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
