"""The AlexNet family (§3.5, Figure 2): the full net, its device-split twin (§3.2), small members.

``create(name, num_classes, **options)`` builds a model by the name a training program takes
on its command line; :func:`available_models` lists the names.
"""
import inspect

from .alexnet import AlexNet  # noqa: F401
from .cifar import ConvNetCIFAR, FourLayerNet  # noqa: F401
from .small import ALEXNET_28, ALEXNET_64, ALEXNET_CIFAR, AlexNet28, AlexNet64, AlexNetCIFAR  # noqa: F401
from .split import SplitAlexNet, SplitTwoTowerNet, merge_weights, split_weights  # noqa: F401
from .summary import Summary, summary  # noqa: F401
from .towers import Spec, TwoTowerNet  # noqa: F401

_MODELS = {
    "alexnet": AlexNet,             # 3x227x227, §3.5
    "alexnet-split": SplitAlexNet,  # the same over two devices: create(..., devices=("cuda:0", "cuda:1"))
    "alexnet-28": AlexNet28,        # 1x28x28 (Fashion-MNIST)
    "alexnet-cifar": AlexNetCIFAR,  # 3x32x32 (CIFAR-10)
    "alexnet-64": AlexNet64,        # 3x64x64 (Imagenette at 64 px)
    "convnet-cifar": ConvNetCIFAR,  # 3x32x32, the §3.3 CIFAR-10 net (options lrn, pool_size)
    "fourlayer-cifar": FourLayerNet,  # 3x32x32, Figure 1's net (§3.1; option activation)
}


def available_models() -> list:
    """The names :func:`create` accepts."""
    return list(_MODELS)


def _model_class(name: str):
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(_MODELS)}")
    return _MODELS[name]


def input_size(name: str) -> int:
    """The height and width (px) of the images the model called ``name`` takes (227 for AlexNet)."""
    cls = _model_class(name)
    if name == "alexnet-split":
        return AlexNet.input_shape[-1]
    spec = getattr(cls, "spec", None)
    return spec.input_size if isinstance(spec, Spec) else cls.input_shape[-1]


def options_of(name: str) -> list:
    """The keyword options the model called ``name`` takes (besides ``num_classes``)."""
    return [p for p in inspect.signature(_model_class(name)).parameters if p != "num_classes"]


def create(name: str, num_classes: int, **options):
    """The model called ``name`` with ``num_classes`` outputs; ``options`` go to its class.

    ``create("alexnet-28", 10)``, ``create("alexnet", 1000, bias_init=0.1)``,
    ``create("alexnet-split", 1000, devices=("cuda:0", "cuda:1"))``, ``create("convnet-cifar", 10, lrn=False)``.
    An option the model does not take is refused with a ValueError that lists those it does.
    """
    unknown = sorted(set(options) - set(options_of(name)))
    if unknown:
        raise ValueError(f"model {name!r} takes no option {', '.join(unknown)}; its options: "
                         f"{', '.join(options_of(name))}")
    return _model_class(name)(num_classes=num_classes, **options)
