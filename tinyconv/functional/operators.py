"""Tensor's operators: ``a + b``, ``a @ b``, ``a[i]``, ``a.sum()``, ``a.to(device)``, ... each one a Function
of this package (:mod:`.basic`, :mod:`.device`), attached to :class:`~tinyconv.tensor.Tensor` once, when
``tinyconv.functional`` is imported (tensor.py cannot import these modules: they build on Tensor)."""
from __future__ import annotations

from ..tensor import Tensor
from . import basic
from .device import copy_to


def _attach(cls) -> None:
    cls.__add__ = basic.add
    cls.__radd__ = lambda self, other: basic.add(other, self)
    cls.__sub__ = basic.sub
    cls.__rsub__ = lambda self, other: basic.sub(other, self)
    cls.__mul__ = basic.mul
    cls.__rmul__ = lambda self, other: basic.mul(other, self)
    cls.__truediv__ = basic.div
    cls.__rtruediv__ = lambda self, other: basic.div(other, self)
    cls.__neg__ = basic.neg
    cls.__pow__ = basic.pow
    cls.__matmul__ = basic.matmul
    cls.__getitem__ = basic.getitem
    cls.sum = lambda self, axis=None, keepdims=False: basic.sum(self, axis, keepdims)
    cls.mean = lambda self, axis=None, keepdims=False: basic.mean(self, axis, keepdims)
    cls.reshape = lambda self, *shape: basic.reshape(self, shape[0] if len(shape) == 1 else shape)
    cls.transpose = lambda self, *axes: basic.transpose(self, axes or None)
    cls.T = property(lambda self: basic.transpose(self, None))
    cls.exp = basic.exp
    cls.log = basic.log
    cls.to = copy_to                    # a differentiable copy to another device (gradients flow back)


_attach(Tensor)
