"""A per-layer table of a model: output shape, parameters, multiply-adds, activation memory.

``print(summary(AlexNet(), (3, 227, 227)))`` walks one image through the model (in
evaluation mode, without recording a graph) and counts, for each layer:

* the output shape, for the batch asked for;
* the parameters (weights and biases);
* the multiply-adds of the forward pass: each output value of a conv or FC layer is a dot
  product over one kernel, ``weight[0].size`` terms (C/groups * KH * KW, or in_features);
* the memory of its output activations at ``bytes_per_value`` (4: float32), which training
  keeps until the backward pass;
* for the device-split model, the bytes copied between the devices for that layer in a
  training step (activations forward, their gradients back, §3.2).

Works for any model with a ``walk(x)`` method (every family member, split or not) and for
:class:`~tinyconv.nn.Sequential`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..nn import Sequential
from ..tensor import Tensor, no_grad
from .towers import Step


@dataclass
class Row:
    name: str
    kind: str
    shape: str
    params: int
    mult_adds: int
    activation_bytes: int
    crossing_bytes: int


@dataclass
class Summary:
    """The table (``rows``) and its totals; ``str(summary)`` is the printable table."""

    model: str
    input_shape: tuple
    rows: list = field(default_factory=list)

    params = property(lambda self: sum(r.params for r in self.rows))
    mult_adds = property(lambda self: sum(r.mult_adds for r in self.rows))
    activation_bytes = property(lambda self: sum(r.activation_bytes for r in self.rows))
    bytes_between_devices = property(lambda self: sum(r.crossing_bytes for r in self.rows))

    def __str__(self) -> str:
        head = ("layer", "type", "output shape", "params", "mult-adds", "activations", "between devices")
        body = [(r.name, r.kind, r.shape, f"{r.params:,}", f"{r.mult_adds:,}", _bytes(r.activation_bytes),
                 _bytes(r.crossing_bytes) if r.crossing_bytes else "") for r in self.rows]
        total = ("total", "", "", f"{self.params:,}", f"{self.mult_adds:,}", _bytes(self.activation_bytes),
                 _bytes(self.bytes_between_devices) if self.bytes_between_devices else "")
        widths = [max(len(line[i]) for line in [head, total, *body]) for i in range(len(head))]

        def fmt(line):
            return "  ".join(s.ljust(w) if i < 3 else s.rjust(w) for i, (s, w) in enumerate(zip(line, widths)))

        rule = "-" * len(fmt(head))
        title = f"{self.model}, input {self.input_shape}"
        return "\n".join([title, rule, fmt(head), rule, *map(fmt, body), rule, fmt(total)])


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _steps(model, x):
    if hasattr(model, "walk"):
        return model.walk(x)
    if isinstance(model, Sequential):
        return _walk_sequential(model, x)
    raise TypeError(f"summary needs a model with a walk(x) method (the tinyconv.models family) or a "
                    f"tinyconv.nn.Sequential, got {type(model).__name__}")


def _walk_sequential(model, x):
    for name, layer in model.named_children():
        x = layer(x)
        yield Step(name, (layer,), (x,))


def _row(step: Step, batch: int, bytes_per_value: int) -> Row:
    params = mult_adds = 0
    for layer, out in zip(step.layers, step.outputs):
        weight = getattr(layer, "weight", None)
        params += sum(p.size for p in layer.parameters())
        mult_adds += out.size * weight[0].size if weight is not None else 0
    shapes = [(batch, *out.shape[1:]) for out in step.outputs]
    shape = str(shapes[0]) if len(shapes) == 1 else f"2 x {shapes[0]}" if shapes[0] == shapes[1] else str(shapes)
    kind = type(step.layers[0]).__name__ + ("" if len(step.layers) == 1 else f" x{len(step.layers)}")
    activations = sum(out.size for out in step.outputs)
    return Row(step.name, kind, shape, params, batch * mult_adds, batch * activations * bytes_per_value,
               2 * batch * step.crossed * bytes_per_value)


def summary(model, input_shape, bytes_per_value: int = 4) -> Summary:
    """Per-layer table of ``model`` for inputs of ``input_shape``: (C, H, W), or (N, C, H, W) for a batch.

    One image goes through the model on its first parameter's device; counts are scaled to
    the batch N. The model's training flags are restored afterwards (dropout counters do
    not move: the walk runs in evaluation mode).
    """
    shape = tuple(input_shape)
    if len(shape) not in (3, 4) or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"input_shape is (C, H, W) or (N, C, H, W) of positive ints, got {input_shape!r}")
    batch, image = (1, shape) if len(shape) == 3 else (shape[0], shape[1:])
    param = next(iter(model.parameters()), None)
    if param is None:
        raise ValueError(f"{type(model).__name__} has no parameters to take a device and dtype from")
    x = Tensor(backend.to_device(np.zeros((1, *image), dtype=param.dtype), param.device))
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            rows = [_row(step, batch, bytes_per_value) for step in _steps(model, x)]
    finally:
        for module, training in flags:
            module.training = training
    return Summary(type(model).__name__, (batch, *image), rows)
