"""Which initialisation to train from: the paper's (§5), or one scaled to the layer widths.

§5 draws every weight from N(0, 0.01). A layer with fan-in F (inputs per output) multiplies
the spread of its input by about 0.01 * sqrt(F / 2) after a ReLU. AlexNet's layers are wide
(F = 2304 in conv3, 9216 in fc6), so that factor stays between 0.1 and 0.7 and the image
reaches the logits. The small members of the family are narrow (F = 400 to 576): each layer
shrinks the image-dependent part of its output about six times, and at the logits of
alexnet-28 it is about 1e-6 of its size at conv1 (measured on Fashion-MNIST; the biases of 1
make every layer nearly constant). The softmax then outputs the class frequencies whatever
the image, the loss stays at ln(10) and the gradients that would change that are as small.

``"he"`` keeps the paper's N(0, 0.01) for the first layer, which sees raw pixel values minus
the mean image (§2, spread about 70 on Fashion-MNIST) and maps them to activations of order 1,
and draws every hidden weight from N(0, 2 / F) (He et al. 2015), which keeps that order through
the ReLUs. The last layer keeps the paper's N(0, 0.01) too: no ReLU follows it, so He's factor
2 (which makes up for the half of the units a ReLU zeroes) has no reason there, and at N(0, 2 / F)
its logits start so far apart that alexnet-28's step-0 loss was 10.8 (ln 10 = 2.3), at the edge
of stability at §5's learning rate (without dropout it diverged within a dozen steps; with
N(0, 0.01) the step-0 loss is 2.5 and it does not; docs/training.md). Biases stay as §5 sets them
(``--bias-init``).
"""
from __future__ import annotations

import numpy as np

from .. import init

INITS = ("auto", "paper", "he")
PAPER_INIT_MODELS = ("alexnet", "alexnet-split")  # wide enough for N(0, 0.01) everywhere
OWN_INIT_MODELS = ("fourlayer-cifar",)             # draw their own fan-in scaled weights (models/cifar.py)


def resolve(choice: str, model_name: str) -> str:
    """``"paper"``, ``"he"`` or ``"own"`` (the model's constructor draws its own weights); ``"auto"`` is the
    paper's for AlexNet itself, the model's own where it has one, and he for the other small nets."""
    if choice not in INITS:
        raise ValueError(f"--init must be one of {', '.join(INITS)}, got {choice!r}")
    if model_name in OWN_INIT_MODELS:
        if choice != "auto":
            raise ValueError(f"--model {model_name} draws its own initialisation (tinyconv/models/cifar.py): "
                             f"leave out --init {choice}")
        return "own"
    if choice == "auto":
        return "paper" if model_name in PAPER_INIT_MODELS else "he"
    return choice


def he_hidden_layers(model, seed: int) -> None:
    """Redraw the hidden layers' weights (all but the first and the last) from N(0, 2 / fan_in), in place.

    The first and the last layer keep §5's N(0, 0.01) (module docstring).
    """
    rng = np.random.default_rng([seed, 2])
    weights = [(name, param) for name, param in model.named_parameters() if name.endswith(".weight")]
    if not weights or weights[0][1].data.ndim != 4:
        raise ValueError(f"{type(model).__name__} does not start with a convolution: nothing to keep at N(0, 0.01)")
    layer = lambda name: name.split(".")[-2]  # "conv1", also under the "tower0." prefixes of the split model
    first, last = layer(weights[0][0]), layer(weights[-1][0])
    for name, param in weights:
        if layer(name) not in (first, last):  # conv (OC, C/groups, KH, KW), linear (out, in): fan-in = shape[1:]
            init.normal_(param, float(np.sqrt(2.0 / np.prod(param.shape[1:]))), rng)
