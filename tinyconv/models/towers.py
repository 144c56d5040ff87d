"""What the AlexNet family shares: :class:`Layers` (named layers run in order, walked one by one
for :func:`~tinyconv.models.summary`), the §3.3 and §3.4 settings, and :class:`TwoTowerNet`, the
builder of the small members from a short description (:class:`Spec`; AlexNet itself is written
out layer by layer in :mod:`tinyconv.models.alexnet`).

Every member of the family (AlexNet itself and the small nets for 28, 32 and 64 pixel
images) has the paper's layout: five convolutional layers, each followed by a ReLU (§3.1),
local response normalization after the first two (§3.3), overlapping 3x3 max pooling at
stride 2 after both normalizations and after the fifth convolution (§3.4), then two hidden
fully connected layers with ReLU and dropout (§4.2) and a last fully connected layer that
gives the class scores.

The two GPU towers of §3.2 are kept on one device as channel groups: a convolution that in
the paper reads only the maps of its own GPU (conv2, conv4, conv5) has ``groups=2``, one
that reads both GPUs (conv3) has ``groups=1``, and LRN normalizes within each tower
(``groups=2``). Tower 0 is always the first half of the channels, tower 1 the second, so
the device-split model (:mod:`tinyconv.models.split`) computes exactly the same function.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import init
from ..functional.windows import conv_out_size
from ..nn import Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, Module, ReLU
from ..tensor import Tensor

LRN = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)   # §3.3: n = 5, alpha = 1e-4, beta = 0.75, k = 2
POOL = dict(kernel_size=3, stride=2)                # §3.4: z = 3, s = 2 (overlapping)


@dataclass(frozen=True)
class Conv:
    """One convolutional layer and what follows it (§3.5).

    ``own_tower``: each tower reads only its own half of the previous maps (``groups=2``); False
    means it reads both towers (§3.2: conv3, and conv1 which reads the image). ``bias_one``: §5
    starts this layer's biases at ``bias_init`` (1 in the paper) instead of 0. ``pool``: the
    padding of a 3x3 stride-2 max pooling after the layer, or None for no pooling.
    """

    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    own_tower: bool = False
    bias_one: bool = False
    lrn: bool = False
    pool: int | None = None


@dataclass(frozen=True)
class Spec:
    """A member of the family: input, convolutional layers, widths of the hidden FC layers."""

    name: str
    in_channels: int
    input_size: int
    convs: tuple
    hidden: tuple

    def conv_shapes(self):
        """(channels, height) after each conv layer and after its pooling, for ``input_size`` inputs."""
        size, shapes = self.input_size, []
        for c in self.convs:
            size = conv_out_size(size, c.kernel_size, c.stride, c.padding)
            pooled = size if c.pool is None else conv_out_size(size, POOL["kernel_size"], POOL["stride"], c.pool)
            shapes.append((c.out_channels, size, pooled))
            size = pooled
        return shapes

    def features(self) -> int:
        """Inputs of the first FC layer: the last pooled maps flattened (§3.5: 256*6*6 = 9216)."""
        channels, _, pooled = self.conv_shapes()[-1]
        return channels * pooled * pooled


def check_image_shape(x, model: str, want, hint: str = "") -> None:
    """Raise a ValueError naming the (C, H, W) images ``model`` needs when ``x`` has another shape."""
    shape = tuple(x.shape)
    if want is not None and (len(shape) != 4 or shape[1:] != tuple(want)):
        raise ValueError(f"{model} needs inputs of shape (N, {want[0]}, {want[1]}, {want[2]}) "
                         f"({want[0]}x{want[1]}x{want[2]} images, NCHW), got shape {shape}{hint}")


class Step(NamedTuple):
    """One layer of a forward pass, as :meth:`walk` reports it (for :func:`~tinyconv.models.summary`).

    ``layers`` and ``outputs`` hold one entry per tower that ran the layer (one on a single
    device); ``crossed`` counts the values copied between devices to feed this layer.
    """

    name: str
    layers: tuple
    outputs: tuple
    crossed: int = 0


class Layers(Module):
    """A Module whose named layers run in the order they were added."""

    input_shape: tuple = None   # (C, H, W) of one input image, where the model fixes it
    size_hint: str = ""         # appended to the wrong-input-size error

    def __init__(self):
        super().__init__()
        self.layer_names = []

    def add(self, name: str, layer: Module) -> None:
        setattr(self, name, layer)
        self.layer_names.append(name)

    def weighted_layers(self):
        """(name, layer) for each layer with a weight (the conv and FC layers), in order."""
        return [(name, getattr(self, name)) for name in self.layer_names
                if getattr(getattr(self, name), "weight", None) is not None]

    def check_input(self, x) -> None:
        """Raise a ValueError naming the shape the model needs when ``x`` has another."""
        check_image_shape(x, type(self).__name__, self.input_shape, self.size_hint)

    def walk(self, x):
        """Run the layers one by one, yielding a :class:`Step` after each."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        self.check_input(x)
        for name in self.layer_names:
            layer = getattr(self, name)
            x = layer(x)
            yield Step(name, (layer,), (x,))

    def forward(self, x):
        """Class scores (N, num_classes) of images x (N, C, H, W); softmax is in the loss."""
        for step in self.walk(x):
            pass
        return step.outputs[0]


def dropout_seed(seed: int, layer: int) -> int:
    """The seed of the dropout after FC layer ``layer``: every dropout layer draws its own masks."""
    return 100 * seed + layer


def check_options(num_classes, bias_init, dropout, dropout_mode) -> None:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if not isinstance(bias_init, (int, float)) or isinstance(bias_init, bool):
        raise TypeError(f"bias_init is a number (1.0 in §5, 0.1 in Caffe's AlexNet), got {bias_init!r}")
    Dropout(dropout, dropout_mode)  # raises a clear error for a bad p or mode


class TwoTowerNet(Layers):
    """Base of the small members (models/small.py); subclasses set ``spec`` (see the module docstring).

    Weights are drawn N(0, 0.01) from ``numpy.random.default_rng(seed)`` layer by layer; biases
    are ``bias_init`` where §5 says 1 and 0 elsewhere. ``dropout_mode`` is "paper" (scale by
    1 - p at test time, §4.2) or "inverted". ``dtype`` float64 is for gradient checks.
    """

    spec: Spec = None

    def __init__(self, num_classes: int = 10, bias_init: float = 1.0, dropout_mode: str = "paper",
                 seed: int = 0, dropout: float = 0.5, dtype=np.float32):
        super().__init__()
        check_options(num_classes, bias_init, dropout, dropout_mode)
        spec = self.spec
        self.num_classes = num_classes
        self.options = dict(num_classes=num_classes, bias_init=bias_init, dropout_mode=dropout_mode,
                            seed=seed, dropout=dropout, dtype=np.dtype(dtype))
        rng = np.random.default_rng(seed)
        ones = []   # layers whose biases start at bias_init (§5)
        channels = spec.in_channels
        for i, c in enumerate(spec.convs, 1):
            conv = Conv2d(channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                          groups=2 if c.own_tower else 1, rng=rng, dtype=dtype)
            self.add(f"conv{i}", conv)
            self.add(f"relu{i}", ReLU())
            if c.lrn:
                self.add(f"norm{i}", LocalResponseNorm(**LRN, groups=2))   # within each tower (§3.2)
            if c.pool is not None:
                self.add(f"pool{i}", MaxPool2d(**POOL, padding=c.pool))
            ones += [conv] if c.bias_one else []
            channels = c.out_channels
        self.add("flatten", Flatten())
        width = spec.features()
        for i, hidden in enumerate(spec.hidden, len(spec.convs) + 1):
            fc = Linear(width, hidden, rng=rng, dtype=dtype)
            self.add(f"fc{i}", fc)
            self.add(f"relu{i}", ReLU())
            self.add(f"drop{i}", Dropout(dropout, dropout_mode, dropout_seed(seed, i)))
            ones.append(fc)
            width = hidden
        self.add(f"fc{len(spec.convs) + len(spec.hidden) + 1}", Linear(width, num_classes, rng=rng, dtype=dtype))
        for layer in ones:
            init.constant_(layer.bias, bias_init)

    @property
    def input_shape(self) -> tuple:
        """(C, H, W) of one input image."""
        return (self.spec.in_channels, self.spec.input_size, self.spec.input_size)
