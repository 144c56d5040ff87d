"""train_epoch's deferred reads: when the loss is read changes nothing but when a NaN is caught."""
import math

import numpy as np
import pytest

from tinyconv import backend, nn
from tinyconv.optim import SGD
from tinyconv.train.guards import LossGuard, NonFiniteLoss
from tinyconv.train.loop import EpochProgress, train_epoch


def _batches(rng, xp, count=7, nan_at=None):
    batches = []
    for b in range(count):
        x = rng.standard_normal((6, 4)).astype(np.float32)
        if b == nan_at:
            x[0, 0] = np.nan
        batches.append((xp.asarray(x), xp.asarray(rng.integers(0, 3, 6))))
    return batches


def _train(read_every, nan_at=None, epoch=2, device="cpu"):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8, rng=rng), nn.ReLU(), nn.Linear(8, 3, rng=rng)).to(device)
    optimizer = SGD(model.parameters(), lr=0.1)
    progress = EpochProgress()
    try:
        train_epoch(model, _batches(rng, backend.device(device).xp, nan_at=nan_at), optimizer, LossGuard(3), progress,
                    epoch=epoch, show=False, read_every=read_every)
    except NonFiniteLoss as error:
        return model, progress, error
    return model, progress, None


@pytest.mark.parametrize("read_every", [2, 3, 7, 50])
def test_reading_the_loss_less_often_changes_neither_weights_nor_progress(read_every, device):
    every_step, progress_1, _ = _train(1, device=device)
    deferred, progress_k, _ = _train(read_every, device=device)
    assert progress_k == progress_1 and progress_1.batches == 7 and progress_1.images == 42
    assert 0 < progress_1.errors <= 42 and math.isfinite(progress_1.loss_sum)
    for (name, a), (_, b) in zip(every_step.named_parameters(), deferred.named_parameters()):
        np.testing.assert_array_equal(backend.to_numpy(a.data), backend.to_numpy(b.data), err_msg=name)


def test_reading_every_step_stops_on_nan_before_the_weights_are_touched():
    model, progress, error = _train(1, nan_at=4)
    assert error is not None and "at step 11 (counted from 0)" in str(error)   # epoch 2: 7 + 4
    assert progress.batches == 4                                          # steps 0-3 trained and counted
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_deferred_reads_name_the_step_of_the_nan_and_say_it_late():
    model, progress, error = _train(3, nan_at=4)                      # read after steps 2 and 5
    assert error is not None and "at step 11 (counted from 0)" in str(error)
    assert progress.batches == 4                                          # the read stopped at the bad step
    assert not all(np.isfinite(p.data).all() for p in model.parameters())  # step 4 had updated them


def test_errors_of_log_probs_by_hand():
    from tinyconv.train.loop import errors_of_log_probs
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]])
    got = errors_of_log_probs(np.log(probs), np.array([0, 1, 1, 0]))
    assert got["top1"] == 0.75                            # only the first row's label scores highest
    assert got["top5"] == 0.0                             # 3 classes: every label is among the top 3
    assert got["loss"] == pytest.approx(-(math.log(0.7) + math.log(0.3) + math.log(0.4) + math.log(0.2)) / 4)
