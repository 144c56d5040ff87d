"""What one data-parallel step of AlexNet costs in communication, measured (docs/scaling.md).

    mpirun -n 2 python benchmarks/bench_allreduce.py                 # add --allow-run-as-root as root
    mpirun -n 2 python benchmarks/bench_allreduce.py --device cuda:0 # GPU arrays staged through the host

Times, on every rank together (rank 0 prints): a bare MPI all-reduce of AlexNet's 60,965,224
float32 gradients, tinyconv's ``average_gradients`` on the real parameters (packing, the host
copies and the all-reduce), and ``broadcast_parameters``. The bus bandwidth column is
``2 (N - 1) / N * bytes / time``, the bytes each rank sends in a ring all-reduce (as in
nccl-tests), so it compares with a link speed.
"""
from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__" and __package__ is None:
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from benchmarks.common import median_seconds, print_table
from tinyconv import backend, distributed
from tinyconv.models import AlexNet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="where the model lives: cpu or cuda:N")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    comm = distributed.init("mpi")
    model = AlexNet(num_classes=1000).to(args.device)
    params = list(model.parameters())
    gradients = [p.xp.full(p.shape, comm.rank + 1.0, p.dtype) for p in params]
    nbytes = sum(p.size for p in params) * 4
    flat = np.full(nbytes // 4, comm.rank + 1.0, np.float32)

    def average():
        for p, g in zip(params, gradients):
            p.grad = g
        comm.average_gradients(params)
        backend.synchronize(args.device)

    def timed(fn):
        comm.barrier()
        return median_seconds(lambda: (fn(), comm.barrier()), repeat=args.repeat, warmup=1)

    rows = []
    for name, fn in (("MPI Allreduce, one float32 array", lambda: comm.allreduce_sum_(flat)),
                     (f"average_gradients ({args.device})", average),
                     (f"broadcast_parameters ({args.device})", lambda: comm.broadcast_parameters(model))):
        seconds = timed(fn)
        factor = 2 * (comm.world_size - 1) / comm.world_size if "broadcast" not in name else 1.0
        rows.append([name, f"{nbytes / 1e6:.1f}", f"{1e3 * seconds:.0f}", f"{factor * nbytes / seconds / 1e9:.2f}"])
    expected = sum(range(1, comm.world_size + 1)) / comm.world_size
    assert np.allclose(backend.to_numpy(params[0].grad), expected), "the average is wrong"
    if comm.is_root:
        print_table(f"AlexNet gradients over {comm.world_size} ranks ({library(comm)})",
                    ["operation", "MB", "ms", "bus GB/s"], rows)


def library(comm) -> str:
    return comm.MPI.Get_library_version().splitlines()[0].split(",")[0]


if __name__ == "__main__":
    main()
