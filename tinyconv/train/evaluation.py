"""Top-1 and top-5 error of a saved checkpoint, from the centre crop and from ten crops (§4.1, §6).

"At test time, the network makes a prediction by extracting five 224x224 patches (the four
corner patches and the center patch) as well as their horizontal reflections (hence ten
patches in all), and averaging the predictions made by the network's softmax layer on the
ten patches" (§4.1). The checkpoint records the model, the dataset and the padding it was
trained with, so the same preprocessing is rebuilt here.

``split="train"`` measures the same errors on (a seeded subset of) the training images, centre
crops without mirroring or colour noise and with dropout off: the training error of the net
itself, which tells underfitting (about as high as the validation error) from overfitting.
"""
from __future__ import annotations

from dataclasses import fields, replace

from . import checkpoint
from .datasets import limit, load_datasets, make_loaders
from .loop import evaluate
from .run import TrainConfig, build_model, choose_devices


def evaluate_checkpoint(path, *, data_dir=None, backend: str = "auto", batch_size: int = 128, split: str = "val",
                        val_images: int | None = None, workers: int = 2, show: bool = True, say=print) -> dict:
    """{"centre": {...}, "ten_crop": {...}} with loss, top1, top5 for the checkpoint at ``path``.

    ``split``: "val" (the validation images) or "train" (the training images); ``val_images``
    limits either to that many seeded random images.
    """
    if split not in ("val", "train"):
        raise ValueError(f"split must be 'val' or 'train', got {split!r}")
    state = checkpoint.load_checkpoint(path)
    saved = {f.name: state["config"][f.name] for f in fields(TrainConfig) if f.name in state["config"]}
    cfg = replace(TrainConfig(**saved), backend=backend, devices=saved.get("devices") if backend != "numpy" else None,
                  data_dir=data_dir or saved.get("data_dir"), tf32=False)
    devices = choose_devices(cfg, say)
    train_set, val_set = load_datasets(cfg.dataset, cfg.data_dir)
    train_set = limit(train_set, cfg.train_images, cfg.seed)  # the mean image (§2) comes from these
    if split == "train":
        val_set = limit(train_set, val_images, cfg.seed)
    else:
        val_set = limit(val_set, val_images if val_images is not None else cfg.val_images, cfg.seed)
    model = build_model(cfg, state["model_name"], state["num_classes"], devices)
    checkpoint.check_compatible(model.state_dict(), state["model"], path)
    model.load_state_dict(state["model"])
    results = {}
    for name, ten in (("centre", False), ("ten_crop", True)):
        _, val_loader, *_ = make_loaders(train_set, val_set, state["input_size"], batch_size=batch_size,
                                         seed=cfg.seed, workers=workers, device=devices[0], ten_crop=ten, pad=cfg.pad)
        results[name] = evaluate(model, val_loader, desc=name, show=show)
    which = "training" if split == "train" else "validation"
    say(f"{path}: {state['model_name']} after {state['epoch']} epochs, {len(val_set)} {which} images of {cfg.dataset}")
    for name, r in results.items():
        say(f"  {name:>8}: top-1 error {100 * r['top1']:.2f}%  top-5 error {100 * r['top5']:.2f}%  loss {r['loss']:.4f}")
    return results
