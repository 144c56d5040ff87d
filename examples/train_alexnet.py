"""Train AlexNet (Krizhevsky, Sutskever & Hinton, 2012) or a small member of its family.

    python examples/train_alexnet.py                       # embedded Fashion-MNIST subset, a few minutes on a CPU
    python examples/train_alexnet.py --dataset fashion-mnist --epochs 40
    python examples/train_alexnet.py --dataset imagenette --data-dir DIR --backend cupy --tf32
    python examples/train_alexnet.py --resume runs/NAME/checkpoint.npz   # after Ctrl-C
    mpirun -n 4 python examples/train_alexnet.py ...       # data parallel over 4 processes (docs/scaling.md)

The paper's hyperparameters are the defaults (§5): batch 128, momentum 0.9, weight decay
0.0005, learning rate 0.01 divided by 10 when the validation error stops improving, at most
three times. The work is done by tinyconv.train.run.train; this file only reads the options.
"""
from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__" and __package__ is None:  # `python examples/x.py` from a clone without `pip install -e .`
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinyconv import distributed
from tinyconv.train.checkpoint import CheckpointError
from tinyconv.train.datasets import DATASETS, DEFAULT_MODEL
from tinyconv.train.run import TrainConfig, config_from, train

EXIT_CODES = {"finished": 0, "diverged": 1, "interrupted": 130}


def parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASETS, default=d.dataset,
                      help="fashion-mnist-mini: 6,000/1,000 real Fashion-MNIST images shipped with tinyconv (default); "
                           "fashion-mnist: the official IDX files (Debian package dataset-fashion-mnist, or "
                           "--download); cifar10; imagenette; folder: --data-dir with train/<class>/ and val/<class>/")
    data.add_argument("--data-dir", help="where the dataset lives (default: the dataset's usual place, see tinyconv.data)")
    data.add_argument("--download", action="store_true", help="download the dataset if it is missing")
    data.add_argument("--train-images", type=int, help="use only this many (seeded random) training images")
    data.add_argument("--val-images", type=int, help="use only this many (seeded random) validation images")
    data.add_argument("--pad", type=int, help="zero pixels added around images that are already the input size, so "
                      "random crops become random shifts (default: input size // 8; 0 turns it off)")
    data.add_argument("--workers", type=int, default=d.workers, help="threads preparing batches (§4.1; 0: none)")
    data.add_argument("--ten-crop", action="store_true",
                      help="validate on the ten crops of §4.1 (corners, centre, mirrored; softmax averaged)")
    net = p.add_argument_group("model and hardware")
    net.add_argument("--model", help="a name from tinyconv.models.available_models(); default by dataset: " +
                     ", ".join(f"{k} -> {v}" for k, v in DEFAULT_MODEL.items()))
    net.add_argument("--bias-init", type=float, default=d.bias_init,
                     help="initial bias of conv2, conv4, conv5 and the hidden FC layers (§5: 1; Caffe: 0.1)")
    net.add_argument("--backend", choices=("auto", "numpy", "cupy"), default=d.backend,
                     help="numpy (CPU) or cupy (GPU); auto takes CuPy when a GPU answers")
    net.add_argument("--devices", help="GPU numbers, e.g. 0,1: two GPUs run the device-split AlexNet (§3.2)")
    net.add_argument("--tf32", action="store_true", help="let CuPy multiply float32 matrices in TF32 on "
                     "Ampere or newer GPUs (faster, 10-bit mantissa); no effect on the CPU")
    opt = p.add_argument_group("optimisation (§5)")
    opt.add_argument("--batch-size", type=int, default=d.batch_size, help="examples per step (paper: 128)")
    opt.add_argument("--lr", type=float, default=d.lr, help="initial learning rate (paper: 0.01)")
    opt.add_argument("--momentum", type=float, default=d.momentum, help="paper: 0.9")
    opt.add_argument("--weight-decay", type=float, default=d.weight_decay, help="paper: 0.0005")
    opt.add_argument("--patience", type=int, default=d.patience,
                     help="epochs without a lower validation error before the learning rate is divided by 10")
    opt.add_argument("--max-reductions", type=int, default=d.max_reductions,
                     help="divisions by 10 before training stops at the next plateau (paper: 3)")
    opt.add_argument("--epochs", type=int, default=d.epochs, help="at most this many epochs (paper: about 90)")
    opt.add_argument("--seed", type=int, default=d.seed, help="seeds the weights, the order, the crops, dropout")
    run = p.add_argument_group("output")
    run.add_argument("--out", help="folder for checkpoint.npz, metrics.jsonl/.csv and the PNG figures "
                     "(default: runs/<dataset>-<model>-seed<seed>)")
    run.add_argument("--resume", metavar="CHECKPOINT",
                     help="continue the run saved in CHECKPOINT (same options as that run); ends with the same "
                          "weights as a run that was never interrupted")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    run.add_argument("--no-figures", dest="figures", action="store_false", help="write no PNG figures")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    comm = distributed.init()  # under `mpirun -n N`: N ranks, data parallel; else one process
    try:
        result = train(config_from(args), comm=comm)
    except (CheckpointError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return comm.finish(2)
    return comm.finish(EXIT_CODES[result["status"]])  # a rank that stops early stops them all


if __name__ == "__main__":
    sys.exit(main())
