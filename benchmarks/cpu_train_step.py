"""One training step on the CPU: tinyconv (NumPy) against PyTorch, same model, batch and float32.

    python -m benchmarks.cpu_train_step                      # from the repository root
    python -m benchmarks.cpu_train_step --nets cifar10 --repeat 7
    python -m benchmarks.cpu_train_step --nets cifar10-nolrn  # DeZero as well, where it is installed
    python -m benchmarks.cpu_train_step --load tinyconv-run --trials 4   # beside another training run

The nets, batch 128, SGD with momentum 0.9 and weight decay 5e-4 (§5), softmax cross-entropy:

* ``cifar10``: the cuda-convnet kind of CIFAR-10 net the paper's §3.3 experiment used, built
  from tinyconv.nn: conv 5x5-64 (pad 2), ReLU, max pool 3/2, LRN; conv 5x5-64 (pad 2), ReLU,
  LRN, max pool 3/2; FC 384, ReLU; FC 192, ReLU; FC 10. 3x32x32 -> 64x15x15 -> 64x7x7.
  (``alexnet-cifar`` in tinyconv.models is a different net: AlexNet's five conv layers, scaled.)
* ``alexnet-28``: the 28 px member of the AlexNet family (towers, LRN, dropout), 1x28x28.
* ``cifar10-nolrn``: ``cifar10`` without its two LRN layers. DeZero, the framework of "Deep
  Learning from Scratch 3", has no LRN; this net runs in it too, where it is installed
  (:mod:`benchmarks.dezero_mirror`; skipped with the reason otherwise).

LRN in the paper's convention (n=5, alpha=1e-4, beta=0.75, k=2); torch gets alpha * n. The
frameworks get the same weights (:mod:`benchmarks.torch_mirror`), and the run first checks that
their forward passes agree. Times are medians after warm-up, in one run, the frameworks
taking turns (:func:`~benchmarks.common.interleaved_times`, fair under a drifting load);
the best step is printed too:

* forward: the training forward pass with its loss (the graph is recorded);
* step: zero the gradients, forward, backward, SGD update;
* peak memory: the growth of the peak resident set size (VmHWM) over two steps, in a fresh
  process per framework, above its size once the model and the batch exist;
* GEMM floor: the step's multiply-add FLOPs (forward; backward twice that, except the first
  layer, whose input needs no gradient) over NumPy's float32 GEMM rate measured now.

The per-kind breakdown of tinyconv's step comes from :mod:`benchmarks.op_profile`.

``--load KIND [KIND ...]`` measures on a shared machine instead: it starts the other processes
(:mod:`benchmarks.shared_load`: ``python``, ``gemm``, ``tinyconv-run``, ``steps``; ``none`` for the
same rows on a quiet machine), waits ``--settle`` seconds, then prints one row per trial: the
frameworks' step medians taking turns, the 1-minute load average, NumPy's GEMM rate (with
tinyconv's BLAS threads) and tinyconv's thread budget (:mod:`tinyconv.threads`) at the start and
at the end of the trial. The loads are stopped when the run ends, also on Ctrl-C or an error.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np
import torch

from benchmarks import dezero_mirror, shared_load
from benchmarks.common import (
    cpu_model,
    cpu_steal_seconds,
    environment_line,
    interleaved_times,
    numpy_gemm_gflops,
    print_header,
    print_row,
    print_table,
)
from benchmarks.op_profile import breakdown, op_timers
from benchmarks.torch_mirror import to_torch
from benchmarks.training_step import check_agreement, make_batch, step_flops, tinyconv_runner, torch_runner
from tinyconv import models, nn, threads

LRN = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)   # §3.3


def cifar10_net(lrn: bool = True) -> nn.Sequential:
    """The cuda-convnet kind of CIFAR-10 net (see the module docstring), N(0, 0.01) weights (§5)."""
    rng = np.random.default_rng(0)
    norm = [nn.LocalResponseNorm(**LRN)] if lrn else []
    return nn.Sequential(
        nn.Conv2d(3, 64, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(3, 2), *norm,
        nn.Conv2d(64, 64, 5, padding=2, rng=rng), nn.ReLU(), *norm, nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 384, rng=rng), nn.ReLU(), nn.Linear(384, 192, rng=rng), nn.ReLU(),
        nn.Linear(192, 10, rng=rng))


NETS = {   # name -> (builder, input (C, H, W))
    "cifar10": (cifar10_net, (3, 32, 32)),
    "alexnet-28": (lambda: models.create("alexnet-28", 10, dropout_mode="inverted"), (1, 28, 28)),
    "cifar10-nolrn": (lambda: cifar10_net(lrn=False), (3, 32, 32)),
}
TWINS = {"tinyconv": lambda model: model, "torch": to_torch, "dezero": dezero_mirror.to_dezero}
RUNNERS = {"tinyconv": tinyconv_runner, "torch": torch_runner, "dezero": dezero_mirror.dezero_runner}


def make_twins(model, x, say=print) -> dict:
    """{framework: its copy of ``model``, same weights}, each checked against tinyconv's outputs for ``x``:
    PyTorch always, DeZero where it is installed and has the net's layers."""
    twins = {"tinyconv": model, "torch": to_torch(model)}
    check_agreement(model, twins["torch"], x)
    if dezero_mirror.missing_layer(model) is None:
        try:
            twins["dezero"] = dezero_mirror.to_dezero(model)
        except ImportError as exc:
            say(f"DeZero: skipped ({exc})")
        else:
            dezero_mirror.check_agreement(model, twins["dezero"], x)
    return twins


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
    x, labels = make_batch(image, batch)
    step = RUNNERS[framework](TWINS[framework](build()), x, labels)[1]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_bytes("VmRSS")
    for _ in range(2):
        step()
    return (_status_bytes("VmHWM") - base) / 2 ** 20


def peak_step_memory(framework, net, batch) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_step_memory, (framework, net, batch))


def compare_row(label: str, values: dict) -> list:
    """[label, tinyconv's value, then for each other framework its value and tinyconv's / its]."""
    ours = values["tinyconv"]
    return [label, ours] + [c for name, v in values.items() if name != "tinyconv" for c in (v, ours / v)]


def bench_net(net, batch, repeat, gemm_gflops):
    build, image = NETS[net]
    model = build()
    x, labels = make_batch(image, batch)
    twins = make_twins(model, x)
    fwd_flops, flops = step_flops(model, x)
    runs = {name: RUNNERS[name](twin, x, labels) for name, twin in twins.items()}
    forward = dict(zip(runs, interleaved_times([run[0] for run in runs.values()], repeat)))
    step = dict(zip(runs, interleaved_times([run[1] for run in runs.values()], repeat)))
    memory = {name: peak_step_memory(name, net, batch) for name in runs}
    floor = flops / (gemm_gflops * 1e9)

    def each(value):
        return {name: value(name) for name in runs}
    rows = [
        compare_row("forward (ms)", each(lambda n: 1e3 * forward[n][0])),
        compare_row("training step (ms)", each(lambda n: 1e3 * step[n][0])),
        compare_row(f"training step, best of {repeat} (ms)", each(lambda n: 1e3 * step[n][1])),
        compare_row("images/s (training)", each(lambda n: batch / step[n][0])),
        compare_row("peak memory of a step (MiB)", memory),
        compare_row("step / GEMM floor", each(lambda n: step[n][0] / floor)),
    ]
    others = [c for name in runs if name != "tinyconv" for c in (name, f"ours / {name}")]
    print_table(f"{net}, batch {batch}, float32: step {flops / 1e9:.2f} GFLOP (forward {fwd_flops / 1e9:.2f}), "
                f"GEMM floor {1e3 * floor:.1f} ms at {gemm_gflops:.0f} GFLOP/s", ["", "tinyconv"] + others, rows)
    ours = runs["tinyconv"]
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


def machine_state() -> tuple[float, float, int]:
    """(1-minute load average, NumPy's float32 GEMM rate with tinyconv's BLAS threads, tinyconv's threads) now."""
    return os.getloadavg()[0], numpy_gemm_gflops(), threads.budget().threads


def shared_machine(net, batch, repeat, trials, loads, settle):
    """One row per trial while ``loads`` run: each framework's step (medians, taking turns) and the machine's state."""
    build, image = NETS[net]
    model = build()
    x, labels = make_batch(image, batch)
    steps = {name: RUNNERS[name](twin, x, labels)[1] for name, twin in make_twins(model, x).items()}
    names = list(steps)
    machine = f"{cpu_model()}, {len(threads.allowed_cpus())} cores"
    with shared_load.running(loads, settle) as running:
        print_header(f"{net}, batch {batch}, float32, training step medians of {repeat} (the frameworks taking "
                     f"turns), beside: {' + '.join(loads)}",
                     ["trial", "load", "machine", "load average", "GEMM GFLOP/s", "tinyconv threads"]
                     + [f"{name} (ms)" for name in names] + [f"tinyconv / {name}" for name in names[1:]])
        for trial in range(1, trials + 1):
            before = machine_state()
            medians = [median for median, _ in interleaved_times(list(steps.values()), repeat)]
            after = machine_state()
            shared_load.check_running(running)
            print_row([trial, " + ".join(loads), machine, f"{before[0]:.2f} -> {after[0]:.2f}",
                       f"{before[1]:.0f} -> {after[1]:.0f}", f"{before[2]} -> {after[2]}"]
                      + [1e3 * m for m in medians] + [medians[0] / m for m in medians[1:]])
    print(threads.budget().line())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", nargs="+", choices=list(NETS),
                        help="default: cifar10 and alexnet-28; with --load, cifar10")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per median (after 2 warm-up runs)")
    parser.add_argument("--load", nargs="+", choices=["none", *shared_load.LOADS], metavar="KIND",
                        help="measure beside these other processes, one row per trial: none, "
                             + ", ".join(shared_load.LOADS) + " (benchmarks/shared_load.py)")
    parser.add_argument("--trials", type=int, default=4, help="with --load: rows of medians (default: %(default)s)")
    parser.add_argument("--settle", type=float, default=20.0, help="with --load: seconds between starting the "
                        "loads and the first trial, for them to get going (default: %(default)s)")
    args = parser.parse_args()
    print(environment_line())
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()}")
    print(threads.budget().line())
    if args.load:
        for net in args.nets or ["cifar10"]:
            shared_machine(net, args.batch, args.repeat, args.trials, args.load, args.settle)
        return
    steal = cpu_steal_seconds()
    gemm = numpy_gemm_gflops()
    print(f"NumPy float32 GEMM (2048^3): {gemm:.1f} GFLOP/s")
    for net in args.nets or ["cifar10", "alexnet-28"]:
        bench_net(net, args.batch, args.repeat, gemm)
    print(f"\nNumPy float32 GEMM again at the end: {numpy_gemm_gflops():.1f} GFLOP/s; "
          f"load average {os.getloadavg()}; CPU time stolen by the hypervisor during the run "
          f"{cpu_steal_seconds() - steal:.1f} s")


if __name__ == "__main__":
    main()
