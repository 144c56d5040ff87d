"""CPU timing of LRN and overlapping max pooling, forward + backward, tinyconv (NumPy) vs PyTorch.

    python -m benchmarks.ops_cpu [--batch 128] [--repeats 3]

Shapes: the cuda-convnet CIFAR-10 net's first LRN (N x 64 x 32 x 32) and AlexNet's conv1 output
(N x 96 x 55 x 55). LRN in the paper's convention (k=2, n=5, alpha=1e-4, beta=0.75; torch gets
alpha * n). Prints the best of ``--repeats`` runs, in milliseconds.
"""
import argparse

import numpy as np
import torch

from benchmarks.common import interleaved_times
from tinyconv.functional.normalization import alpha_to_torch, local_response_norm
from tinyconv.functional.pooling import max_pool2d
from tinyconv.tensor import Tensor


def ours(op, x, gy):
    def run():
        t = Tensor(x, requires_grad=True)
        op(t).backward(gy)
    return run


def theirs(op, x, gy):
    xt, gyt = torch.from_numpy(x), torch.from_numpy(gy)

    def run():
        t = xt.clone().requires_grad_(True)
        op(t).backward(gyt)
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ops = {
        "lrn": (lambda t: local_response_norm(t, 5, 1e-4, 0.75, 2.0),
                lambda t: torch.nn.functional.local_response_norm(t, 5, alpha_to_torch(1e-4, 5), 0.75, 2.0)),
        "max_pool2d(3, 2)": (lambda t: max_pool2d(t, 3, 2), lambda t: torch.nn.functional.max_pool2d(t, 3, 2)),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print(f"{'op':18} {'shape':20} {'tinyconv ms':>12} {'torch ms':>10} {'ratio':>6}")
    for C, H in ((64, 32), (96, 55)):
        x = np.abs(rng.standard_normal((args.batch, C, H, H), dtype=np.float32)) * 10   # ReLU outputs
        for name, (op, op_torch) in ops.items():
            gy_shape = op(Tensor(x)).shape
            gy = rng.standard_normal(gy_shape, dtype=np.float32)
            (_, a), (_, b) = interleaved_times([ours(op, x, gy), theirs(op_torch, x, gy)], args.repeats, warmup=1)
            a, b = 1000 * a, 1000 * b                                       # best run, in ms
            print(f"{name:18} {str(x.shape):20} {a:12.1f} {b:10.1f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
