"""The learning-rate schedule of §5: divide by 10 when the validation error stops improving.

§5: "The heuristic which we followed was to divide the learning rate by 10 when the
validation error rate stopped improving with the current learning rate. The learning
rate was initialized at 0.01 and reduced three times prior to termination."
"""
from __future__ import annotations

import math


class PlateauSchedule:
    """Reduce every group's learning rate by ``factor`` on a plateau; finish after the last one.

    Call :meth:`step` once per epoch with the validation error rate. The rule, exactly:

    * an epoch *improves* when ``val_error < best - threshold``, where ``best`` is the lowest
      error seen so far (``threshold`` is absolute, in the units of the error: 0.001 is 0.1
      percentage points). An improving epoch sets ``best`` and resets the count of bad epochs.
    * any other epoch is *bad*. After ``patience`` bad epochs in a row, if fewer than
      ``max_reductions`` reductions have been made, every group's ``lr`` is multiplied by
      ``factor``, the count of bad epochs restarts and ``step`` returns True; otherwise the
      schedule is ``finished`` (training should stop) and stays so.

    With the defaults (``patience=1, threshold=0``) one epoch without a new best error reduces
    the rate: the literal reading of "stopped improving". A noisy validation set may call for
    ``patience`` 2 or 3. ``max_reductions=3`` is the paper's "reduced three times prior to
    termination": 0.01 -> 0.001 -> 0.0001 -> 0.00001, then stop at the next plateau.
    """

    def __init__(self, optimizer, factor: float = 0.1, patience: int = 1, threshold: float = 0.0,
                 max_reductions: int = 3):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1) (the paper divides by 10: 0.1), got {factor}")
        if not (isinstance(patience, int) and patience >= 1):
            raise ValueError(f"patience must be an integer >= 1 (epochs without improvement), got {patience!r}")
        if not threshold >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        if not (isinstance(max_reductions, int) and max_reductions >= 0):
            raise ValueError(f"max_reductions must be an integer >= 0, got {max_reductions!r}")
        self.optimizer = optimizer
        self.reason = "validation error stopped improving (§5)"
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.max_reductions = max_reductions
        self.best = math.inf
        self.bad_epochs = 0
        self.reductions = 0
        self.finished = False

    def step(self, val_error: float) -> bool:
        """Record one epoch's validation error; True when the learning rate was reduced."""
        val_error = float(val_error)
        if math.isnan(val_error):
            raise ValueError("validation error is NaN: the model has diverged; lower the learning rate")
        if self.finished:
            return False
        if val_error < self.best - self.threshold:
            self.best, self.bad_epochs = val_error, 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs < self.patience:
            return False
        if self.reductions == self.max_reductions:
            self.finished = True
            return False
        for group in self.optimizer.param_groups:
            group["lr"] *= self.factor
        self.reductions += 1
        self.bad_epochs = 0
        return True

    def state_dict(self) -> dict:
        """Numbers only: ``best``, ``bad_epochs``, ``reductions``, ``finished`` (the rates live in the
        optimizer's own state dict)."""
        return {"best": self.best, "bad_epochs": self.bad_epochs, "reductions": self.reductions,
                "finished": int(self.finished)}

    def load_state_dict(self, state: dict) -> None:
        missing = [k for k in ("best", "bad_epochs", "reductions", "finished") if k not in state]
        if missing:
            raise ValueError(f"PlateauSchedule.load_state_dict: missing keys {missing}")
        self.best = float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
        self.reductions = int(state["reductions"])
        self.finished = bool(state["finished"])


class MilestoneSchedule:
    """Multiply every group's learning rate by ``factor`` after the epochs listed in ``milestones``.

    A fixed schedule instead of §5's plateau rule, for comparisons in which every net should get
    the same budget whatever its validation error does (``--lr-drops 20,26``; no milestones: a constant
    rate, ``--lr-drops none``). Same interface as
    :class:`PlateauSchedule`: :meth:`step` once per epoch (the error is only checked for NaN),
    ``finished`` (never: the run's --epochs ends it), ``reductions``, state dicts.
    """

    def __init__(self, optimizer, milestones, factor: float = 0.1):
        milestones = [int(m) for m in milestones]
        if milestones and (min(milestones) < 1 or sorted(set(milestones)) != milestones):
            raise ValueError(f"milestones are increasing epoch numbers >= 1 (e.g. 20,26), got {milestones}")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1) (the paper divides by 10: 0.1), got {factor}")
        self.optimizer, self.milestones, self.factor = optimizer, milestones, factor
        self.reason = f"a fixed drop after epochs {','.join(map(str, milestones))}"
        self.epochs = 0
        self.reductions = 0
        self.finished = False

    def step(self, val_error: float) -> bool:
        """Record the end of an epoch; True when the learning rate was reduced after it."""
        if math.isnan(float(val_error)):
            raise ValueError("validation error is NaN: the model has diverged; lower the learning rate")
        self.epochs += 1
        if self.epochs not in self.milestones:
            return False
        for group in self.optimizer.param_groups:
            group["lr"] *= self.factor
        self.reductions += 1
        return True

    def state_dict(self) -> dict:
        return {"epochs": self.epochs, "reductions": self.reductions}

    def load_state_dict(self, state: dict) -> None:
        missing = [k for k in ("epochs", "reductions") if k not in state]
        if missing:
            raise ValueError(f"MilestoneSchedule.load_state_dict: missing keys {missing} (was the checkpoint "
                             "written with the plateau schedule? resume it without --lr-drops)")
        self.epochs, self.reductions = int(state["epochs"]), int(state["reductions"])
