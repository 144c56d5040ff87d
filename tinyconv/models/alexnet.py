"""AlexNet as §3.5 and Figure 2 describe it, on one device (the towers as channel groups).

Layer by layer, for a 3x227x227 input (the paper says 224x224; 227 is what makes the
11x11 stride-4 conv1 give the 55x55 maps of Figure 2 without padding: (227 - 11) / 4 + 1 = 55.
A 224x224 input would need padding 2 in conv1: (224 + 4 - 11) // 4 + 1 = 55):

=====  ====================================  ======  ===========  ====================
layer  kernels                               groups  output       then
=====  ====================================  ======  ===========  ====================
conv1  96 of 11x11x3, stride 4               1       55x55x96     ReLU, LRN, max pool
conv2  256 of 5x5x48, padding 2              2       27x27x256    ReLU, LRN, max pool
conv3  384 of 3x3x256, padding 1             1       13x13x384    ReLU
conv4  384 of 3x3x192, padding 1             2       13x13x384    ReLU
conv5  256 of 3x3x192, padding 1             2       13x13x256    ReLU, max pool -> 6x6
fc6    9216 -> 4096                                               ReLU, dropout
fc7    4096 -> 4096                                               ReLU, dropout
fc8    4096 -> num_classes                                        (softmax in the loss)
=====  ====================================  ======  ===========  ====================

60,965,224 parameters for 1000 classes. LRN follows conv1 and conv2 and works within each
tower (48 or 128 maps, §3.2/§3.3); pooling is 3x3 at stride 2 (§3.4).

Dropout (§4.2: "We use dropout in the first two fully-connected layers") drops the *outputs*
of fc6 and fc7, after their ReLU, as cuda-convnet's ``dropout=0.5`` on those layers did; the
neurons of those layers are the ones "dropped out". (torchvision's AlexNet puts dropout on the
*inputs* of fc6 and fc7 instead, which also drops the flattened conv5 maps.)

Initialisation (§5): weights N(0, 0.01); biases of conv2, conv4, conv5, fc6 and fc7 set to
``bias_init`` (1 in the paper, "accelerates the early stages of learning by providing the ReLUs
with positive inputs"), the others 0. With 1, reproductions often see the loss stay at
ln(1000) = 6.9 for a long time; Caffe's reference AlexNet (bvlc_alexnet) uses 0.1 for these
biases, hence ``bias_init=0.1`` as the documented alternative.

The layers are written out one by one below, in the order of Figure 2, and ``forward`` reads the
same way; :meth:`~tinyconv.models.towers.Layers.walk` runs them in the order they were added, one
step per layer, for :func:`~tinyconv.models.summary`. :class:`~tinyconv.models.SplitAlexNet` builds
its two towers from these very layers (:mod:`tinyconv.models.split`).
"""
from __future__ import annotations

import numpy as np

from .. import init
from ..nn import Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, ReLU
from .towers import LRN, POOL, Layers, check_options, dropout_seed


class AlexNet(Layers):
    """AlexNet on one device (§3.5, Figure 2; see the module docstring for every layer).

    ``AlexNet(num_classes=1000, bias_init=1.0, dropout_mode="paper", seed=0, dropout=0.5,
    dtype=numpy.float32)``; inputs (N, 3, 227, 227), outputs (N, num_classes) class scores.
    Layers are attributes named as in the paper: ``conv1`` ... ``conv5``, ``fc6`` ... ``fc8``
    (state_dict keys ``"conv1.weight"``, ``"fc8.bias"``, ``"drop6.calls"``), each followed by
    ``reluN``, ``normN``, ``poolN``, ``dropN`` where the paper has them. Weights are drawn
    N(0, 0.01) from ``numpy.random.default_rng(seed)``, conv1 first (§5).
    """

    input_shape = (3, 227, 227)
    size_hint = ("; crop or resize to 227x227 (a 224x224 crop, the size the paper quotes, "
                 "would need padding 2 in conv1 to give the 55x55 maps of Figure 2)")

    def __init__(self, num_classes: int = 1000, bias_init: float = 1.0, dropout_mode: str = "paper",
                 seed: int = 0, dropout: float = 0.5, dtype="float32"):
        super().__init__()
        check_options(num_classes, bias_init, dropout, dropout_mode)
        self.num_classes = num_classes
        self.options = dict(num_classes=num_classes, bias_init=bias_init, dropout_mode=dropout_mode,
                            seed=seed, dropout=dropout, dtype=np.dtype(dtype))
        w = dict(rng=np.random.default_rng(seed), dtype=dtype)           # §5: weights N(0, 0.01), biases 0
        # groups=2: each tower (GPU, §3.2) reads only its own half of the maps; LRN stays in a tower too
        self.add("conv1", Conv2d(3, 96, 11, stride=4, **w))               # (N, 96, 55, 55)
        self.add("relu1", ReLU())
        self.add("norm1", LocalResponseNorm(**LRN, groups=2))            # §3.3
        self.add("pool1", MaxPool2d(**POOL))                             # (N, 96, 27, 27), §3.4
        self.add("conv2", Conv2d(96, 256, 5, padding=2, groups=2, **w))  # (N, 256, 27, 27), own tower
        self.add("relu2", ReLU())
        self.add("norm2", LocalResponseNorm(**LRN, groups=2))
        self.add("pool2", MaxPool2d(**POOL))                             # (N, 256, 13, 13)
        self.add("conv3", Conv2d(256, 384, 3, padding=1, **w))           # (N, 384, 13, 13), both towers
        self.add("relu3", ReLU())
        self.add("conv4", Conv2d(384, 384, 3, padding=1, groups=2, **w))  # (N, 384, 13, 13), own tower
        self.add("relu4", ReLU())
        self.add("conv5", Conv2d(384, 256, 3, padding=1, groups=2, **w))  # (N, 256, 13, 13), own tower
        self.add("relu5", ReLU())
        self.add("pool5", MaxPool2d(**POOL))                             # (N, 256, 6, 6)
        self.add("flatten", Flatten())                                   # (N, 9216)
        self.add("fc6", Linear(9216, 4096, **w))                         # (N, 4096), both towers
        self.add("relu6", ReLU())
        self.add("drop6", Dropout(dropout, dropout_mode, dropout_seed(seed, 6)))  # §4.2
        self.add("fc7", Linear(4096, 4096, **w))                         # (N, 4096)
        self.add("relu7", ReLU())
        self.add("drop7", Dropout(dropout, dropout_mode, dropout_seed(seed, 7)))
        self.add("fc8", Linear(4096, num_classes, **w))                  # (N, num_classes); softmax in the loss
        for layer in (self.conv2, self.conv4, self.conv5, self.fc6, self.fc7):
            init.constant_(layer.bias, bias_init)                        # §5: 1 in the paper

    def forward(self, x):
        """Class scores (N, num_classes) of images x (N, 3, 227, 227): Figure 2 from left to right."""
        self.check_input(x)
        x = self.pool1(self.norm1(self.relu1(self.conv1(x))))            # (N, 96, 27, 27)
        x = self.pool2(self.norm2(self.relu2(self.conv2(x))))            # (N, 256, 13, 13)
        x = self.relu3(self.conv3(x))                                    # (N, 384, 13, 13)
        x = self.relu4(self.conv4(x))                                    # (N, 384, 13, 13)
        x = self.pool5(self.relu5(self.conv5(x)))                        # (N, 256, 6, 6)
        x = self.drop6(self.relu6(self.fc6(self.flatten(x))))            # (N, 4096)
        x = self.drop7(self.relu7(self.fc7(x)))                          # (N, 4096)
        return self.fc8(x)                                               # (N, num_classes)
