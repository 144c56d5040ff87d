"""The training program (§5): data, model, momentum SGD, the plateau schedule, checkpoints, figures.

:func:`train` is what ``examples/train_alexnet.py`` runs. Everything random is a function of
``seed`` and of counters saved in the checkpoint (the loader draws batch b of epoch e from
``(seed, e, b)``, dropout masks come from a per-layer call counter kept in the model's
state_dict), so a run that is interrupted and resumed with ``--resume`` ends with exactly the
weights of a run that was never interrupted.
"""
from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import asdict, replace

import numpy as np
from tqdm import tqdm

from .. import backend, distributed, models, threads
from ..optim import SGD, MilestoneSchedule, PlateauSchedule
from . import checkpoint, initialisation, outdir
from .config import ResumeConflict, TrainConfig, check_options, conflicts, resolved, saved_config
from .datasets import choose_splits, limit, make_loaders
from .figures import write_figures
from .guards import LossGuard, NonFiniteLoss
from .interrupt import Interrupt
from .loop import EpochProgress, evaluate, train_epoch
from .metrics import MetricsWriter, read_metrics, write_test_result
from .plots import plot_curves


def choose_devices(cfg: TrainConfig, say) -> list[str]:
    """The device(s) to train on; clear errors when CuPy, a GPU or the second GPU is missing."""
    if cfg.backend not in ("auto", "numpy", "cupy"):
        raise ValueError(f"--backend must be auto, numpy or cupy, got {cfg.backend!r}")
    if cfg.devices:
        if cfg.backend == "numpy":
            raise ValueError("--devices picks GPUs: it needs --backend cupy (or auto on a machine with CuPy)")
        names = [f"cuda:{d.strip()}" for d in cfg.devices.split(",")]
    elif cfg.backend == "cupy" or (cfg.backend == "auto" and backend.cupy_available()):
        names = ["cuda:0"]
    else:
        names = ["cpu"]
    try:
        names = [str(backend.device(name)) for name in names]
    except RuntimeError as exc:  # no CuPy, no GPU, or fewer GPUs than asked for
        raise RuntimeError(_missing_gpu_advice(cfg, len(names), exc)) from exc
    if cfg.tf32 and names[0] == "cpu":
        say("note: --tf32 has no effect on the CPU (NumPy computes in full float32)")
    elif cfg.tf32:
        os.environ["CUPY_TF32"] = "1"  # read by CuPy when it first multiplies float32 matrices
    if cfg.augment_on_gpu and names[0] == "cpu":
        say("note: --augment-on-gpu has no effect on the CPU (the crops are made there anyway)")
    elif cfg.augment_on_gpu and cfg.erase:
        raise ValueError("--erase works on crops made on the CPU: leave out --augment-on-gpu to use it")
    return names


def _missing_gpu_advice(cfg: TrainConfig, asked: int, exc: Exception) -> str:
    found = backend.gpu_count()
    if found and asked > found:
        return (f"--devices {cfg.devices} asks for {asked} GPUs but this machine has {found} ({exc}). The "
                "one-device AlexNet computes the same function with the two towers as groups (§3.2): leave "
                "out --devices to train on cuda:0, or pass as many GPU numbers as there are GPUs")
    what = f"--devices {cfg.devices}" if cfg.devices else "--backend cupy"
    return f"{what} needs CuPy and a CUDA GPU: {exc}. To train on the CPU instead, use --backend numpy"


def build_model(cfg: TrainConfig, name: str, num_classes: int, devices: list[str]):
    """The model ``name`` on ``devices`` (two devices: the split AlexNet of §3.2), initialised per ``cfg.init``."""
    if name == "alexnet-split" and len(devices) == 1:
        raise ValueError("--model alexnet-split is AlexNet with one tower per GPU (§3.2): ask for it with "
                         "--model alexnet --devices 0,1; on one device --model alexnet computes the same function")
    if len(devices) > 1:
        if name not in ("alexnet", "alexnet-split"):
            raise ValueError(f"--devices with {len(devices)} GPUs splits the paper's AlexNet (§3.2); "
                             f"--model {name} runs on one device")
        model = models.SplitAlexNet(num_classes=num_classes, devices=tuple(devices), **model_options(cfg, "alexnet"))
    else:
        model = models.create(name, num_classes, **model_options(cfg, name)).to(devices[0])
    if initialisation.resolve(cfg.init, name) == "he":
        initialisation.he_hidden_layers(model, cfg.seed)
    return model


def model_options(cfg: TrainConfig, name: str) -> dict:
    """The options ``cfg`` gives model ``name``: the seed, --bias-init and --dropout where set, --model-option.

    An option the model does not take is refused, naming the options it does take.
    """
    options = {"seed": cfg.seed, **cfg.model_options}
    for option, flag in (("bias_init", "--bias-init"), ("dropout", "--dropout")):
        value = getattr(cfg, option)
        if value is None:
            continue
        if option not in models.options_of(name):
            raise ValueError(f"{flag} does not apply to --model {name}, which has no {option.replace('_', ' ')} "
                             f"option (its options: {', '.join(models.options_of(name))})")
        options[option] = value
    return options


def make_schedule(cfg: TrainConfig, optimizer):
    """§5's rule (divide by 10 when the validation error stops improving), or fixed epochs (``cfg.lr_drops``;
    empty: a constant rate)."""
    if cfg.lr_drops is not None:
        return MilestoneSchedule(optimizer, cfg.lr_drops, factor=0.1)
    return PlateauSchedule(optimizer, factor=0.1, patience=cfg.patience, max_reductions=cfg.max_reductions)


def _restore(path, model, optimizer, schedule, guard) -> dict:
    state = checkpoint.load_checkpoint(path)
    checkpoint.check_compatible(model.state_dict(), state["model"], path, holds=checkpoint.describe(state))
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    guard.load_state_dict(state["guard"])
    return state


def train(cfg: TrainConfig, say=tqdm.write, comm=None) -> dict:
    """Run the program; returns {"status": "finished"|"interrupted"|"diverged", "out", "epoch", "val", "test"}.

    "test" holds the test-set figures of a finished run with ``cfg.holdout`` (empty otherwise).
    With ``cfg.resume`` the run saved there goes on in the folder that holds it; ``cfg`` must then
    hold that run's options (:func:`tinyconv.train.config.resume_config` reads them), or differ
    only in :data:`~tinyconv.train.config.CHANGEABLE_ON_RESUME`. The output folder is guarded
    (:mod:`tinyconv.train.outdir`): one process at a time, and a new run never over another.

    Under ``mpirun -n N`` (``comm``: :func:`tinyconv.distributed.init`) the N ranks train data parallel:
    rank 0's weights are broadcast, each rank takes 1/N of every batch of ``batch_size`` and the
    gradients are averaged before each update; only rank 0 prints and writes files.
    """
    comm = comm or distributed.init()
    if not comm.is_root:
        say = _quiet
    cfg = resolved(cfg)  # stored resolved: --resume and evaluate.py rebuild the same run
    check_options(cfg)
    distributed.split_batch(cfg.batch_size, comm.world_size)  # refuses a batch the ranks cannot share, early
    if cfg.resume and _all_epochs_done(cfg, say):
        return {"status": "finished", "out": cfg.out, "epoch": cfg.epochs, "val": {}, "test": {}}
    with outdir.claimed(cfg.out, resume=bool(cfg.resume), overwrite=cfg.overwrite) if comm.is_root else nullcontext():
        return _train(cfg if comm.is_root else replace(cfg, progress=False, figures=False), say, comm)


def _quiet(*_) -> None:
    """What ranks other than rank 0 say."""


def _all_epochs_done(cfg: TrainConfig, say) -> bool:
    """Check that ``cfg`` may resume the run saved at ``cfg.resume``; True when that run has no epoch left."""
    state = checkpoint.load_checkpoint(cfg.resume, arrays=False)
    found = conflicts(saved_config(state, cfg.resume), cfg)
    if found:
        raise ResumeConflict(cfg.resume, found)
    if cfg.epochs < state["epoch"]:
        raise ValueError(f"--epochs {cfg.epochs}: the run saved in {cfg.resume} has trained {state['epoch']} "
                         "epochs already; leave out --epochs, or give at least that many")
    if cfg.epochs > state["epoch"] or state["progress"]["batches"]:
        return False
    say(f"the run saved in {cfg.resume} has trained all its {cfg.epochs} epochs: a larger --epochs trains it further")
    return True


def _train(cfg: TrainConfig, say, comm) -> dict:
    """:func:`train` once the options are checked and the output folder is this process's alone."""
    devices = distributed.rank_devices(choose_devices(cfg, say), comm)
    if cfg.threads is not None:
        threads.set_threads(cfg.threads)
    say(threads.budget().line(backend.device(devices[0]).kind, cfg.workers))
    name, out = cfg.model, cfg.out
    train_set, val_set, test_set = choose_splits(cfg.dataset, cfg.data_dir, train_images=cfg.train_images,
                                                 val_images=cfg.val_images, holdout=cfg.holdout, seed=cfg.seed,
                                                 input_size=models.input_size(name), download=cfg.download,
                                                 skip_corrupt=cfg.skip_corrupt)
    train_set = limit(train_set, len(train_set) - len(train_set) % comm.world_size, cfg.seed)  # equal shards
    model = build_model(cfg, name, train_set.num_classes, devices)
    comm.broadcast_parameters(model)
    distributed.decorrelate_dropout(model, comm.rank)
    input_size = model.input_shape[-1]
    if len(train_set) < cfg.batch_size:
        raise ValueError(f"{len(train_set)} training images are fewer than one batch of {cfg.batch_size}: "
                         "lower --batch-size or use more images")
    train_loader, val_loader, test_loader, train_eval_loader, train_set, val_set, eval_transform = make_loaders(
        train_set, val_set, input_size, batch_size=distributed.split_batch(cfg.batch_size, comm.world_size),
        seed=cfg.seed, workers=cfg.workers, device=devices[0], ten_crop=cfg.ten_crop, pad=cfg.pad,
        eval_batch_size=cfg.batch_size, rank=comm.rank, world_size=comm.world_size,
        transform_on_device=cfg.augment_on_gpu, test=test_set, erase=cfg.erase, augment=cfg.augment,
        train_eval=cfg.train_eval_images)
    optimizer = distributed.GradientAveraging(
        SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay), comm)
    schedule = make_schedule(cfg, optimizer)
    guard = LossGuard(train_set.num_classes, warn=say)
    rng = np.random.default_rng([cfg.seed, 1])  # picks the images shown in the figures
    ckpt_path = os.path.join(out, "checkpoint.npz")
    start_epoch, progress, last_good = 1, EpochProgress(), cfg.resume
    if cfg.resume:
        state = _restore(cfg.resume, model, optimizer, schedule, guard)
        start_epoch, progress = state["epoch"] + 1, EpochProgress(**state["progress"])
        rng.bit_generator.state = state["rng"]["figures"]
        say(f"resumed from {cfg.resume}: {state['epoch']} epochs done"
            + (f", {progress.batches} batches into epoch {start_epoch}" if progress.batches else ""))
    metrics = MetricsWriter(out, keep_until_epoch=start_epoch - 1 if cfg.resume else None) if comm.is_root else None
    say(f"{name} on {', '.join(devices)}: {len(train_set)} training / {len(val_set)} validation images "
        f"of {cfg.dataset}, {len(train_loader)} batches of {cfg.batch_size} per epoch; writing to {out}")
    if test_set is not None:
        say(f"the validation images are {cfg.holdout} held-out training images (--holdout); the "
            f"{len(test_set)} images of the dataset's own split are the test set, evaluated when training ends")
    if comm.world_size > 1:
        say(f"data parallel over {comm.world_size} MPI ranks, {cfg.batch_size // comm.world_size} images each per step")

    def save(epoch: int, partial: EpochProgress) -> None:
        nonlocal last_good
        if not comm.is_root:
            return
        checkpoint.save_checkpoint(ckpt_path, {
            "format_note": "written by tinyconv.train.run; read with tinyconv.train.checkpoint.load_checkpoint",
            "config": asdict(cfg), "model_name": name, "num_classes": train_set.num_classes,
            "train_count": len(train_set),  # after the cut to equal shards: evaluate.py's mean image needs it
            "classes": list(train_set.classes), "input_size": input_size,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
            "guard": guard.state_dict(), "epoch": epoch, "progress": partial.state_dict(),
            "loader_epoch": train_loader.epoch, "rng": {"figures": rng.bit_generator.state},
        })
        last_good = ckpt_path

    status, epoch, result = "finished", start_epoch - 1, {}
    with Interrupt(notify=say) as stop:
        for epoch in range(start_epoch, cfg.epochs + 1):
            if stop.requested:  # Ctrl-C during the last validation: its checkpoint is already saved
                status, epoch = "interrupted", epoch - 1
                break
            if schedule.finished:
                say(f"the learning rate was divided by 10 {schedule.reductions} times and the error stopped "
                    "improving again: training is over (§5)")
                break
            train_loader.set_epoch(epoch)
            started = time.perf_counter()
            try:
                train_epoch(model, train_loader, optimizer, guard, progress, epoch=epoch, interrupt=stop,
                            show=cfg.progress)
            except NonFiniteLoss as exc:
                say(f"stopped: {exc}")
                say(f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was written yet")
                return {"status": "diverged", "out": out, "epoch": epoch - 1, "val": result, "test": {}}
            if stop.requested:
                progress.seconds += time.perf_counter() - started
                save(epoch - 1, progress)
                say(f"interrupted in epoch {epoch}: saved {ckpt_path}")
                status, epoch = "interrupted", epoch - 1
                break
            seconds = progress.seconds + time.perf_counter() - started
            result = evaluate(model, val_loader, desc="validation", show=cfg.progress, communicator=comm)
            fit = {} if train_eval_loader is None else evaluate(
                model, train_eval_loader, desc="training images", show=cfg.progress, communicator=comm)
            lr = optimizer.param_groups[0]["lr"]
            loss_sum, errors, images = comm.allreduce_sum([progress.loss_sum, progress.errors, progress.images])
            if metrics is not None:
                metrics.write({"epoch": epoch, "lr": lr, "train_loss": loss_sum / images,
                               "train_top1": errors / images, "val_loss": result["loss"],
                               "val_top1": result["top1"], "val_top5": result["top5"], "seconds": round(seconds, 2),
                               "images_per_s": round(images / seconds, 1),
                               **{f"train_eval_{key}": value for key, value in fit.items()}})
            compute = threads.budget().threads
            say(f"epoch {epoch}: train loss {loss_sum / images:.4f}, validation top-1 error "
                f"{100 * result['top1']:.2f}%, top-5 {100 * result['top5']:.2f}% ({seconds:.1f} s, "
                f"{compute} compute thread{'s' if compute > 1 else ''})")
            if schedule.step(result["top1"]):
                say(f"{schedule.reason}: learning rate {lr:g} -> {lr * 0.1:g}")
            progress = EpochProgress()
            save(epoch, progress)
            if cfg.figures:
                plot_curves(read_metrics(metrics.jsonl_path), os.path.join(out, "curves.png"))
    if cfg.figures and status == "finished" and epoch >= 1:
        paths = write_figures(model, train_set, val_set, eval_transform, out, devices[0], rng)
        say("figures: " + ", ".join(paths + [os.path.join(out, "curves.png")]))
    crops = "ten-crop" if cfg.ten_crop else "centre-crop"
    if result:
        say(_errors_line(f"validation ({crops})", result))
    test = {}
    if test_loader is not None and status == "finished" and epoch >= 1:
        test = evaluate(model, test_loader, desc="test", show=cfg.progress, communicator=comm)
        say(_errors_line(f"test, {len(test_set)} images ({crops})", test))
        if comm.is_root:
            write_test_result(out, {"epoch": epoch, "images": len(test_set), "crops": crops, **test})
    return {"status": status, "out": out, "epoch": epoch, "val": result, "test": test}


def _errors_line(what: str, result: dict) -> str:
    return (f"{what}: top-1 error {100 * result['top1']:.2f}% (accuracy {100 * (1 - result['top1']):.2f}%), "
            f"top-5 error {100 * result['top5']:.2f}%")
