"""The AlexNet family (§3.5, Figure 2): the full net, its device-split twin (§3.2), small members.

``create(name, num_classes, **options)`` builds a model by the name a training program takes
on its command line; :func:`available_models` lists the names.
"""
from .alexnet import ALEXNET, AlexNet  # noqa: F401
from .small import ALEXNET_28, ALEXNET_64, ALEXNET_CIFAR, AlexNet28, AlexNet64, AlexNetCIFAR  # noqa: F401
from .split import SplitAlexNet, SplitTwoTowerNet, merge_weights, split_weights  # noqa: F401
from .summary import Summary, summary  # noqa: F401
from .towers import TwoTowerNet  # noqa: F401

_MODELS = {
    "alexnet": AlexNet,             # 3x227x227, §3.5
    "alexnet-split": SplitAlexNet,  # the same over two devices: create(..., devices=("cuda:0", "cuda:1"))
    "alexnet-28": AlexNet28,        # 1x28x28 (Fashion-MNIST)
    "alexnet-cifar": AlexNetCIFAR,  # 3x32x32 (CIFAR-10)
    "alexnet-64": AlexNet64,        # 3x64x64 (Imagenette at 64 px)
}


def available_models() -> list:
    """The names :func:`create` accepts."""
    return list(_MODELS)


def create(name: str, num_classes: int, **options):
    """The model called ``name`` with ``num_classes`` outputs; ``options`` go to its class.

    ``create("alexnet-28", 10)``, ``create("alexnet", 1000, bias_init=0.1)``,
    ``create("alexnet-split", 1000, devices=("cuda:0", "cuda:1"))``.
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(_MODELS)}")
    return _MODELS[name](num_classes=num_classes, **options)
