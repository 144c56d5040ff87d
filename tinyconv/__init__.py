"""tinyconv: AlexNet (Krizhevsky, Sutskever & Hinton, 2012) from scratch on NumPy and CuPy.

    import tinyconv
    from tinyconv import Tensor, no_grad, nn, functional as F, optim
"""
from . import backend, functional, init, nn, optim, testing  # noqa: F401
from .backend import Device, device  # noqa: F401
from .function import Function  # noqa: F401
from .tensor import Tensor, no_grad  # noqa: F401

__version__ = "0.1.0"
