"""One training step on the CPU: tinyconv (NumPy) against PyTorch, same model, batch and float32.

    python -m benchmarks.cpu_train_step                      # from the repository root
    python -m benchmarks.cpu_train_step --nets cifar10 --repeat 7

Two nets, batch 128, SGD with momentum 0.9 and weight decay 5e-4 (§5), softmax cross-entropy:

* ``cifar10``: the cuda-convnet kind of CIFAR-10 net the paper's §3.3 experiment used, built
  from tinyconv.nn: conv 5x5-64 (pad 2), ReLU, max pool 3/2, LRN; conv 5x5-64 (pad 2), ReLU,
  LRN, max pool 3/2; FC 384, ReLU; FC 192, ReLU; FC 10. 3x32x32 -> 64x15x15 -> 64x7x7.
  (``alexnet-cifar`` in tinyconv.models is a different net: AlexNet's five conv layers, scaled.)
* ``alexnet-28``: the 28 px member of the AlexNet family (towers, LRN, dropout), 1x28x28.

LRN in the paper's convention (n=5, alpha=1e-4, beta=0.75, k=2); torch gets alpha * n. Both
frameworks get the same weights (:mod:`benchmarks.torch_mirror`), and the run first checks that
their forward passes agree. Times are medians after warm-up, in one run:

* forward: the training forward pass with its loss (the graph is recorded);
* step: zero the gradients, forward, backward, SGD update;
* peak memory: the growth of the resident set size (``ru_maxrss``) over two steps, in a
  fresh process per framework, above its size once the model and the batch exist;
* GEMM floor: the step's multiply-add FLOPs (forward; backward twice that, except the first
  layer, whose input needs no gradient) over NumPy's float32 GEMM rate measured now.

The per-kind breakdown of tinyconv's step comes from :mod:`benchmarks.op_profile`.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time

import numpy as np
import torch

from benchmarks.common import environment_line, median_seconds, numpy_gemm_gflops, print_table
from benchmarks.op_profile import breakdown, op_timers
from benchmarks.torch_mirror import layers_of, to_torch
from tinyconv import models, nn
from tinyconv.functional import softmax_cross_entropy
from tinyconv.optim import SGD
from tinyconv.tensor import Tensor, no_grad

LRN = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)   # §3.3


def cifar10_net() -> nn.Sequential:
    """The cuda-convnet kind of CIFAR-10 net (see the module docstring), N(0, 0.01) weights (§5)."""
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv2d(3, 64, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(3, 2), nn.LocalResponseNorm(**LRN),
        nn.Conv2d(64, 64, 5, padding=2, rng=rng), nn.ReLU(), nn.LocalResponseNorm(**LRN), nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 384, rng=rng), nn.ReLU(), nn.Linear(384, 192, rng=rng), nn.ReLU(),
        nn.Linear(192, 10, rng=rng))


NETS = {   # name -> (builder, input (C, H, W))
    "cifar10": (cifar10_net, (3, 32, 32)),
    "alexnet-28": (lambda: models.create("alexnet-28", 10, dropout_mode="inverted"), (1, 28, 28)),
}


def make_batch(image, batch, seed=0):
    """Mean-subtracted pixel-scale inputs (§2) and labels: the scale keeps activations out of denormals."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((batch, *image)) * 60).astype(np.float32)
    return x, rng.integers(0, 10, batch)


def step_flops(model, x) -> tuple[float, float]:
    """(forward, training step) FLOPs of the GEMM-shaped layers: 2 per multiply-add."""
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
                step += flops * (2 if first else 3)      # + grad weight (+ grad input after the first)
                first = False
            h = y
    return forward, step


def tinyconv_runner(model, x, labels):
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()

    def forward():
        return softmax_cross_entropy(model(x), labels)

    def step():
        model.zero_grad()
        forward().backward()
        opt.step()
    return forward, step


def torch_runner(model, x, labels):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    def forward():
        return torch.nn.functional.cross_entropy(model(x), labels)

    def step():
        opt.zero_grad(set_to_none=True)
        forward().backward()
        opt.step()
    return forward, step


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_step_memory(framework, net, batch) -> float:
    """(Run in a fresh process.) Peak RSS growth in MiB over two steps, above the set-up size."""
    build, image = NETS[net]
    model = build()
    x, labels = make_batch(image, batch)
    if framework == "torch":
        model = to_torch(model)
    step = (torch_runner if framework == "torch" else tinyconv_runner)(model, x, labels)[1]
    base = _rss_bytes()
    for _ in range(2):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base) / 2 ** 20


def peak_step_memory(framework, net, batch) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_step_memory, (framework, net, batch))


def check_agreement(ours, theirs, x):
    """Both frameworks compute the same function (evaluation mode: dropout off)."""
    ours.eval()
    theirs.eval()
    with no_grad(), torch.no_grad():
        a, b = ours(x).data, theirs(torch.from_numpy(x)).numpy()
    ours.train()
    scale = float(np.abs(b).max()) or 1.0
    if not np.allclose(a, b, rtol=1e-3, atol=1e-4 * scale):
        raise AssertionError(f"tinyconv and torch disagree: largest difference {np.abs(a - b).max():.3g} "
                             f"for outputs up to {scale:.3g}")


def bench_net(net, batch, repeat, gemm_gflops):
    build, image = NETS[net]
    model = build()
    twin = to_torch(model)
    x, labels = make_batch(image, batch)
    check_agreement(model, twin, x)
    fwd_flops, flops = step_flops(model, x)
    ours, theirs = tinyconv_runner(model, x, labels), torch_runner(twin, x, labels)
    times = {}
    for name, (fwd, step) in (("tinyconv", ours), ("torch", theirs)):
        times[name] = (median_seconds(fwd, repeat), median_seconds(step, repeat))
    memory = {name: peak_step_memory(name, net, batch) for name in ("tinyconv", "torch")}
    floor = flops / (gemm_gflops * 1e9)
    (f_ours, s_ours), (f_torch, s_torch) = times["tinyconv"], times["torch"]
    rows = [
        ["forward (ms)", 1e3 * f_ours, 1e3 * f_torch, f_ours / f_torch],
        ["training step (ms)", 1e3 * s_ours, 1e3 * s_torch, s_ours / s_torch],
        ["images/s (training)", batch / s_ours, batch / s_torch, s_torch / s_ours],
        ["peak memory of a step (MiB)", memory["tinyconv"], memory["torch"], memory["tinyconv"] / memory["torch"]],
        ["step / GEMM floor", s_ours / floor, s_torch / floor, s_ours / s_torch],
    ]
    print_table(f"{net}, batch {batch}, float32: step {flops / 1e9:.2f} GFLOP (forward {fwd_flops / 1e9:.2f}), "
                f"GEMM floor {1e3 * floor:.1f} ms at {gemm_gflops:.0f} GFLOP/s",
                ["", "tinyconv", "torch", "ours / torch"], rows)
    with op_timers() as seconds:
        start = time.perf_counter()
        for _ in range(repeat):
            ours[1]()
        total = time.perf_counter() - start
    parts = breakdown(seconds, total)
    print_table(f"{net}: where tinyconv's step goes (sum over {repeat} instrumented steps / {repeat})",
                ["kind", "ms", "share"],
                [[kind, 1e3 * t / repeat, f"{100 * t / total:.0f}%"] for kind, t in parts.items()]
                + [["total", 1e3 * total / repeat, "100%"]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per median (after 2 warm-up runs)")
    args = parser.parse_args()
    print(environment_line())
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()}")
    gemm = numpy_gemm_gflops()
    print(f"NumPy float32 GEMM (2048^3): {gemm:.1f} GFLOP/s")
    for net in args.nets:
        bench_net(net, args.batch, args.repeat, gemm)
    print(f"\nload average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
