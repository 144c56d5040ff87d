"""tinyconv: AlexNet (Krizhevsky, Sutskever & Hinton, 2012) from scratch on NumPy and CuPy.

    import tinyconv
    from tinyconv import Tensor, no_grad, nn, functional as F, optim

Every op runs its fast version where it has one (``tinyconv/fast/``); ``tinyconv.fast_paths(False)``
runs the references of ``tinyconv/functional/`` instead (:mod:`tinyconv.dispatch`).
"""
from . import backend, fast, functional, init, nn, optim, testing  # noqa: F401  (fast: registers the fast versions)
from .backend import Device, device  # noqa: F401
from .dispatch import fast_paths  # noqa: F401
from .function import Function  # noqa: F401
from .tensor import Tensor, no_grad  # noqa: F401

__version__ = "0.1.0"
