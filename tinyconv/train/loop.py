"""One epoch of training (§5) and the test-time evaluation of §4.1 and §6.

:func:`train_epoch` runs momentum SGD over the loader with a progress bar showing the loss,
the training top-1 error and images per second; it stops cleanly between two steps when the
:class:`~tinyconv.train.interrupt.Interrupt` flag is set (Ctrl-C), and can skip the batches of
an epoch that a resumed run already trained on. :func:`evaluate` gives the loss and the top-1 /
top-5 error, from the centre crop or from the average of the softmax over the ten crops (§4.1).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from .. import backend
from ..functional.loss import log_softmax, softmax_cross_entropy, topk_error
from ..tensor import Tensor, no_grad


@dataclass
class EpochProgress:
    """How far the current epoch got: saved in a mid-epoch checkpoint so --resume can continue it."""

    batches: int = 0
    images: int = 0
    loss_sum: float = 0.0
    errors: float = 0.0

    def state_dict(self) -> dict:
        return asdict(self)


def train_epoch(model, loader, optimizer, guard, progress: EpochProgress, *, epoch: int, interrupt=None,
                show: bool = True, on_step=None) -> EpochProgress:
    """Train on the batches of ``loader`` after the ``progress.batches`` already done this epoch.

    Each step: forward, softmax cross-entropy (§5), the loss guard (NaN/inf stops before the
    weights are touched), backward, ``optimizer.step()``. ``on_step(step)`` is called after
    each step (tests use it to inject a Ctrl-C). Returns ``progress``, updated after every step.
    """
    model.train()
    start_batch = progress.batches
    bar = tqdm(total=len(loader), initial=start_batch, desc=f"epoch {epoch}", unit="batch",
               disable=not show, dynamic_ncols=True, leave=False)
    started, seen = time.perf_counter(), 0
    with bar:
        for b, (x, y) in enumerate(loader):
            if b < start_batch:  # already trained on before the interruption (same batches: see DataLoader)
                continue
            logits = model(Tensor(x))
            loss = softmax_cross_entropy(logits, y)
            loss_value = loss.item()
            guard.check(loss_value, step=(epoch - 1) * len(loader) + b)  # counted from 0 over the run
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n = len(y)
            progress.batches, progress.images = b + 1, progress.images + n
            progress.loss_sum += loss_value * n
            progress.errors += topk_error(logits.data, y, 1) * n
            seen += n
            bar.update(1)
            bar.set_postfix(loss=f"{progress.loss_sum / progress.images:.3f}",
                            err=f"{progress.errors / progress.images:.3f}",
                            img_s=f"{seen / (time.perf_counter() - started):.0f}", refresh=False)
            if on_step is not None:
                on_step(b)
            if interrupt is not None and interrupt.requested:
                break
    return progress


def _log_probs(model, x):
    """Log-probabilities (N, K) of a centre-crop batch (N, C, H, W), or of ten crops (N, 10, C, H, W)
    averaged in probability space: log(mean_c softmax) (§4.1 "averaging the predictions")."""
    if x.ndim == 4:
        return log_softmax(model(Tensor(x))).data
    n, crops = x.shape[:2]
    xp = backend.xp_of(x)
    log_p = log_softmax(model(Tensor(x.reshape(n * crops, *x.shape[2:])))).data.reshape(n, crops, -1)
    top = log_p.max(axis=1)                                              # (N, K), log-mean-exp
    return top + xp.log(xp.exp(log_p - top[:, None]).mean(axis=1))


def evaluate(model, loader, *, desc: str = "eval", show: bool = True) -> dict:
    """Loss, top-1 and top-5 error over ``loader`` (centre crops, or ten crops when it yields 5-d batches)."""
    model.eval()
    loss_sum = top1 = top5 = 0.0
    count = 0
    with no_grad(), tqdm(loader, desc=desc, unit="batch", disable=not show, dynamic_ncols=True, leave=False) as bar:
        for x, y in bar:
            log_p = _log_probs(model, x)
            xp, n = backend.xp_of(log_p), len(y)
            loss_sum += float(-log_p[xp.arange(n), y].sum())
            top1 += topk_error(log_p, y, 1) * n
            top5 += topk_error(log_p, y, min(5, log_p.shape[1])) * n
            count += n
    model.train()
    if count == 0:
        raise ValueError("evaluate: the loader yielded no images")
    return {"loss": loss_sum / count, "top1": top1 / count, "top5": top5 / count}


def predict(model, x) -> np.ndarray:
    """Softmax probabilities (N, K) as NumPy for a batch (centre crops or ten crops)."""
    model.eval()
    with no_grad():
        log_p = _log_probs(model, x)
    model.train()
    return np.exp(backend.to_numpy(log_p))
