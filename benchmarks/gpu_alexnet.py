"""The paper's AlexNet on one GPU: tinyconv (CuPy) against PyTorch/cuDNN, fp32 and TF32.

Not yet run on a GPU: no figure in docs/benchmarks.md comes from it. On a machine with a CUDA GPU:

    pip install -e ".[cuda12]"                       # or .[cuda13]: CuPy for the machine's CUDA
    python -m benchmarks.gpu_alexnet                  # fp32, then TF32, each in its own process
    CUPY_TF32=1 python -m benchmarks.gpu_alexnet --precision tf32 --batch 128 --repeat 20

The model is AlexNet as §3.5 builds it: 3x227x227 inputs, batch 128, the towers as groups=2,
LRN (n=5, alpha=1e-4 in the paper's convention; torch gets alpha * n), overlapping pooling,
dropout, 1000 classes, softmax cross-entropy, SGD with momentum 0.9 and weight decay 5e-4 (§5).
It is timed four ways in one process: tinyconv's one-device AlexNet, the same with its fast paths
switched off (``tinyconv.fast_paths(False)``: every op on its reference, to show what the kernels
bring), tinyconv's SplitAlexNet with both towers on ("cuda:0", "cuda:0") (§3.2's model split,
with the copies between towers), and its PyTorch twin with the same weights (cudnn.benchmark on).

Times come from CUDA events around each call, medians after warm-up. Peak memory: for tinyconv,
the bytes CuPy's memory pool holds after one step started from an emptied pool (the pool keeps
every block it got, so that is its high-water mark); for torch, ``max_memory_reserved`` after
``empty_cache`` and ``reset_peak_memory_stats``, the same quantity for its caching allocator.
TF32: ``CUPY_TF32=1`` for CuPy's GEMMs (read at its first float32 GEMM, hence the process per
precision); ``allow_tf32`` for torch's matmuls and cuDNN. The GEMM floor is the step's FLOPs
over cupy.matmul's rate on 8192^3 in the same process; the per-kind breakdown synchronises
around every op (:mod:`benchmarks.op_profile`), so it serialises the step.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch

from benchmarks.common import environment_line, print_table
from benchmarks.op_profile import breakdown, op_timers
from benchmarks.torch_mirror import to_torch
from benchmarks.training_step import check_agreement, make_batch, step_flops, tinyconv_runner, torch_runner
from tinyconv import backend, fast_paths, models

DEVICE = "cuda:0"


def event_ms(fn, new_event, elapsed_ms, repeat, warmup=3) -> float:
    """Median milliseconds of ``fn()`` between two CUDA events (``elapsed_ms(start, end)`` waits for end)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start, end = new_event(), new_event()
        start.record()
        fn()
        end.record()
        times.append(elapsed_ms(start, end))
    return float(np.median(times))


def cupy_timer(cupy, repeat):
    def elapsed(start, end):
        end.synchronize()
        return cupy.cuda.get_elapsed_time(start, end)
    return lambda fn: event_ms(fn, cupy.cuda.Event, elapsed, repeat)


def torch_timer(repeat):
    def elapsed(start, end):
        end.synchronize()
        return start.elapsed_time(end)
    return lambda fn: event_ms(fn, lambda: torch.cuda.Event(enable_timing=True), elapsed, repeat)


def cupy_gemm_tflops(cupy, n=8192) -> float:
    a = cupy.random.standard_normal((n, n), dtype=cupy.float32)
    b = cupy.random.standard_normal((n, n), dtype=cupy.float32)
    ms = cupy_timer(cupy, 5)(lambda: cupy.matmul(a, b))
    return 2 * n ** 3 / (ms / 1e3) / 1e12


def cupy_peak_bytes(cupy, step) -> int:
    """Bytes the memory pool holds after one ``step`` from an emptied pool (its high-water mark)."""
    pool = getattr(cupy.cuda.get_allocator(), "__self__", None)   # the MemoryPool tinyconv.backend installed
    if not isinstance(pool, cupy.cuda.MemoryPool):
        raise RuntimeError(f"expected CuPy's allocator to be a MemoryPool's malloc, got {cupy.cuda.get_allocator()!r}")
    cupy.cuda.Device().synchronize()
    pool.free_all_blocks()
    step()
    cupy.cuda.Device().synchronize()
    return pool.total_bytes()


def torch_peak_bytes(step) -> int:
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_reserved()


def without_kernels(fn):
    """``fn`` with every op on its reference instead of its fused kernel (:class:`tinyconv.fast_paths`)."""
    def run_references():
        with fast_paths(False):
            return fn()
    return run_references


def run(precision, batch, repeat):
    """Time the three models at one precision (this process's CuPy TF32 setting must match)."""
    cupy = backend.device(DEVICE).xp
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    print(environment_line())
    print(f"{torch.cuda.get_device_name(0)}, CuPy {cupy.__version__}, cuDNN {torch.backends.cudnn.version()}, "
          f"{precision}, CUPY_TF32={os.environ.get('CUPY_TF32', '0')}")
    model = models.create("alexnet", 1000, dropout_mode="inverted")
    twin = to_torch(model).to(DEVICE)
    split = models.SplitAlexNet.from_alexnet(model, (DEVICE, DEVICE))
    model.to(DEVICE)
    x, labels = make_batch((3, 227, 227), batch)
    for ours in (model, split):
        check_agreement(ours, twin, x, DEVICE, rtol=1e-2 if tf32 else 1e-3)
    fwd_flops, flops = step_flops(model, backend.to_device(x, DEVICE))
    gemm = cupy_gemm_tflops(cupy)
    ours_t, theirs_t = cupy_timer(cupy, repeat), torch_timer(repeat)
    results = {}
    for name, (fwd, step), timer in (
            ("tinyconv", tinyconv_runner(model, x, labels, DEVICE), ours_t),
            ("tinyconv, references", [without_kernels(f) for f in tinyconv_runner(model, x, labels, DEVICE)], ours_t),
            ("tinyconv split", tinyconv_runner(split, x, labels, DEVICE), ours_t),
            ("torch", torch_runner(twin, x, labels, DEVICE), theirs_t)):
        times = timer(fwd), timer(step)                                  # warm: cuDNN has picked its kernels
        peak = torch_peak_bytes(step) if name == "torch" else cupy_peak_bytes(cupy, step)
        results[name] = (*times, peak / 2 ** 20)
    floor_ms = flops / (gemm * 1e12) * 1e3
    f_t, s_t, m_t = results["torch"]
    rows = []
    for name, (f, s, m) in results.items():
        rows.append([name, f, s, batch / (s / 1e3), m, s / floor_ms, f / f_t, s / s_t, m / m_t])
    print_table(f"AlexNet 227x227, batch {batch}, {precision}: step {flops / 1e9:.0f} GFLOP "
                f"(forward {fwd_flops / 1e9:.0f}), GEMM floor {floor_ms:.1f} ms at {gemm:.1f} TFLOP/s",
                ["model", "forward ms", "step ms", "images/s", "peak MiB", "step / floor",
                 "forward / torch", "step / torch", "memory / torch"], rows)
    step = tinyconv_runner(model, x, labels, DEVICE)[1]
    sync = cupy.cuda.Device().synchronize
    step()
    with op_timers(cupy, sync) as seconds:
        sync()
        start = time.perf_counter()
        for _ in range(repeat):
            step()
        sync()
        total = time.perf_counter() - start
    parts = breakdown(seconds, total)
    print_table(f"where tinyconv's step goes, {precision} (synchronised around each op; per step)",
                ["kind", "ms", "share"],
                [[kind, 1e3 * t / repeat, f"{100 * t / total:.0f}%"] for kind, t in parts.items()])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precision", choices=("fp32", "tf32"), help="one precision in this process "
                        "(default: both, each in a child process with the matching CUPY_TF32)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per median (after 3 warm-up runs)")
    args = parser.parse_args()
    if not backend.cupy_available() or not torch.cuda.is_available():
        sys.exit("gpu_alexnet needs CuPy and PyTorch with a CUDA GPU: pip install -e \".[cuda12]\" and a "
                 "CUDA build of torch; on the CPU run python -m benchmarks.cpu_train_step")
    if args.precision:
        want = "1" if args.precision == "tf32" else "0"
        if os.environ.get("CUPY_TF32", "0") != want:
            sys.exit(f"--precision {args.precision} needs CUPY_TF32={want} in the environment "
                     "(CuPy reads it at its first GEMM); run without --precision to have it set")
        run(args.precision, args.batch, args.repeat)
        return
    for precision in ("fp32", "tf32"):
        env = {**os.environ, "CUPY_TF32": "1" if precision == "tf32" else "0"}
        subprocess.run([sys.executable, "-m", "benchmarks.gpu_alexnet", "--precision", precision,
                        "--batch", str(args.batch), "--repeat", str(args.repeat)], env=env, check=True)


if __name__ == "__main__":
    main()
