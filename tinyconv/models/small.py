"""Small members of the AlexNet family, for 28, 32 and 64 pixel images and a 2-core CPU.

Each keeps every idea of the paper: two towers (grouped conv2/conv4/conv5, LRN within a
tower, conv3 and the FC layers reading both towers, §3.2), ReLU (§3.1), LRN after conv1
and conv2 (§3.3), overlapping 3x3 stride-2 max pooling (§3.4), dropout on the two hidden
FC layers (§4.2) and the §5 initialisation. What changes is the size: fewer kernels, 5x5 and
3x3 kernels at stride 1 instead of 11x11 at stride 4 (a small image has no pixels to
spare), and pooling padded by one pixel where that makes every window fit exactly
(28 -> 14 -> 7 -> 4; 32 -> 16 -> 8 -> 4), so no row or column of the maps is ignored.

The §3.3 CIFAR-10 experiment used cuda-convnet's small nets (layers-18pct / layers-80sec:
three 5x5 conv layers of 32-64 kernels, each with 3x3 stride-2 pooling, response
normalization after the first two, one FC layer). These members keep AlexNet's five conv
layers and three FC layers instead, so that every layer of the full net has a small twin
that a notebook can train in minutes, at these costs per image (forward pass, counted by
:func:`tinyconv.models.summary`):

==============  ==========  ========================  ==========  ==========  =============
name            input       conv kernels              FC          parameters  multiply-adds
==============  ==========  ========================  ==========  ==========  =============
alexnet-28      1x28x28     32, 64, 96, 96, 64        1024, 1024  2.26 M      13.8 M
alexnet-cifar   3x32x32     48, 96, 144, 144, 96      1024, 1024  2.98 M      39.0 M
alexnet-64      3x64x64     64, 128, 192, 192, 128    1024, 1024  3.76 M      66.1 M
==============  ==========  ========================  ==========  ==========  =============

For comparison AlexNet itself needs 724 M multiply-adds per 227x227 image. The 28 px
net is sized for Fashion-MNIST: 14 M multiply-adds (28 MFLOP) is at the small end of the nets
that reach about 94% test accuracy there, which needs a few conv layers of tens of kernels;
an epoch of 60,000 training images (forward and backward, about three forwards) costs about
5 TFLOP. Its hidden FC layers are 1024 wide and read 4x4 maps. With 512 units reading 3x3
maps (0.71 M parameters) it could not fit its own training set (7.5% training error against
8.9% on the test set after 30 epochs). The wider net learns faster per epoch but, with
random shifts of up to 3 pixels, still does not fit it (8.4% against 9.0%); with shifts of
up to 1 pixel it does (4.4% against 7.1%; docs/training.md).
"""
from __future__ import annotations

from .towers import Conv, Spec, TwoTowerNet


def _spec(name, in_channels, input_size, widths, hidden, conv1_stride=1):
    """Five conv layers of ``widths`` kernels laid out as in AlexNet, conv1 5x5 at ``conv1_stride``."""
    c1, c2, c3, c4, c5 = widths
    return Spec(
        name=name, in_channels=in_channels, input_size=input_size, hidden=hidden,
        convs=(
            Conv(c1, 5, stride=conv1_stride, padding=2, lrn=True, pool=1),
            Conv(c2, 5, padding=2, own_tower=True, bias_one=True, lrn=True, pool=1),
            Conv(c3, 3, padding=1),
            Conv(c4, 3, padding=1, own_tower=True, bias_one=True),
            Conv(c5, 3, padding=1, own_tower=True, bias_one=True, pool=1),
        ),
    )


ALEXNET_28 = _spec("AlexNet28", 1, 28, (32, 64, 96, 96, 64), (1024, 1024))
ALEXNET_CIFAR = _spec("AlexNetCIFAR", 3, 32, (48, 96, 144, 144, 96), (1024, 1024))
ALEXNET_64 = _spec("AlexNet64", 3, 64, (64, 128, 192, 192, 128), (1024, 1024), conv1_stride=2)


class AlexNet28(TwoTowerNet):
    """AlexNet for 1x28x28 greyscale images (Fashion-MNIST): 28 -> 14 -> 7 -> 4 (see module docstring).

    Same options as :class:`~tinyconv.models.AlexNet`; 10 classes by default.
    """

    spec = ALEXNET_28


class AlexNetCIFAR(TwoTowerNet):
    """AlexNet for 3x32x32 colour images (CIFAR-10, §3.3): 32 -> 16 -> 8 -> 4 (see module docstring)."""

    spec = ALEXNET_CIFAR


class AlexNet64(TwoTowerNet):
    """AlexNet for 3x64x64 colour images (e.g. Imagenette resized): conv1 5x5 at stride 2, 64 -> 32 -> 16 -> 8 -> 4."""

    spec = ALEXNET_64
