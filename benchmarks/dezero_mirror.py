"""The DeZero twin of a tinyconv network, with the same weights: an educational peer in the CPU benchmark.

DeZero is the framework that the book "Deep Learning from Scratch 3" builds step by step: NumPy
only, its convolution an im2col and a ``tensordot``, its max pooling an im2col and an argmax.
It is optional here: ``pip install dezero==0.0.13``. That release uses ``np.int``, an alias that
NumPy 2 removed (it meant the built-in ``int``), only as a default argument of its image
transforms; :func:`import_dezero` puts the alias back before the import.

DeZero has no local response normalization (§3.3), no grouped convolutions and pads its max
pooling with zeros, so only nets without those get a twin: the benchmark's ``cifar10-nolrn``.
DeZero's linear layers keep their weights as (in, out), tinyconv's and PyTorch's as (out, in):
:func:`to_dezero` transposes them.
"""
from __future__ import annotations

import numpy as np

from benchmarks.torch_mirror import layers_of
from benchmarks.training_step import assert_same_outputs, tinyconv_outputs
from tinyconv import nn

INSTALL = "pip install dezero==0.0.13"


def import_dezero():
    """The ``dezero`` package; ImportError (with what to install) where it is missing."""
    if "int" not in np.__dict__:
        np.int = int           # the alias DeZero 0.0.13 still uses; removed in NumPy 1.24
    try:
        import dezero
    except ImportError as exc:
        raise ImportError(f"DeZero is not installed ({exc}); {INSTALL}") from exc
    return dezero


class DezeroTwin:
    """A tinyconv net's layers as DeZero layers and functions, run in order.

    ``params()`` and ``cleargrads()`` are what DeZero's optimizers and training loop ask of a model.
    """

    def __init__(self, steps, layers):
        self.steps, self.layers = steps, layers

    def __call__(self, x):
        for step in self.steps:
            x = step(x)
        return x

    def params(self):
        for layer in self.layers:
            yield from layer.params()

    def cleargrads(self):
        for param in self.params():
            param.cleargrad()


def _copy(array) -> np.ndarray:
    return np.array(array, dtype=np.float32, copy=True)


def missing_layer(model) -> str | None:
    """Why DeZero cannot compute ``model`` (the first layer it lacks), or None when it can."""
    for layer in layers_of(model):
        if isinstance(layer, nn.LocalResponseNorm):
            return "DeZero has no local response normalization (§3.3): compare the net without LRN"
        if isinstance(layer, nn.Conv2d) and layer.groups != 1:
            return "DeZero has no grouped convolution, which the towers need (§3.2)"
        if isinstance(layer, nn.MaxPool2d) and any(layer.padding):
            return "DeZero pads max pooling with zeros, not -inf: padded pooling would differ"
        if not isinstance(layer, (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.ReLU, nn.Flatten)):
            return f"no DeZero twin for layer {type(layer).__name__}"
    return None


def _mirror(dezero, layer):
    """(the DeZero callable, its layer with parameters or None) for one tinyconv layer."""
    F, L = dezero.functions, dezero.layers
    if isinstance(layer, nn.MaxPool2d):
        return (lambda x: F.pooling(x, layer.kernel_size, layer.stride)), None
    if isinstance(layer, nn.ReLU):
        return F.relu, None
    if isinstance(layer, nn.Flatten):
        return (lambda x: F.reshape(x, (x.shape[0], -1))), None
    if isinstance(layer, nn.Conv2d):
        twin = L.Conv2d(layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                        nobias=layer.bias is None, in_channels=layer.in_channels)
        twin.W.data = _copy(layer.weight.data)                              # (OC, C, KH, KW) in both
    else:
        twin = L.Linear(layer.out_features, nobias=layer.bias is None, in_size=layer.in_features)
        twin.W.data = _copy(layer.weight.data.T)                            # (in, out) in DeZero
    if layer.bias is not None:
        twin.b.data = _copy(layer.bias.data)
    return twin, twin


def to_dezero(model) -> DezeroTwin:
    """A :class:`DezeroTwin` computing what ``model`` computes, with copied float32 weights; TypeError
    for a net with a layer DeZero lacks (:func:`missing_layer`)."""
    missing = missing_layer(model)
    if missing:
        raise TypeError(missing)
    dezero = import_dezero()
    steps, layers = zip(*(_mirror(dezero, layer) for layer in layers_of(model)))
    return DezeroTwin(list(steps), [layer for layer in layers if layer is not None])


def dezero_runner(twin: DezeroTwin, x, labels):
    """(forward, step) for a DeZero twin, as :func:`benchmarks.training_step.torch_runner` gives for torch:
    momentum 0.9 and weight decay 5e-4 added to the gradient before the update (§5)."""
    dezero = import_dezero()
    opt = dezero.optimizers.MomentumSGD(lr=0.01, momentum=0.9).setup(twin)
    opt.add_hook(dezero.optimizers.WeightDecay(5e-4))

    def forward():
        return dezero.functions.softmax_cross_entropy(twin(x), labels)

    def step():
        twin.cleargrads()
        forward().backward()
        opt.update()
    return forward, step


def dezero_outputs(twin: DezeroTwin, x) -> np.ndarray:
    """The twin's outputs for the host batch ``x``, no graph recorded."""
    with import_dezero().no_grad():
        return twin(x).data


def check_agreement(model, twin: DezeroTwin, x, rtol=1e-3) -> None:
    """Raise unless the tinyconv net and its DeZero twin give the same outputs for host batch ``x``."""
    assert_same_outputs(tinyconv_outputs(model, x), dezero_outputs(twin, x), "tinyconv and DeZero", rtol)
