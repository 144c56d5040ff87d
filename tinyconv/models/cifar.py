"""The two CIFAR-10 nets of the paper's own checks: Figure 1's four-layer net (§3.1) and the §3.3 net.

§3.1, Figure 1: "A four-layer convolutional neural network with ReLUs (solid line) reaches a 25%
training error rate on CIFAR-10 six times faster than an equivalent network with tanh neurons
(dashed line) [...] No regularization of any kind was employed." :class:`FourLayerNet` is such a
net, three 5x5 convolutions (32, 32, 64 kernels), each followed by the nonlinearity and 3x3
stride-2 max pooling, and one fully connected layer, with ``activation="relu"`` or ``"tanh"``.
Its first layer divides the input (raw pixel values minus the mean image, §2, spread about 64
grey levels) by that spread, so that conv1 sees inputs of unit spread like every later layer: fed
raw pixels, conv1's gradient is 64 times larger and its step 64^2 times larger relative to its
weights than any other layer's, and the net diverges at every learning rate that trains the rest
(measured: loss 4 -> 50 within 5 steps at lr 0.0005). It draws its own weights, scaled to each
layer's fan-in for the nonlinearity that follows (He et al. 2015 for ReLU, LeCun et al. 1998 for
tanh and for the output layer): with §5's N(0, 0.01) the tanh net would start nearly linear and
the ReLU net's signal would shrink about fivefold per layer, handicaps the paper's nets did not have.

§3.3: "On CIFAR-10 [...] a four-layer CNN achieved a 13% test error rate without normalization and
11% with normalization" (cuda-convnet's nets). :class:`ConvNetCIFAR` is that kind of net, the one
``benchmarks/cpu_train_step.py`` times: conv 5x5-64, ReLU, max pool, LRN; conv 5x5-64, ReLU, LRN,
max pool; FC 384, FC 192 (ReLUs), FC 10. ``lrn=False`` leaves the two normalizations out, and
``pool_size=2`` pools 2x2 windows at stride 2 instead of the overlapping 3x3 of §3.4 (padding
keeps the maps 32 -> 16 -> 8 either way, so only the overlap differs).
"""
from __future__ import annotations

import numpy as np

from .. import init
from ..nn import Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, ReLU, Tanh
from ..nn.module import Module
from .towers import LRN, Layers, dropout_seed

ACTIVATIONS = {"relu": (ReLU, 2.0), "tanh": (Tanh, 1.0)}   # layer, gain^2 of its fan-in initialisation
PIXEL_SPREAD = 64.0                                          # grey levels: spread of a CIFAR-10 pixel minus the mean


class Scale(Module):
    """Multiply the input by a constant ``factor`` (no parameters): FourLayerNet's pixels to unit spread."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class FourLayerNet(Layers):
    """Figure 1's net (§3.1): three conv layers and one FC layer, ReLU or tanh, no regularization.

    3x32x32 -> divide by ``input_spread`` -> conv 5x5-32 (pad 2), act, pool -> 32x16x16 -> conv
    5x5-32, act, pool -> 32x8x8 -> conv 5x5-64, act, pool -> 64x4x4 -> FC num_classes. Pooling is
    3x3 at stride 2 padded by 1. Weights from N(0, gain / fan_in) (gain 2 before a ReLU, 1 before
    tanh and for the output layer), biases 0, drawn from ``seed`` (module docstring).
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, activation: str = "relu", seed: int = 0,
                 input_spread: float = PIXEL_SPREAD, dtype=np.float32):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)} (§3.1), got {activation!r}")
        act, gain = ACTIVATIONS[activation]
        self.num_classes = num_classes
        rng = np.random.default_rng(seed)
        self.add("scale", Scale(1.0 / input_spread))                                          # unit spread
        channels = 3
        for i, width in enumerate((32, 32, 64), 1):
            self.add(f"conv{i}", Conv2d(channels, width, 5, padding=2, rng=rng, dtype=dtype))  # (N, width, H, W)
            self.add(f"act{i}", act())
            self.add(f"pool{i}", MaxPool2d(3, 2, padding=1))                                  # H, W halved
            channels = width
        self.add("flatten", Flatten())                                                        # (N, 64*4*4)
        self.add("fc4", Linear(64 * 4 * 4, num_classes, rng=rng, dtype=dtype))               # (N, num_classes)
        for name, layer in self.weighted_layers():
            fan_in = np.prod(layer.weight.shape[1:])
            init.normal_(layer.weight, float(np.sqrt((1.0 if name == "fc4" else gain) / fan_in)), rng)


class ConvNetCIFAR(Layers):
    """The §3.3 CIFAR-10 net (module docstring), with or without LRN, overlapping pooling or not.

    3x32x32 -> conv 5x5-64 (pad 2), ReLU, pool, [LRN] -> 64x16x16 -> conv 5x5-64 (pad 2), ReLU,
    [LRN], pool -> 64x8x8 -> FC 384, ReLU -> FC 192, ReLU -> FC num_classes. LRN has the paper's
    constants (§3.3); pooling is ``pool_size`` x ``pool_size`` at stride 2 (3: overlapping, §3.4).
    Weights start N(0, 0.01) (§5), biases 0, except those of conv2 and the hidden FC layers,
    which start at ``bias_init``; ``dropout`` is applied to the outputs of the hidden FC layers
    (§4.2; 0, none, as in the paper's CIFAR-10 nets).
    """

    input_shape = (3, 32, 32)

    def __init__(self, num_classes: int = 10, lrn: bool = True, pool_size: int = 3, seed: int = 0,
                 bias_init: float = 0.0, dropout: float = 0.0, dropout_mode: str = "paper", dtype=np.float32):
        super().__init__()
        if pool_size not in (2, 3):
            raise ValueError(f"pool_size is 3 (overlapping, §3.4) or 2 (adjacent windows), got {pool_size!r}")
        self.num_classes = num_classes
        rng = np.random.default_rng(seed)
        pool = dict(kernel_size=pool_size, stride=2, padding=(pool_size - 1) // 2)           # 32 -> 16 -> 8
        self.add("conv1", Conv2d(3, 64, 5, padding=2, rng=rng, dtype=dtype))                 # (N, 64, 32, 32)
        self.add("relu1", ReLU())
        self.add("pool1", MaxPool2d(**pool))                                                 # (N, 64, 16, 16)
        if lrn:
            self.add("norm1", LocalResponseNorm(**LRN))
        self.add("conv2", Conv2d(64, 64, 5, padding=2, rng=rng, dtype=dtype))                # (N, 64, 16, 16)
        self.add("relu2", ReLU())
        if lrn:
            self.add("norm2", LocalResponseNorm(**LRN))
        self.add("pool2", MaxPool2d(**pool))                                                 # (N, 64, 8, 8)
        self.add("flatten", Flatten())                                                       # (N, 4096)
        width = 64 * 8 * 8
        for i, hidden in enumerate((384, 192), 3):
            self.add(f"fc{i}", Linear(width, hidden, rng=rng, dtype=dtype))
            self.add(f"relu{i}", ReLU())
            if dropout:
                self.add(f"drop{i}", Dropout(dropout, dropout_mode, dropout_seed(seed, i)))
            init.constant_(getattr(self, f"fc{i}").bias, bias_init)
            width = hidden
        self.add("fc5", Linear(width, num_classes, rng=rng, dtype=dtype))                    # (N, num_classes)
        init.constant_(self.conv2.bias, bias_init)
