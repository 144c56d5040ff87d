"""Shared pieces of the benchmarks: timing, the GEMM ceiling, and the table printer.

Every benchmark times tinyconv and PyTorch on the same model, batch and precision in one
run (warm-up first, then the median of repeated runs), so the ratio in the last column is
measured, not remembered.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import date

import numpy as np


def median_seconds(fn, repeat: int = 5, warmup: int = 2, sync=lambda: None) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs (``sync`` waits for a GPU)."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_times(fns, repeat: int = 5, warmup: int = 2) -> list[tuple[float, float]]:
    """(median, best) wall time of each of ``fns``, timed in turns (a, b, a, b, ...) after ``warmup`` runs each.

    On a shared machine the load drifts; taking turns exposes every function to the same drift,
    so the ratio of two medians stays fair even when both move. The best run shows what the
    code does when the neighbours are quiet.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [(statistics.median(t), min(t)) for t in times]


def numpy_gemm_gflops(n: int = 2048, dtype=np.float32) -> float:
    """The float32 GEMM rate NumPy's BLAS reaches on this machine (GFLOP/s, n x n x n)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    seconds = median_seconds(lambda: np.matmul(a, b, out=out), repeat=5, warmup=1)
    return 2 * n ** 3 / seconds / 1e9


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """Print a Markdown table (pastes straight into docs/benchmarks.md)."""
    print_header(title, header)
    for row in rows:
        print_row(row)


def print_header(title: str, header: list[str]) -> None:
    """The title and header of a Markdown table whose rows :func:`print_row` prints as they come."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)


def print_row(row: list) -> None:
    print("| " + " | ".join(f"{c:.4g}" if isinstance(c, float) else str(c) for c in row) + " |", flush=True)


def cpu_steal_seconds() -> float:
    """CPU time the hypervisor gave to other machines so far (Linux /proc/stat "steal"; 0 elsewhere).

    Read before and after a run on a shared virtual machine: a large difference means the
    timings of that run were taken on a host busy with other guests.
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo (Linux), else what the platform module says."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def environment_line() -> str:
    """Date, machine and versions, for the record beside each table."""
    import torch

    import tinyconv

    return (f"{date.today().isoformat()}, {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch {torch.__version__}, "
            f"tinyconv {getattr(tinyconv, '__version__', 'dev')}")
