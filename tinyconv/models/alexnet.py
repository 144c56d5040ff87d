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
"""
from __future__ import annotations

from .towers import Conv, Spec, TwoTowerNet

ALEXNET = Spec(
    name="AlexNet",
    in_channels=3,
    input_size=227,
    convs=(
        Conv(96, 11, stride=4, lrn=True, pool=0),
        Conv(256, 5, padding=2, own_tower=True, bias_one=True, lrn=True, pool=0),
        Conv(384, 3, padding=1),
        Conv(384, 3, padding=1, own_tower=True, bias_one=True),
        Conv(256, 3, padding=1, own_tower=True, bias_one=True, pool=0),
    ),
    hidden=(4096, 4096),
    size_hint="; crop or resize to 227x227 (a 224x224 crop, the size the paper quotes, "
              "would need padding 2 in conv1 to give the 55x55 maps of Figure 2)",
)


class AlexNet(TwoTowerNet):
    """AlexNet on one device (§3.5, Figure 2; see the module docstring for every layer).

    ``AlexNet(num_classes=1000, bias_init=1.0, dropout_mode="paper", seed=0, dropout=0.5,
    dtype=numpy.float32)``; inputs (N, 3, 227, 227), outputs (N, num_classes) class scores.
    Layers are attributes named as in the paper: ``conv1`` ... ``conv5``, ``fc6`` ... ``fc8``
    (state_dict keys ``"conv1.weight"``, ``"fc8.bias"``, ``"drop6.calls"``), each followed by
    ``reluN``, ``normN``, ``poolN``, ``dropN`` where the paper has them.
    """

    spec = ALEXNET

    def __init__(self, num_classes: int = 1000, bias_init: float = 1.0, dropout_mode: str = "paper",
                 seed: int = 0, dropout: float = 0.5, dtype="float32"):
        super().__init__(num_classes, bias_init, dropout_mode, seed, dropout, dtype)
