"""The training recipes the experiments share, so that experiments asking for the same net share its arm.

``convnet``: the §3.3 CIFAR-10 net (:class:`~tinyconv.models.ConvNetCIFAR`) with the program's §4.1
augmentation (random shifts of up to 4 px, mirrors, PCA colour noise), §5's momentum and weight
decay, no dropout, 20 epochs with the learning rate divided by 10 after epochs 14 and 18: the same
budget for every arm, whatever its validation error does (the §5 plateau rule would watch the test
set, which is all CIFAR-10 has besides the training set).

``alexnet_cifar``: the 32 px member of the AlexNet family with the program's defaults but a constant
learning rate, so that how fast each arm converges is its own.

The baseline §3.3 net (LRN, overlapping pooling) trains from :data:`BASELINE_SEEDS`; that spread over
seeds is what a variant's difference from it is measured against.
"""
from __future__ import annotations

from .lab import Arm, Lab

CONVNET_EPOCHS, CONVNET_DROPS = 20, (14, 18)
ALEXNET_CIFAR_EPOCHS = 20
BASELINE_SEEDS = (0, 1, 2, 3, 4)   # the §3.3 net with LRN and overlapping pooling: the spread over seeds
VARIANT_SEEDS = (0,)               # each variant (no LRN, 2x2 pooling): compared with that spread


def convnet(lab: Lab, *, lrn: bool = True, pool_size: int = 3, seed: int = 0) -> Arm:
    """The §3.3 net, with or without LRN, pooling 3x3 (overlapping) or 2x2, from ``seed``."""
    name = f"convnet-{'lrn' if lrn else 'nolrn'}-pool{pool_size}-seed{seed}"
    return lab.arm(name, epochs=CONVNET_EPOCHS, lr_drops=CONVNET_DROPS, model="convnet-cifar", seed=seed,
                   model_options={"lrn": lrn, "pool_size": pool_size})


def alexnet_cifar(lab: Lab, *, dropout: float = 0.5, seed: int = 0) -> Arm:
    """alexnet-cifar with dropout ``dropout`` on its hidden FC layers (§4.2), at a constant learning rate."""
    name = f"alexnet-cifar-dropout{dropout:g}-seed{seed}"
    return lab.arm(name, epochs=ALEXNET_CIFAR_EPOCHS, model="alexnet-cifar", dropout=dropout, seed=seed)
