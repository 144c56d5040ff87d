"""Other processes to share the machine with while a benchmark measures: a learner's machine runs more than one thing.

    python -m benchmarks.cpu_train_step --load tinyconv-run --trials 4
    python -m benchmarks.shared_load gemm          # one load alone, in the foreground (Ctrl-C stops it)

The kinds of load (:data:`LOADS`):

* ``python``: a pure-Python loop, one core busy, no NumPy;
* ``gemm``: a loop of NumPy float32 GEMMs (2048^3) with the BLAS library's own default threads;
* ``tinyconv-run``: the README's default command, ``python examples/train_alexnet.py`` (with ``--out``
  in a temporary folder and ``--no-progress``), started again whenever it ends;
* ``steps``: training steps of the benchmark's ``cifar10`` net, tinyconv and PyTorch by turns, as a
  second benchmark would take them.

:func:`running` starts each as ``python -m benchmarks.shared_load KIND`` in a session of its own and
stops it when the block ends, however it ends (an error, Ctrl-C): SIGTERM to its whole process
group, which also reaches the training program that ``tinyconv-run`` started, then SIGKILL if it
is not gone within :data:`GRACE_SECONDS`. Each load also asks Linux to send it SIGTERM when the
benchmark dies without cleaning up (``PR_SET_PDEATHSIG``). The loads import the tinyconv of this
checkout, the same one the benchmark measures.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1


def python_loop():
    """One core busy in the interpreter, nothing else."""
    count = 0
    while True:
        count += 1


def gemm_loop(n: int = 2048):
    """NumPy float32 GEMMs, one after the other, with the BLAS library's default threads."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    while True:
        np.matmul(a, b, out=out)


def tinyconv_run():
    """The README's default training run, again and again, writing into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="tinyconv-load-") as out:
        command = [sys.executable, "examples/train_alexnet.py", "--out", out, "--no-progress"]
        while True:
            run = subprocess.Popen(command, cwd=ROOT, env=child_environment(), stdout=subprocess.DEVNULL)
            try:
                status = run.wait()
            finally:                           # SIGTERM to this process: stop the run and wait for it
                if run.poll() is None:
                    run.terminate()
                    run.wait()
            if status != 0:
                raise SystemExit(f"{' '.join(command)} failed with exit status {status}")


def train_steps(net: str = "cifar10", batch: int = 128):
    """Training steps of a benchmark net, tinyconv and PyTorch by turns."""
    from benchmarks.cpu_train_step import NETS, RUNNERS, TWINS
    from benchmarks.training_step import make_batch

    build, image = NETS[net]
    model = build()
    x, labels = make_batch(image, batch)
    steps = [RUNNERS[name](TWINS[name](model), x, labels)[1] for name in ("tinyconv", "torch")]
    while True:
        for step in steps:
            step()


LOADS = {"python": python_loop, "gemm": gemm_loop, "tinyconv-run": tinyconv_run, "steps": train_steps}


def child_environment() -> dict:
    """This environment with the checkout first on PYTHONPATH: the loads import the tinyconv measured."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def start(kind: str) -> subprocess.Popen:
    """Start load ``kind`` in a session (and process group) of its own."""
    if kind not in LOADS:
        raise ValueError(f"unknown load {kind!r}: choose from {', '.join(LOADS)}")
    return subprocess.Popen([sys.executable, "-m", "benchmarks.shared_load", kind, "--parent", str(os.getpid())],
                            cwd=ROOT, env=child_environment(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(load: subprocess.Popen) -> None:
    """Stop a load and everything it started: SIGTERM to its process group, SIGKILL after the grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(load.pid, sig)
        try:
            load.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


def check_running(loads: dict) -> None:
    """Raise if a load ended on its own: the figures would then be of a quieter machine than asked for."""
    for kind, load in loads.items():
        if load.poll() is not None:
            raise RuntimeError(f"the {kind} load stopped on its own (exit status {load.returncode}); run "
                               f"`python -m benchmarks.shared_load {kind}` to see why")


@contextlib.contextmanager
def running(kinds, settle: float = 0.0, say=print):
    """Run the loads ``kinds`` (names of :data:`LOADS`; "none" for no load) while the block runs.

    Waits ``settle`` seconds after starting them, so that they are busy (a training run first
    imports, reads its data and computes the mean image) before the block measures anything.
    Yields {kind: Popen}.
    """
    loads = {}
    try:
        for kind in kinds:
            if kind != "none":
                loads[kind] = start(kind)
        if loads and settle > 0:
            say(f"started {', '.join(f'{kind} (pid {p.pid})' for kind, p in loads.items())}; "
                f"waiting {settle:g} s for them to get going")
            time.sleep(settle)
        check_running(loads)
        yield loads
    finally:
        for load in loads.values():
            stop(load)


def _stop_with_parent(parent: int) -> None:
    """Have Linux send this process SIGTERM when ``parent`` dies; exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):   # not Linux: the parent's own clean-up must do
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent and os.getppid() != parent:
        sys.exit(0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=list(LOADS))
    parser.add_argument("--parent", type=int, default=0, help="stop when this process dies (set by running())")
    args = parser.parse_args(argv)
    _stop_with_parent(args.parent)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))   # runs the finally blocks
    LOADS[args.kind]()


if __name__ == "__main__":
    main()
