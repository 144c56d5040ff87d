"""Top-1 and top-5 error of a checkpoint written by train_alexnet.py, centre crop and ten crops (§4.1).

    python examples/evaluate.py runs/fashion-mnist-mini-alexnet-28-seed0/checkpoint.npz

Given several checkpoints it also reports the average of their predictions (§6):

    python examples/evaluate.py runs/a/checkpoint.npz runs/b/checkpoint.npz

It imports the installed package: run `pip install -e .` in the clone first (README).
"""
from __future__ import annotations

import argparse
import sys

from tinyconv.train.evaluation import SPLITS, evaluate_average, evaluate_checkpoint
from tinyconv.train.messages import COMMAND_LINE, USER_ERRORS, error_message, plain_warnings

# evaluate.py reads the data its checkpoints were trained on: it downloads nothing and skips what training skipped
WORDS = dict(COMMAND_LINE, download="run train_alexnet.py with --download", skip_corrupt="train with --skip-corrupt")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", metavar="checkpoint",
                   help="a checkpoint.npz written by train_alexnet.py; with several, also the error of the average "
                        "of their softmax outputs (§6; same dataset and validation images, checked before any "
                        "is evaluated)")
    p.add_argument("--data-dir", help="where the dataset lives, if not where the training run found it")
    p.add_argument("--backend", choices=("auto", "numpy", "cupy"), default="auto",
                   help="numpy (CPU) or cupy (GPU); auto takes CuPy when a GPU answers")
    p.add_argument("--batch-size", type=int, default=128, help="images per forward pass (ten crops each)")
    p.add_argument("--split", choices=SPLITS, default="val",
                   help="val (default): the dataset's validation images (the test set of a run trained with "
                        "--holdout); holdout: the training images such a run held out; train: the training "
                        "images, to compare the net's own training error with its validation error "
                        "(underfitting or overfitting)")
    p.add_argument("--val-images", type=int, help="use only this many (seeded random) images of that split")
    p.add_argument("--workers", type=int, help="threads preparing batches (default: from the thread budget, "
                   "tinyconv/threads.py)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    args = p.parse_args(argv)
    options = dict(data_dir=args.data_dir, backend=args.backend, batch_size=args.batch_size, split=args.split,
                   val_images=args.val_images, workers=args.workers, show=args.progress)
    try:
        with plain_warnings():
            if len(args.checkpoints) == 1:
                evaluate_checkpoint(args.checkpoints[0], **options)
            else:
                evaluate_average(args.checkpoints, **options)
    except USER_ERRORS as exc:
        print(f"error: {error_message(exc, WORDS)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstopped by Ctrl-C", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
