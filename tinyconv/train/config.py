"""The options of a training run, resolved and checked, and the options a resumed run may change.

:class:`TrainConfig` holds every option of ``examples/train_alexnet.py``. Some defaults hang on
other options (the model, the padding and the epochs on the dataset; the output folder on those and
the seed): :func:`resolved` fills them in. The checkpoint stores the resolved options, so that
``--resume CHECKPOINT`` alone continues that run exactly (:func:`resume_config`).

Most options change what a run computes: resumed with another batch size, seed or learning rate, the
weights would be those of no run at all, so a resumed run refuses them (:class:`ResumeConflict`). The
options in :data:`CHANGEABLE_ON_RESUME` say only where the data is, how long to train, and on what
and how visibly to compute: those may differ.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace

from . import checkpoint
from .datasets import dataset_pad, default_epochs, default_model


@dataclass
class TrainConfig:
    """Every option of the program (``examples/train_alexnet.py --help`` explains each)."""

    dataset: str = "fashion-mnist-mini"
    data_dir: str | None = None
    download: bool = False
    skip_corrupt: bool = False
    model: str | None = None
    model_options: dict = field(default_factory=dict)
    backend: str = "auto"
    devices: str | None = None
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    patience: int = 3
    max_reductions: int = 3
    lr_drops: tuple | None = None
    epochs: int | None = None
    seed: int = 0
    bias_init: float | None = None
    dropout: float | None = None
    init: str = "auto"
    out: str | None = None
    resume: str | None = None
    overwrite: bool = False
    tf32: bool = False
    workers: int | None = None
    threads: int | None = None
    augment_on_gpu: bool = False
    ten_crop: bool = False
    pad: int | None = None
    erase: float = 0.0
    augment: bool = True
    train_eval_images: int = 0
    train_images: int | None = None
    val_images: int | None = None
    holdout: int = 0
    progress: bool = True
    figures: bool = True


# Options that do not change what a resumed run computes (--epochs: as long as it is not below the epochs done).
CHANGEABLE_ON_RESUME = ("epochs", "data_dir", "download", "workers", "threads", "backend", "devices", "tf32",
                        "augment_on_gpu", "progress", "figures")
_NOT_COMPARED = ("resume", "overwrite", "out")  # what to do, not how; a resumed run writes where its checkpoint is


class ResumeConflict(checkpoint.CheckpointError):
    """Options asked of a resumed run that differ from its own; ``conflicts`` lists (option, its value, asked)."""

    def __init__(self, path, conflicts: list[tuple[str, object, object]]):
        self.path, self.conflicts = os.fspath(path), conflicts
        listed = ", ".join(f"{name}={asked!r} (the run's: {saved!r})" for name, saved, asked in conflicts)
        super().__init__(f"the run saved in {self.path} was trained with other options than asked: {listed}; "
                         f"continue it with its own (resume_config({self.path!r}) reads them), or train a new run")


def config_from(namespace) -> TrainConfig:
    """A TrainConfig from an argparse Namespace with the same field names."""
    return TrainConfig(**{f.name: getattr(namespace, f.name) for f in fields(TrainConfig)
                          if hasattr(namespace, f.name)})


def default_out(dataset: str, model: str, seed: int) -> str:
    return os.path.join("runs", f"{dataset}-{model}-seed{seed}")


def resolved(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with the defaults that hang on other options filled in: model, pad, epochs, out.

    A resumed run's folder is the one that holds its checkpoint.
    """
    model = cfg.model or default_model(cfg.dataset, cfg.data_dir)
    out = cfg.out or ((os.path.dirname(cfg.resume) or ".") if cfg.resume else default_out(cfg.dataset, model, cfg.seed))
    epochs = cfg.epochs if cfg.epochs is not None else default_epochs(cfg.dataset)
    return replace(cfg, model=model, out=out, pad=dataset_pad(cfg.dataset, cfg.pad), epochs=epochs)


def check_options(cfg: TrainConfig) -> None:
    """Refuse values of a resolved ``cfg`` that no run can use, naming the option."""
    if not cfg.lr > 0:
        raise ValueError(f"--lr must be above 0 (the paper's is 0.01), got {cfg.lr:g}: at 0 the weights never change")
    if cfg.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {cfg.epochs}")
    if cfg.resume and cfg.overwrite:
        raise ValueError("--overwrite starts a new run over the one in the folder, --resume continues it: "
                         "give one of the two")
    folder = os.path.dirname(cfg.resume or "") or "."
    if cfg.resume and os.path.realpath(cfg.out) != os.path.realpath(folder):
        raise ValueError(f"--out {cfg.out}: --resume continues the run in the folder of its checkpoint, {folder}; "
                         "leave out --out (to continue a copy of the run elsewhere, copy the folder and resume "
                         "from the copy)")


def saved_config(state: dict, path) -> TrainConfig:
    """The resolved options of the run that wrote the checkpoint ``state`` (read from ``path``)."""
    saved = state.get("config")
    if not isinstance(saved, dict):
        raise checkpoint.CheckpointError(f"checkpoint {os.fspath(path)!r} holds no options of a run: it was not "
                                         "written by train_alexnet.py")
    options = {f.name: saved[f.name] for f in fields(TrainConfig) if f.name in saved}
    if options.get("lr_drops") is not None:
        options["lr_drops"] = tuple(options["lr_drops"])  # JSON gave a list back
    options["model"] = options.get("model") or state.get("model_name")  # checkpoints that stored it unresolved
    return resolved(replace(TrainConfig(**options), resume=os.fspath(path), out=None, overwrite=False))


def conflicts(saved: TrainConfig, asked: TrainConfig) -> list[tuple[str, object, object]]:
    """(option, saved value, asked value) for each option that differs and may not differ on resume."""
    theirs, ours = asdict(resolved(saved)), asdict(resolved(asked))
    return [(name, theirs[name], ours[name]) for name in theirs
            if name not in CHANGEABLE_ON_RESUME + _NOT_COMPARED and _plain(theirs[name]) != _plain(ours[name])]


def resume_config(path, changes: dict | None = None) -> TrainConfig:
    """The options that continue the run saved at ``path``: its own, with ``changes`` (option -> value).

    A change of an option outside :data:`CHANGEABLE_ON_RESUME` raises :class:`ResumeConflict`
    (giving an option the value the run had is no change).
    """
    saved = saved_config(checkpoint.load_checkpoint(path, arrays=False), path)
    asked = replace(saved, **(changes or {}))
    found = conflicts(saved, asked)
    if found:
        raise ResumeConflict(path, found)
    return asked


def _plain(value):
    """Tuples as lists, as a checkpoint's JSON gives them back."""
    return list(value) if isinstance(value, tuple) else value
