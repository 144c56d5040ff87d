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
their forward passes agree. Times are medians after warm-up, in one run, the two frameworks
taking turns (:func:`~benchmarks.common.interleaved_times`, fair under a drifting load);
the best step is printed too:

* forward: the training forward pass with its loss (the graph is recorded);
* step: zero the gradients, forward, backward, SGD update;
* peak memory: the growth of the peak resident set size (VmHWM) over two steps, in a fresh
  process per framework, above its size once the model and the batch exist;
* GEMM floor: the step's multiply-add FLOPs (forward; backward twice that, except the first
  layer, whose input needs no gradient) over NumPy's float32 GEMM rate measured now.

The per-kind breakdown of tinyconv's step comes from :mod:`benchmarks.op_profile`.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np
import torch

from benchmarks.common import cpu_steal_seconds, environment_line, interleaved_times, numpy_gemm_gflops, print_table
from benchmarks.op_profile import breakdown, op_timers
from benchmarks.torch_mirror import to_torch
from benchmarks.training_step import check_agreement, make_batch, step_flops, tinyconv_runner, torch_runner
from tinyconv import models, nn

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


def _status_bytes(field) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, from /proc/self/status."""
    with open("/proc/self/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith(field + ":"))
    return int(kib) * 1024


def _peak_step_memory(framework, net, batch) -> float:
    """(Run in a fresh process.) Peak RSS growth in MiB over two steps, above the set-up size.

    The peak is VmHWM, reset after the set-up by writing 5 to /proc/self/clear_refs (Linux >= 4.0);
    ``ru_maxrss`` would not do: a spawned child inherits its parent's peak at the fork.
    """
    build, image = NETS[net]
    model = build()
    x, labels = make_batch(image, batch)
    if framework == "torch":
        model = to_torch(model)
    step = (torch_runner if framework == "torch" else tinyconv_runner)(model, x, labels)[1]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_bytes("VmRSS")
    for _ in range(2):
        step()
    return (_status_bytes("VmHWM") - base) / 2 ** 20


def peak_step_memory(framework, net, batch) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_step_memory, (framework, net, batch))


def bench_net(net, batch, repeat, gemm_gflops):
    build, image = NETS[net]
    model = build()
    twin = to_torch(model)
    x, labels = make_batch(image, batch)
    check_agreement(model, twin, x)
    fwd_flops, flops = step_flops(model, x)
    ours, theirs = tinyconv_runner(model, x, labels), torch_runner(twin, x, labels)
    (f_ours, _), (f_torch, _) = interleaved_times([ours[0], theirs[0]], repeat)
    (s_ours, best_ours), (s_torch, best_torch) = interleaved_times([ours[1], theirs[1]], repeat)
    memory = {name: peak_step_memory(name, net, batch) for name in ("tinyconv", "torch")}
    floor = flops / (gemm_gflops * 1e9)
    rows = [
        ["forward (ms)", 1e3 * f_ours, 1e3 * f_torch, f_ours / f_torch],
        ["training step (ms)", 1e3 * s_ours, 1e3 * s_torch, s_ours / s_torch],
        [f"training step, best of {repeat} (ms)", 1e3 * best_ours, 1e3 * best_torch, best_ours / best_torch],
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
    steal = cpu_steal_seconds()
    gemm = numpy_gemm_gflops()
    print(f"NumPy float32 GEMM (2048^3): {gemm:.1f} GFLOP/s")
    for net in args.nets:
        bench_net(net, args.batch, args.repeat, gemm)
    print(f"\nNumPy float32 GEMM again at the end: {numpy_gemm_gflops():.1f} GFLOP/s; "
          f"load average {os.getloadavg()}; CPU time stolen by the hypervisor during the run "
          f"{cpu_steal_seconds() - steal:.1f} s")


if __name__ == "__main__":
    main()
