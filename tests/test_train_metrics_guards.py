"""Metrics files (JSON lines + CSV) and the loss guards (NaN/inf, stuck at ln(num_classes))."""
import csv
import math

import numpy as np
import pytest

from tinyconv.train.guards import LossGuard, NonFiniteLoss
from tinyconv.train.metrics import MetricsWriter, read_metrics


def test_metrics_rows_in_both_files(tmp_path):
    writer = MetricsWriter(tmp_path)
    writer.write({"epoch": 1, "train_loss": np.float32(2.5), "val_top1": 0.75})
    writer.write({"epoch": 2, "train_loss": 1.25, "val_top1": float("nan")})
    assert read_metrics(tmp_path / "metrics.jsonl") == [
        {"epoch": 1, "train_loss": 2.5, "val_top1": 0.75}, {"epoch": 2, "train_loss": 1.25, "val_top1": None}]
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"] and rows[0]["train_loss"] == "2.5"
    with pytest.raises(ValueError, match="expected \\['epoch', 'train_loss', 'val_top1'\\]"):
        writer.write({"epoch": 3})


def test_resume_drops_rows_after_the_checkpoint(tmp_path):
    writer = MetricsWriter(tmp_path)
    for epoch in (1, 2, 3):
        writer.write({"epoch": epoch, "loss": 1.0 / epoch})
    resumed = MetricsWriter(tmp_path, keep_until_epoch=2)
    resumed.write({"epoch": 3, "loss": 0.3})
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3]
    assert read_metrics(tmp_path / "metrics.jsonl")[-1]["loss"] == 0.3
    with open(tmp_path / "metrics.csv", newline="") as f:
        assert [r["loss"] for r in csv.DictReader(f)] == ["1.0", "0.5", "0.3"]


def test_a_writer_never_truncates_what_is_there(tmp_path):
    writer = MetricsWriter(tmp_path)
    for epoch in (1, 2):
        writer.write({"epoch": epoch, "loss": 1.0 / epoch})
    before = (tmp_path / "metrics.jsonl").read_text(), (tmp_path / "metrics.csv").read_text()
    for keep in (None, 2, 5):  # a new writer, and resumed runs with nothing to drop, keep every row
        assert [r["epoch"] for r in MetricsWriter(tmp_path, keep_until_epoch=keep).rows] == [1, 2]
        assert ((tmp_path / "metrics.jsonl").read_text(), (tmp_path / "metrics.csv").read_text()) == before
    MetricsWriter(tmp_path).write({"epoch": 3, "loss": 0.25})
    assert (tmp_path / "metrics.jsonl").read_text().startswith(before[0])
    with open(tmp_path / "metrics.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3"]  # one header


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_loss_stops(bad):
    guard = LossGuard(10)
    guard.check(2.0, 0)
    with pytest.raises(NonFiniteLoss, match=f"became {bad} at step 1.*last good checkpoint"):
        guard.check(bad, 1)


def test_stuck_loss_warns_once_with_advice():
    messages = []
    guard = LossGuard(1000, patience=5, warn=messages.append)
    chance = math.log(1000)
    for step in range(4):
        guard.check(chance * 1.01, step)
    guard.check(1.0, 4)  # one good step resets the count
    for step in range(5, 9):
        guard.check(chance, step)
    assert messages == []
    guard.check(chance * 0.99, 9)
    for step in range(10, 30):
        guard.check(chance, step)
    assert len(messages) == 1
    assert "ln(1000) = 6.908" in messages[0] and "not learning" in messages[0]
    for advice in ("--init he", "lower learning rate", "--bias-init 0.1", "input scale", "PCA colour noise"):
        assert advice in messages[0]
    state = guard.state_dict()
    other = LossGuard(1000, patience=5, warn=messages.append)
    other.load_state_dict(state)
    other.check(chance, 30)
    assert len(messages) == 1 and other.stuck_steps == state["stuck_steps"] + 1


def test_guard_rejects_fewer_than_two_classes():
    with pytest.raises(ValueError, match="at least 2"):
        LossGuard(1)
