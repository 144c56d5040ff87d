"""Differentiable operations on Tensors, one module per idea of the paper: each op's reference.

basic          arithmetic, matmul, reductions, reshape/transpose, exp/log, indexing, concat
operators      those as Tensor's operators (a + b, a @ b, a.sum(), ...)
device         copy_to: the differentiable copy between devices (§3.2)
conv, linear   im2col convolution with groups (§3.5), fully connected layers
activation     relu (§3.1), tanh, sigmoid
normalization  local response normalization in the paper's convention (§3.3)
pooling        overlapping max pooling (§3.4)
dropout        both the paper's form and the inverted form (§4.2)
loss           softmax cross-entropy and top-k error (§6)
shape          flatten
windows        (h, w) arguments and output sizes of sliding windows (conv, pooling)
checks         the dtype and dimension checks the ops share

Each Function here is the reference a learner reads; faster versions of conv2d, max_pool2d,
local_response_norm and relu live in ``tinyconv/fast/`` and run in their place unless
``tinyconv.fast_paths(False)`` (see :mod:`tinyconv.dispatch`).
"""
from . import operators  # noqa: F401  (gives Tensor its operators)
from .activation import relu, sigmoid, tanh  # noqa: F401
from .basic import add, concat, div, exp, getitem, log, matmul, mean, mul, neg, pow, reshape, sub, sum, transpose  # noqa: F401,A004
from .conv import col2im, conv2d, conv2d_naive, im2col  # noqa: F401
from .device import copy_to  # noqa: F401
from .dropout import dropout  # noqa: F401
from .linear import linear  # noqa: F401
from .loss import log_softmax, softmax, softmax_cross_entropy, topk_error  # noqa: F401
from .normalization import alpha_from_torch, alpha_to_torch, local_response_norm, local_response_norm_naive  # noqa: F401
from .pooling import max_pool2d, max_pool2d_naive  # noqa: F401
from .shape import flatten  # noqa: F401
from .windows import conv_out_size  # noqa: F401
