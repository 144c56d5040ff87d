"""Top-1 and top-5 error of a saved checkpoint, from the centre crop and from ten crops (§4.1, §6).

"At test time, the network makes a prediction by extracting five 224x224 patches (the four
corner patches and the center patch) as well as their horizontal reflections (hence ten
patches in all), and averaging the predictions made by the network's softmax layer on the
ten patches" (§4.1). The checkpoint records the model, the dataset and the padding it was
trained with, so the same preprocessing is rebuilt here.

:func:`evaluate_average` averages the softmax outputs of several checkpoints, as §6 averages
five nets' predictions.

``split="train"`` measures the same errors on (a seeded subset of) the training images, centre
crops without mirroring or colour noise and with dropout off: the training error of the net
itself, which tells underfitting (about as high as the validation error) from overfitting.
For a run trained with ``--holdout``, ``split="val"`` is its test set (the dataset's own
split, which no decision of the run has seen) and ``split="holdout"`` the held-out training
images the schedule watched.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import checkpoint
from .config import saved_config
from .datasets import choose_splits, limit, make_loaders
from .loop import errors_of_log_probs, evaluate, predict_all
from .run import build_model, choose_devices

MODES = (("centre", False), ("ten_crop", True))
SPLITS = ("val", "holdout", "train")


class _Restored:
    """A checkpoint's options (read first, so that several checkpoints can be checked before any is read
    whole), the images it is to be evaluated on (:meth:`choose_images`), preprocessed as in training,
    and its net with its weights (:meth:`model`)."""

    def __init__(self, path, *, data_dir, backend: str, say):
        self.path = path
        self.state = checkpoint.load_checkpoint(path, arrays=False)
        saved = saved_config(self.state, path)
        self.cfg = replace(saved, backend=backend, devices=saved.devices if backend != "numpy" else None,
                           data_dir=data_dir or saved.data_dir, tf32=False)
        self.devices = choose_devices(self.cfg, say)

    def choose_images(self, split: str, val_images: int | None) -> None:
        """The training images (whose mean image §2 subtracts) and the ``split`` images to evaluate on."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        cfg, self.split = self.cfg, split
        own_split_images = val_images if split == "val" and val_images is not None else cfg.val_images
        self.train_set, watched, test = choose_splits(
            cfg.dataset, cfg.data_dir, train_images=cfg.train_images, val_images=own_split_images,
            holdout=cfg.holdout, seed=cfg.seed, input_size=self.state["input_size"], skip_corrupt=cfg.skip_corrupt)
        self.train_set = limit(self.train_set, self.state.get("train_count"), cfg.seed)  # as cut for MPI ranks
        if split == "holdout" and test is None:
            raise ValueError(f"{self.path} was trained without --holdout, so no training images were held out: "
                             "use --split val or --split train")
        if split == "val":
            self.val_set = watched if test is None else test
        else:
            self.val_set = limit(self.train_set if split == "train" else watched, val_images, cfg.seed)

    def model(self):
        """The checkpoint's net with its weights."""
        state = checkpoint.load_checkpoint(self.path)
        model = build_model(self.cfg, state["model_name"], state["num_classes"], self.devices)
        checkpoint.check_compatible(model.state_dict(), state["model"], self.path, holds=checkpoint.describe(state))
        model.load_state_dict(state["model"])
        return model

    def loader(self, ten_crop: bool, batch_size: int, workers: int | None):
        """The evaluation images as batches of centre crops or of ten crops (§4.1)."""
        return make_loaders(self.train_set, self.val_set, self.state["input_size"], batch_size=batch_size,
                            seed=self.cfg.seed, workers=workers, device=self.devices[0], ten_crop=ten_crop,
                            pad=self.cfg.pad).val_loader

    def report(self, results: dict, say) -> None:
        which = {"train": "training", "holdout": "held-out validation",
                 "val": "test" if self.cfg.holdout else "validation"}[self.split]
        say(f"{self.path}: {self.state['model_name']} after {self.state['epoch']} epochs, "
            f"{len(self.val_set)} {which} images of {self.cfg.dataset}")
        _say_errors(results, say)


def _say_errors(results: dict, say) -> None:
    for name, r in results.items():
        say(f"  {name:>8}: top-1 error {100 * r['top1']:.2f}%  top-5 error {100 * r['top5']:.2f}%  "
            f"loss {r['loss']:.4f}")


def evaluate_checkpoint(path, *, data_dir=None, backend: str = "auto", batch_size: int = 128, split: str = "val",
                        val_images: int | None = None, workers: int | None = None, show: bool = True,
                        say=print) -> dict:
    """{"centre": {...}, "ten_crop": {...}} with loss, top1, top5 for the checkpoint at ``path``.

    ``split``: "val" (the dataset's validation images: the test set of a ``--holdout`` run),
    "holdout" (the held-out training images of such a run) or "train" (the training images);
    ``val_images`` limits any of them to that many seeded random images.
    """
    net = _Restored(path, data_dir=data_dir, backend=backend, say=say)
    net.choose_images(split, val_images)
    model = net.model()
    results = {name: evaluate(model, net.loader(ten, batch_size, workers), desc=name, show=show)
               for name, ten in MODES}
    net.report(results, say)
    return results


def predictions(path, *, data_dir=None, backend: str = "auto", batch_size: int = 128, ten_crop: bool = False,
                workers: int | None = None, show: bool = True, say=print) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities (N, K) and labels (N,) of the checkpoint's net on its validation images, centre
    crops or the ten crops of §4.1: what :func:`evaluate_average` and the §6 experiment average."""
    net = _Restored(path, data_dir=data_dir, backend=backend, say=say)
    net.choose_images("val", None)
    return predict_all(net.model(), net.loader(ten_crop, batch_size, workers), desc="predict", show=show)


def evaluate_average(paths, *, data_dir=None, backend: str = "auto", batch_size: int = 128, split: str = "val",
                     val_images: int | None = None, workers: int | None = None, show: bool = True,
                     say=print) -> dict:
    """Each checkpoint's errors and those of the average of their softmax outputs (§6).

    "Averaging the predictions of five similar CNNs gives an error rate of 16.4%" (§6: top-5 error
    on ILSVRC-2012, against 18.2% for one net). Here the softmax outputs (for ten crops, each net's
    average over the crops) are averaged over the nets, in log space (log-sum-exp) so that no small
    probability underflows. The nets must have been trained on the same dataset and be evaluated on
    the same images in the same order (the same ``--val-images``, which draws the same images whatever
    the seed, or here a ``val_images`` at least the size of the validation set); each keeps its
    own preprocessing (mean image, padding). Returns
    {path: {"centre": ..., "ten_crop": ...}, ..., "average": {"centre": ..., "ten_crop": ...}}.
    """
    paths = [str(p) for p in paths]
    if len(paths) < 2:
        raise ValueError(f"averaging needs at least two checkpoints, got {len(paths)}: use evaluate_checkpoint for one")
    nets = [_Restored(path, data_dir=data_dir, backend=backend, say=say) for path in paths]
    _check_averageable(nets, split, val_images)
    results, summed = {}, {}
    for net in nets:
        model, results[net.path] = net.model(), {}
        for name, ten in MODES:
            log_p, labels = predict_all(model, net.loader(ten, batch_size, workers), desc=name, show=show)
            summed[name] = log_p if name not in summed else np.logaddexp(summed[name], log_p)  # log(sum of p)
            results[net.path][name] = errors_of_log_probs(log_p, labels)
        net.report(results[net.path], say)
    results["average"] = {name: errors_of_log_probs(summed[name] - np.log(len(paths)), labels)  # every net's
                          for name, _ in MODES}                                                # images are one set
    say(f"average of the {len(paths)} nets' softmax outputs (§6):")
    _say_errors(results["average"], say)
    return results


def _check_averageable(nets: list, split: str, val_images: int | None) -> None:
    """Choose each net's images; refuse, before any net is evaluated, nets of another dataset than the first
    (before any data is read) or evaluated on other images."""
    first = nets[0]
    for net in nets[1:]:
        if net.cfg.dataset != first.cfg.dataset:
            raise ValueError(f"{net.path} was trained on {net.cfg.dataset}, {first.path} on {first.cfg.dataset}: "
                             "only nets of the same dataset can be averaged")
    for net in nets:
        net.choose_images(split, val_images)
        if net.val_set.name != first.val_set.name:  # names say which images a subset holds (datasets.limit)
            raise ValueError(f"{net.path} is evaluated on other images than {first.path} ({len(net.val_set)} against "
                             f"{len(first.val_set)}, or other ones): train the nets with the same --val-images, or "
                             "give a --val-images here at least the size of the validation set, to evaluate every "
                             "net on all of it")
