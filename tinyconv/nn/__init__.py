"""Layers and networks: ``Module`` with its Parameters, and the layers AlexNet is built from (§3)."""
from .activation import ReLU, Sigmoid, Tanh  # noqa: F401
from .container import Sequential  # noqa: F401
from .conv import Conv2d  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .linear import Linear  # noqa: F401
from .module import Module  # noqa: F401
from .normalization import LocalResponseNorm  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .pooling import MaxPool2d  # noqa: F401
from .shape import Flatten  # noqa: F401
