"""One epoch of training (§5) and the test-time evaluation of §4.1 and §6.

:func:`train_epoch` runs momentum SGD over the loader with a progress bar showing the loss,
the training top-1 error and images per second; it stops cleanly between two steps when the
:class:`~tinyconv.train.interrupt.Interrupt` flag is set (Ctrl-C), and can skip the batches of
an epoch that a resumed run already trained on. :func:`evaluate` gives the loss and the top-1 /
top-5 error, from the centre crop or from the average of the softmax over the ten crops (§4.1);
:func:`predict_all` and :func:`errors_of_log_probs` give the same figures for predictions
averaged over several nets (§6).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from .. import backend
from ..functional.loss import log_softmax, softmax_cross_entropy, topk_misses
from ..tensor import Tensor, no_grad


@dataclass
class EpochProgress:
    """How far the current epoch got: saved in a mid-epoch checkpoint so --resume can continue it."""

    batches: int = 0
    images: int = 0
    loss_sum: float = 0.0
    errors: float = 0.0
    seconds: float = 0.0   # training time of this epoch before the interruption (the epoch's row adds it up)

    def state_dict(self) -> dict:
        return asdict(self)


READ_EVERY_GPU = 20


def train_epoch(model, loader, optimizer, guard, progress: EpochProgress, *, epoch: int, interrupt=None,
                show: bool = True, on_step=None, read_every: int | None = None) -> EpochProgress:
    """Train on the batches of ``loader`` after the ``progress.batches`` already done this epoch.

    Each step: forward, softmax cross-entropy (§5), backward, ``optimizer.step()``. ``on_step(step)``
    is called after each step (tests use it to inject a Ctrl-C). Returns ``progress``.

    The loss and the count of training errors stay where they were computed until they are read,
    every ``read_every`` steps, all at once (and at the end of the epoch or on Ctrl-C): on the GPU a
    read makes the CPU wait until the GPU has finished all the work queued so far, so reading each
    step's loss would stop the CPU from queueing the next step while the GPU runs this one. The
    default reads every step on the CPU, where reading costs nothing, and every
    :data:`READ_EVERY_GPU` steps on the GPU. The guard checks every loss read, in step order, before
    the step of the read updates the weights: on the CPU a NaN or infinite loss stops training
    before it touches them; on the GPU up to ``read_every - 1`` earlier steps may already have
    (the run keeps its last good checkpoint either way). ``progress`` is up to date after each read.
    """
    model.train()
    start_batch = progress.batches
    bar = tqdm(total=len(loader), initial=start_batch, desc=f"epoch {epoch}", unit="batch",
               disable=not show, dynamic_ncols=True, leave=False)
    started, seen, unread = time.perf_counter(), 0, []

    def read() -> None:
        """Bring the unread losses and error counts to the host in one transfer; check and add them up."""
        nonlocal seen
        if not unread:
            return
        xp = backend.xp_of(unread[0][2])
        pairs = [xp.stack([loss, misses.astype(loss.dtype)]) for _, _, loss, misses in unread]
        values = backend.to_numpy(xp.stack(pairs))
        for (b, n, _, _), (loss_value, misses) in zip(unread, values.tolist()):
            guard.check(loss_value, step=(epoch - 1) * len(loader) + b)  # counted from 0 over the run
            progress.batches, progress.images = b + 1, progress.images + n
            progress.loss_sum += loss_value * n
            progress.errors += misses
            seen += n
        unread.clear()
        bar.set_postfix(loss=f"{progress.loss_sum / progress.images:.3f}",
                        err=f"{progress.errors / progress.images:.3f}",
                        img_s=f"{seen / (time.perf_counter() - started):.0f}", refresh=False)

    with bar:
        for b, (x, y) in enumerate(loader):
            if b < start_batch:  # already trained on before the interruption (same batches: see DataLoader)
                continue
            logits = model(Tensor(x))
            loss = softmax_cross_entropy(logits, y)
            unread.append((b, len(y), loss.data, topk_misses(logits.data, y, 1)))
            if read_every is None:
                read_every = READ_EVERY_GPU if backend.is_cupy_array(loss.data) else 1
            if len(unread) >= read_every:
                read()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.update(1)
            if on_step is not None:
                on_step(b)
            if interrupt is not None and interrupt.requested:
                break
        read()
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


def evaluate(model, loader, *, desc: str = "eval", show: bool = True, communicator=None) -> dict:
    """Loss, top-1 and top-5 error over ``loader`` (centre crops, or ten crops when it yields 5-d batches).

    With a ``communicator`` of several ranks each rank's loader holds a shard of the validation set
    (``DataLoader(rank=, world_size=)``): the sums are added over the ranks, so every rank gets the
    figures of the whole set having evaluated only its share.
    """
    model.eval()
    sums = None                                                          # loss, top-1 and top-5 misses, images
    with no_grad(), tqdm(loader, desc=desc, unit="batch", disable=not show, dynamic_ncols=True, leave=False) as bar:
        for x, y in bar:
            batch = _error_sums(_log_probs(model, x), y)
            sums = batch if sums is None else sums + batch               # stays on the device until the end
    model.train()
    sums = np.zeros(4) if sums is None else backend.to_numpy(sums)
    if communicator is not None:
        sums = communicator.allreduce_sum(sums)
    return _errors(sums, "evaluate")


def _error_sums(log_p, labels):
    """[summed loss, top-1 misses, top-5 misses, images] of log-probabilities (N, K), on their device."""
    xp, n = backend.xp_of(log_p), len(labels)
    return xp.stack([-log_p[xp.arange(n), labels].sum(dtype=xp.float64), topk_misses(log_p, labels, 1),
                     topk_misses(log_p, labels, min(5, log_p.shape[1])), xp.asarray(n)]).astype(xp.float64)


def _errors(sums: np.ndarray, who: str) -> dict:
    """{"loss", "top1", "top5"} per image from the totals of :func:`_error_sums`."""
    loss_sum, top1, top5, count = sums.tolist()
    if count == 0:
        raise ValueError(f"{who}: the loader yielded no images")
    return {"loss": loss_sum / count, "top1": top1 / count, "top5": top5 / count}


def predict_all(model, loader, *, desc: str = "predict", show: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities (N, K) and labels (N,) of every image ``loader`` yields, as NumPy, in its order.

    With ten-crop batches each row is the log of the softmax averaged over the ten crops (§4.1).
    Kept on the host so that several nets' predictions can be averaged (§6,
    :func:`errors_of_log_probs`).
    """
    model.eval()
    log_p, labels = [], []
    with no_grad(), tqdm(loader, desc=desc, unit="batch", disable=not show, dynamic_ncols=True, leave=False) as bar:
        for x, y in bar:
            log_p.append(backend.to_numpy(_log_probs(model, x)))
            labels.append(backend.to_numpy(y))
    model.train()
    if not log_p:
        raise ValueError("predict_all: the loader yielded no images")
    return np.concatenate(log_p), np.concatenate(labels)


def errors_of_log_probs(log_p: np.ndarray, labels: np.ndarray) -> dict:
    """Loss, top-1 and top-5 error of log-probabilities (N, K), such as those of several nets' average (§6)."""
    return _errors(_error_sums(log_p, np.asarray(labels)), "errors_of_log_probs")


def predict(model, x) -> np.ndarray:
    """Softmax probabilities (N, K) as NumPy for a batch (centre crops or ten crops)."""
    model.eval()
    with no_grad():
        log_p = _log_probs(model, x)
    model.train()
    return np.exp(backend.to_numpy(log_p))
