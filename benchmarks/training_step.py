"""One training step written once for both frameworks, for the CPU and GPU benchmarks.

:func:`tinyconv_runner` and :func:`torch_runner` return ``(forward, step)`` closures over the
same batch: ``forward`` is the training forward pass with its loss (the graph is recorded),
``step`` zeroes the gradients, runs forward and backward and the SGD update of §5 (momentum
0.9, weight decay 5e-4). :func:`step_flops` counts what a step must compute at least, and
:func:`check_agreement` makes sure both frameworks compute the same function before they are
timed.
"""
from __future__ import annotations

import numpy as np
import torch

from benchmarks.torch_mirror import layers_of
from tinyconv import backend, nn
from tinyconv.functional import softmax_cross_entropy
from tinyconv.optim import SGD
from tinyconv.tensor import Tensor, no_grad


def make_batch(image, batch, seed=0):
    """Mean-subtracted pixel-scale inputs (§2) and labels: the scale keeps activations out of denormals."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((batch, *image)) * 60).astype(np.float32)
    return x, rng.integers(0, 10, batch)


def step_flops(model, x) -> tuple[float, float]:
    """(forward, training step) FLOPs of the GEMM-shaped layers, 2 per multiply-add.

    The step is the forward pass plus, per layer, the weight gradient and (except for the first
    layer, whose input is the images) the input gradient, each as many FLOPs as the forward.
    """
    forward = step = 0.0
    first = True
    with no_grad():
        h = Tensor(x)
        for layer in layers_of(model):
            y = layer(h)
            if isinstance(layer, nn.Conv2d):
                KH, KW = layer.kernel_size
                flops = 2.0 * y.size * (layer.in_channels // layer.groups) * KH * KW
            elif isinstance(layer, nn.Linear):
                flops = 2.0 * y.size * layer.in_features
            else:
                flops = 0.0
            if flops:
                forward += flops
                step += flops * (2 if first else 3)
                first = False
            h = y
    return forward, step


def tinyconv_runner(model, x, labels, device="cpu"):
    """(forward, step) for a tinyconv model on ``device``; ``x`` and ``labels`` are host arrays."""
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    x, labels = backend.to_device(x, device), backend.to_device(labels, device)

    def forward():
        return softmax_cross_entropy(model(x), labels)

    def step():
        model.zero_grad()
        forward().backward()
        opt.step()
    return forward, step


def torch_runner(model, x, labels, device="cpu"):
    """(forward, step) for a torch model on ``device``; ``x`` and ``labels`` are host arrays."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    x, labels = torch.from_numpy(x).to(device), torch.from_numpy(labels).to(device)

    def forward():
        return torch.nn.functional.cross_entropy(model(x), labels)

    def step():
        opt.zero_grad(set_to_none=True)
        forward().backward()
        opt.step()
    return forward, step


def tinyconv_outputs(model, x, device="cpu") -> np.ndarray:
    """``model``'s outputs for host batch ``x`` in evaluation mode, as a host array; the model is left training."""
    model.eval()
    with no_grad():
        out = backend.to_numpy(model(backend.to_device(x, device)).data)
    model.train()
    return out


def assert_same_outputs(ours, theirs, what: str, rtol=1e-3) -> None:
    """Raise unless two frameworks' outputs agree (``what``: "tinyconv and torch")."""
    scale = float(np.abs(theirs).max()) or 1.0
    if not np.allclose(ours, theirs, rtol=rtol, atol=rtol * 0.1 * scale):
        raise AssertionError(f"{what} disagree: largest difference {np.abs(ours - theirs).max():.3g} "
                             f"for outputs up to {scale:.3g}")


def check_agreement(ours, theirs, x, device="cpu", rtol=1e-3):
    """Raise unless both models give the same outputs for host batch ``x`` (evaluation mode)."""
    theirs.eval()
    with torch.no_grad():
        b = theirs(torch.from_numpy(x).to(device)).cpu().numpy()
    theirs.train()
    assert_same_outputs(tinyconv_outputs(ours, x, device), b, "tinyconv and torch", rtol)
