"""Epoch times of the training program's default run: alone, beside a second one, and as two MPI ranks.

    python -m benchmarks.default_run_epochs                         # the three settings, one after the other
    python -m benchmarks.default_run_epochs --settings beside
    python -m benchmarks.default_run_epochs -- --epochs 2           # options after -- go to every run

The default run is the README's first command, ``python examples/train_alexnet.py`` (alexnet-28 on
the embedded Fashion-MNIST subset, 6 epochs), here with ``--out`` in a temporary folder and
``--no-progress``. The settings:

* ``idle``: the run alone;
* ``beside``: two runs started together, as when a learner starts a second one (a row each);
* ``mpirun``: ``mpirun -n 2`` of the same command, two ranks training one net data parallel
  (64 images each per step; on 2 cores OpenMPI binds each rank to a core).

Each row: the seconds of the training pass of each epoch (``metrics.jsonl``: without validation),
their median, minimum and maximum, the whole process's wall time, the last validation top-1
error, the load average before and after, and the thread budget the run printed
(:mod:`tinyconv.threads`). The runs import the tinyconv of this checkout.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import cpu_model, print_table
from benchmarks.shared_load import ROOT, child_environment
from tinyconv.train.metrics import read_metrics

SETTINGS = ("idle", "beside", "mpirun")
PROGRAM = ["examples/train_alexnet.py", "--no-progress"]


def commands(setting: str, outs: list[str], extra: list[str]) -> list[list[str]]:
    """The command line of each process that ``setting`` starts, writing into ``outs``."""
    if setting == "mpirun":
        if shutil.which("mpirun") is None:
            raise RuntimeError("mpirun not found: install OpenMPI and mpi4py (scripts/install_mpi.sh)")
        return [["mpirun", "-n", "2", sys.executable, *PROGRAM, "--out", outs[0], *extra]]
    return [[sys.executable, *PROGRAM, "--out", out, *extra] for out in outs[:2 if setting == "beside" else 1]]


def environment() -> dict:
    env = child_environment()
    if hasattr(os, "geteuid") and os.geteuid() == 0:    # mpirun refuses root without being told
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def run_setting(setting: str, extra: list[str], folder: str) -> list[list]:
    """Run ``setting`` to the end; one table row per run."""
    outs = [os.path.join(folder, f"{setting}-{i}") for i in range(2)]
    logs = [os.path.join(folder, f"{setting}-{i}.log") for i in range(2)]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    processes = []
    try:
        for command, log in zip(commands(setting, outs, extra), logs):
            with open(log, "w") as f:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=environment(), stdout=f,
                                                  stderr=subprocess.STDOUT))
        walls = []
        for process in processes:
            process.wait()
            walls.append(time.perf_counter() - started)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait()
    load = f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    rows = []
    for i, (process, wall) in enumerate(zip(processes, walls)):
        text = Path(logs[i]).read_text()
        if process.returncode != 0:
            raise RuntimeError(f"{setting} run {i + 1} failed (exit status {process.returncode}):\n{text[-3000:]}")
        run = "2 ranks" if setting == "mpirun" else f"{i + 1} of {len(processes)}"
        rows.append([setting, run, *epoch_figures(read_metrics(os.path.join(outs[i], "metrics.jsonl"))),
                     wall, load, budget_of(text)])
    return rows


def epoch_figures(metrics: list[dict]) -> list:
    """[epochs, median, min, max of the seconds per epoch, last validation top-1 error (%)]."""
    seconds = [row["seconds"] for row in metrics]
    if not seconds:
        raise RuntimeError("the run wrote no epochs to metrics.jsonl")
    return [len(seconds), statistics.median(seconds), min(seconds), max(seconds), 100 * metrics[-1]["val_top1"]]


def budget_of(log: str) -> str:
    """The thread counts of the budget line the program printed at the start ("BLAS 2, op pool 2, loader 1
    worker") and the compute threads at the end of each epoch ("epochs: 2 1 1")."""
    lines = log.splitlines()
    start = next((line for line in lines if line.startswith("threads: ")), "(not printed)")
    epochs = [line.rsplit(", ", 1)[1].split()[0] for line in lines
              if line.startswith("epoch ") and line.endswith(("compute thread)", "compute threads)"))]
    return f"{start.removeprefix('threads: ').split(';')[0]}; epochs: {' '.join(epochs)}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="options after -- are passed to every run, e.g. -- --epochs 2")
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    print(f"{cpu_model()}, {os.cpu_count()} cores; command: python {' '.join(PROGRAM)} --out DIR "
          + " ".join(args.extra))
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyconv-epochs-") as folder:
        for setting in args.settings:
            rows += run_setting(setting, args.extra, folder)
    print_table("the default run's epochs (training pass only; seconds)",
                ["setting", "run", "epochs", "median", "min", "max", "last val top-1 (%)", "wall (s)",
                 "load average", "threads"], rows)


if __name__ == "__main__":
    main()
