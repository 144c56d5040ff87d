"""The bench the claims are checked on: one training run per arm of an experiment, resumed and shared.

An *arm* is one training run of the program (:func:`tinyconv.train.run.train`) under a name, in
``<out>/runs/<name>/`` (checkpoint, metrics, figures). Experiments that need the same run name the
same arm and share it: the overlapping-pooling net with LRN is an arm of the LRN experiment and of
the pooling experiment. A finished arm is read back, not trained again; an unfinished one resumes
from its checkpoint, bit for bit, so a reproduction that takes days can be stopped and restarted at
any time. An arm whose folder holds a run of other options is refused rather than overwritten.

:class:`Budget` says how much of CIFAR-10 each arm sees: all of it (``FULL``), or a few hundred
images for two epochs in batches of 32 (``QUICK``, what the tests run: the machinery, never the claim).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace

from ..files import replace_atomically
from ..train import checkpoint
from ..train.config import TrainConfig, conflicts, saved_config
from ..train.metrics import read_metrics
from ..train.run import train

DIVERGED = "diverged.json"   # in an arm's folder: its loss went to NaN (a learning rate search may expect that)
_PRESENTATION = ("resume", "progress", "figures", "workers", "threads", "data_dir", "backend")  # not in result.json


@dataclass(frozen=True)
class Budget:
    """How much data and time an arm gets. ``scale`` shortens every experiment's epoch counts."""

    train_images: int | None = None
    val_images: int | None = None
    train_eval_images: int = 10000
    epochs_scale: float = 1.0
    min_epochs: int = 1
    batch_size: int = 128

    def epochs(self, full: int) -> int:
        """An experiment's ``full`` epoch count under this budget."""
        return max(self.min_epochs, round(full * self.epochs_scale))

    def drops(self, full) -> tuple:
        """Epochs after which the learning rate falls, scaled like :meth:`epochs` (kept distinct and >= 1)."""
        scaled = sorted({max(1, round(e * self.epochs_scale)) for e in full})
        return tuple(scaled)


FULL = Budget()
QUICK = Budget(train_images=384, val_images=256, train_eval_images=128, epochs_scale=0.0, min_epochs=2, batch_size=32)


class ArmError(RuntimeError):
    """An arm could not be trained (it was interrupted, or its folder holds another run)."""


class Diverged(ArmError):
    """An arm's loss became NaN or infinite (a learning rate too high); remembered in its folder."""


@dataclass
class Arm:
    """A finished arm: its options and its per-epoch metrics (``rows``, as in metrics.jsonl)."""

    name: str
    config: TrainConfig
    rows: list
    folder: str

    @property
    def checkpoint(self) -> str:
        return os.path.join(self.folder, "checkpoint.npz")

    def column(self, key: str) -> list:
        return [row[key] for row in self.rows]

    def last(self, key: str) -> float:
        return self.rows[-1][key]

    def summary(self) -> dict:
        """What result.json keeps of the arm: its options that differ from the program's defaults, its curves."""
        defaults = asdict(TrainConfig())
        options = {k: v for k, v in asdict(self.config).items()
                   if k not in _PRESENTATION + ("out", "dataset") and v != defaults.get(k)}
        keys = ("epoch", "lr", "train_loss", "train_top1", "train_eval_top1", "val_top1", "seconds")
        return {"options": options, "epochs": [{k: row.get(k) for k in keys} for row in self.rows]}


@dataclass
class Lab:
    """Trains arms on one copy of CIFAR-10 (``dataset``: ``folder`` of JPEGs or the ``cifar10`` batches)."""

    dataset: str
    data_dir: str
    out: str
    budget: Budget = FULL
    workers: int | None = None
    progress: bool = True
    say: object = print

    def config(self, name: str, **options) -> TrainConfig:
        """The options of arm ``name``: the data and budget of this lab, then ``options``."""
        base = TrainConfig(dataset=self.dataset, data_dir=self.data_dir, out=os.path.join(self.out, "runs", name),
                           train_images=self.budget.train_images, val_images=self.budget.val_images,
                           train_eval_images=self.budget.train_eval_images, batch_size=self.budget.batch_size,
                           workers=self.workers, progress=self.progress, figures=False)
        return replace(base, **options)

    def arm(self, name: str, *, epochs: int, lr_drops=(), **options) -> Arm:
        """Train arm ``name`` for ``epochs`` of this budget (resuming or reusing what is there); its :class:`Arm`.

        ``lr_drops`` are the full budget's epochs after which the rate falls by 10 (scaled with ``epochs``).
        An arm trained for more epochs before is read back whole; asked for more, it trains on.
        """
        cfg = self.config(name, epochs=self.budget.epochs(epochs), lr_drops=self.budget.drops(lr_drops), **options)
        path, marker = os.path.join(cfg.out, "checkpoint.npz"), os.path.join(cfg.out, DIVERGED)
        if os.path.exists(marker):
            raise Diverged(f"arm {name} diverged before ({marker})")
        done = 0
        if os.path.exists(path):
            saved = checkpoint.load_checkpoint(path, arrays=False)
            _check_same_run(name, saved_config(saved, path), cfg)
            done = saved["epoch"] if not saved["progress"]["batches"] else -1
            cfg = replace(cfg, resume=path, epochs=max(cfg.epochs, done))
        if done < cfg.epochs:
            self.say(f"arm {name}: " + ("training" if not cfg.resume else f"resuming {path}"))
            result = train(cfg, say=self.say)
            if result["status"] == "diverged":
                os.makedirs(cfg.out, exist_ok=True)   # a run that diverged before its first checkpoint leaves none
                with open(marker, "w", encoding="utf-8") as f:
                    json.dump({"after_epochs": result["epoch"]}, f)
                raise Diverged(f"arm {name} diverged in epoch {result['epoch'] + 1} at lr {cfg.lr:g}")
            if result["status"] != "finished":
                raise ArmError(f"arm {name} {result['status']} after {result['epoch']} epochs ({cfg.out}); "
                               "run the experiment again to resume it")
        rows = read_metrics(os.path.join(cfg.out, "metrics.jsonl"))
        return Arm(name, replace(cfg, resume=None), rows, cfg.out)

    def write(self, experiment: str, result: dict) -> str:
        """``<out>/<experiment>/result.json``, written whole or not at all; returns its path."""
        path = os.path.join(self.out, experiment, "result.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with replace_atomically(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
        return path

    def figure_path(self, experiment: str) -> str:
        os.makedirs(os.path.join(self.out, experiment), exist_ok=True)
        return os.path.join(self.out, experiment, f"{experiment}.png")


def _check_same_run(name: str, saved: TrainConfig, cfg: TrainConfig) -> None:
    """Refuse to resume arm ``name`` from a checkpoint of other options (they would mix two runs)."""
    differs = conflicts(saved, cfg)
    if differs:
        listed = ", ".join(f"{k} {there!r} there, {now!r} now" for k, there, now in differs)
        raise ArmError(f"arm {name}: {cfg.out} holds a run of other options ({listed}); move it away or pass "
                       "another --out")
