"""Check the paper's claims on CIFAR-10: Figure 1 (§3.1), LRN (§3.3), overlapping pooling (§3.4), dropout (§4.2),
averaged nets (§6).

    python examples/reproduce.py lrn --data-dir ~/.cache/tinyconv/cifar10-jpeg    # JPEG class folders (train/, test/)
    python examples/reproduce.py figure1 --dataset cifar10 --download            # the official archive
    python examples/reproduce.py all --data-dir DIR                              # every experiment, one after another
    python examples/reproduce.py dropout --data-dir DIR --quick                  # a few hundred images: a test run

Each experiment trains its arms (one training run each) under OUT/runs/<arm>/ and writes
OUT/<experiment>/result.json and OUT/<experiment>/<experiment>.png. An interrupted experiment
continues where it stopped when run again with the same options; arms that experiments share
(the §3.3 net with LRN is in lrn, overlap and average) are trained once. docs/results.md has the
figures, their commands and what each took.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

from tinyconv.claims import EXPERIMENTS, FULL, QUICK, ArmError, Lab
from tinyconv.train.checkpoint import CheckpointError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiments", nargs="+", metavar="EXPERIMENT", choices=list(EXPERIMENTS) + ["all"],
                   help="one or more of " + ", ".join(EXPERIMENTS) + ", or all")
    p.add_argument("--data-dir", metavar="DIR", help="CIFAR-10 as class folders (DIR/train/<class>/*.jpg and "
                   "DIR/test/<class>/* or DIR/val/<class>/*), or the official Python batches (default for "
                   "--dataset cifar10: $TINYCONV_DATA/cifar-10 or ~/.cache/tinyconv/cifar-10)")
    p.add_argument("--dataset", choices=("folder", "cifar10"),
                   help="folder or cifar10 (default: folder when DIR/train exists, else cifar10)")
    p.add_argument("--download", action="store_true", help="download the official CIFAR-10 archive (163 MB) if missing")
    p.add_argument("--out", default=os.path.join("runs", "reproduce"), metavar="OUT",
                   help="where the arms and the results go (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a few hundred images for two epochs per arm: checks that "
                   "the experiment runs end to end (minutes), not the claim")
    p.add_argument("--scale", type=float, default=1.0, metavar="F",
                   help="every experiment's epochs (and learning-rate drops) times F, e.g. 0.5 for half "
                   "schedules on a slow machine; the arms go to their own --out (default: 1, the full runs)")
    p.add_argument("--workers", type=int, metavar="N", help="threads preparing batches (default: from the "
                   "thread budget, tinyconv/threads.py)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    return p


def dataset_of(args) -> str:
    if args.dataset:
        return args.dataset
    return "folder" if args.data_dir and os.path.isdir(os.path.join(args.data_dir, "train")) else "cifar10"


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    names = list(EXPERIMENTS) if "all" in args.experiments else list(dict.fromkeys(args.experiments))
    dataset = dataset_of(args)
    if dataset == "folder" and not args.data_dir:
        print("error: --dataset folder needs --data-dir DIR with DIR/train/<class>/ and DIR/test/<class>/",
              file=sys.stderr)
        return 2
    if args.download and dataset == "cifar10":   # the training program never downloads: fetch the archive first
        from tinyconv.data import CIFAR10
        CIFAR10(args.data_dir, download=True)
    if not 0 < args.scale <= 1:
        print(f"error: --scale must be in (0, 1], got {args.scale:g}", file=sys.stderr)
        return 2
    budget = QUICK if args.quick else replace(FULL, epochs_scale=args.scale)
    lab = Lab(dataset, args.data_dir, args.out, budget, workers=args.workers,
              progress=args.progress)
    for name in names:
        try:
            result = EXPERIMENTS[name](lab)
        except (ArmError, CheckpointError, FileNotFoundError, RuntimeError, ValueError) as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return 2
        result = {"experiment": name, "quick": args.quick, "scale": args.scale, "dataset": dataset, **result}
        path = lab.write(name, result)
        shown = {k: v for k, v in result.items() if k != "arms"}
        print(f"{name}: {path}\n{json.dumps(shown, indent=1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
