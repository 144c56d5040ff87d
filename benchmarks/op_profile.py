"""Where a tinyconv training step spends its time: timers wrapped around the ops, by kind.

Inside ``with op_timers() as seconds:`` the forward and backward methods of the op classes (each op's
reference in tinyconv/functional and its fast versions in tinyconv/fast),
``im2col`` / ``col2im`` and ``numpy.matmul`` or ``cupy.matmul`` (the GEMM call of the convolutions) are
replaced by versions that add their wall time to ``seconds[kind]``; the originals come
back on exit. The timers nest (a convolution's time includes its im2col and its GEMM), so
:func:`breakdown` subtracts the inner ones to give disjoint buckets:

* GEMM: the convolutions' matmuls and the fully connected layers (one GEMM each way, plus
  their bias add, which is small);
* im2col/col2im (§3.5's convolutions as one matrix product);
* conv other: the rest of the convolution ops (bias add, NCHW <-> (OC, N*OH*OW) copies);
* LRN (§3.3), max pooling (§3.4), ReLU (§3.1), SGD update (§5);
* the rest: the loss, dropout, reshapes, the autograd bookkeeping.

Timing each call costs about a microsecond, against tens of milliseconds per op here.
"""
from __future__ import annotations

import contextlib
import importlib
import time
from collections import defaultdict

import numpy as np

from tinyconv import fast
from tinyconv.functional import activation, conv, normalization, pooling
from tinyconv.optim import SGD

linear = importlib.import_module("tinyconv.functional.linear")   # the package exports a function of that name

PASSES = ("forward", "backward")
_METHODS = {   # kind -> [(owner, the attributes it defines)]: each op's reference and its fast versions
    "conv": [(conv.Conv2dFunction, PASSES), (fast.conv.Conv2dFast, PASSES)],
    "linear": [(linear.LinearFunction, PASSES)],
    "lrn": [(normalization.LocalResponseNormFunction, PASSES), (fast.normalization.LocalResponseNormCPU, PASSES),
            (fast.normalization.LocalResponseNormCUDA, PASSES)],
    "pool": [(pooling.MaxPool2dFunction, PASSES), (fast.pooling.MaxPool2dCPU, PASSES),
             (fast.pooling.MaxPool2dCUDA, PASSES)],
    "relu": [(activation.ReLUFunction, PASSES), (fast.activation.ReLUCPU, PASSES),
             (fast.activation.ReLUCUDA, ("forward",))],
    "sgd": [(SGD, ("step",))],
    "im2col": [(conv, ("im2col", "col2im")), (fast.conv.Conv2dCPU, ("im2col", "col2im")),
               (fast.conv.Conv2dCUDA, ("im2col", "col2im"))],
}


def _timed(fn, seconds, kind, sync):
    def wrapper(*args, **kwargs):
        sync()
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            sync()
            seconds[kind] += time.perf_counter() - start
    return wrapper


@contextlib.contextmanager
def op_timers(xp=np, sync=lambda: None):
    """Time every op of the kinds above while the block runs; yields the ``{kind: seconds}`` dict.

    ``xp`` is the array module whose matmul the convolutions call. On a GPU (``xp`` cupy) pass
    ``sync``, a wait for the device: each op is then timed from an idle device to its last
    kernel's end, which serialises the step, so the buckets add up to more than a plain step.
    """
    seconds = defaultdict(float)
    saved = []
    for kind, owners in {**_METHODS, "matmul": [(xp, ("matmul",))]}.items():
        for owner, names in owners:
            for name in names:
                original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
                saved.append((owner, name, original))
                if isinstance(original, staticmethod):      # im2col and col2im of the fast conv classes
                    setattr(owner, name, staticmethod(_timed(original.__func__, seconds, kind, sync)))
                else:
                    setattr(owner, name, _timed(original, seconds, kind, sync))
    try:
        yield seconds
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def breakdown(seconds: dict, total: float) -> dict:
    """Disjoint buckets (see the module docstring) from the nested timers and the step's ``total``."""
    buckets = {
        "GEMM": seconds["matmul"] + seconds["linear"],
        "im2col/col2im": seconds["im2col"],
        "conv other": seconds["conv"] - seconds["im2col"] - seconds["matmul"],
        "LRN": seconds["lrn"],
        "max pooling": seconds["pool"],
        "ReLU": seconds["relu"],
        "SGD update": seconds["sgd"],
    }
    buckets["the rest"] = total - sum(buckets.values())
    return buckets
