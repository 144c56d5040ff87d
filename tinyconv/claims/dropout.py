"""§4.2: without dropout the net overfits substantially; dropout about doubles the iterations to converge.

"Without dropout, our network exhibits substantial overfitting. Dropout roughly doubles the number
of iterations required to converge." Both nets are :func:`~tinyconv.claims.recipes.alexnet_cifar`,
with p = 0.5 on the outputs of its two hidden FC layers and with p = 0, at a constant learning
rate. After every epoch the program measures the test error and the error on training images
(centre crops, dropout off); overfitting is their gap at the end, and an arm has *converged* at the
first epoch whose test error is within :data:`NEAR` of the lowest it reaches.
"""
from __future__ import annotations

from .lab import Lab
from .plots import plot_curves
from .recipes import alexnet_cifar

CLAIM = "without dropout, substantial overfitting; dropout roughly doubles the iterations to converge"
NEAR = 0.01


def converged_epoch(rows, near: float = NEAR) -> int:
    """The first epoch whose test error is within ``near`` of the run's lowest."""
    best = min(row["val_top1"] for row in rows)
    return next(row["epoch"] for row in rows if row["val_top1"] <= best + near)


def run(lab: Lab) -> dict:
    arms = {p: alexnet_cifar(lab, dropout=p) for p in (0.5, 0.0)}
    result = {}
    for p, arm in arms.items():
        test, fit = arm.last("val_top1"), arm.last("train_eval_top1")
        result[f"dropout{p:g}"] = {"test_error": test, "training_error": fit, "gap": test - fit,
                                   "lowest_test_error": min(arm.column("val_top1")),
                                   "converged_epoch": converged_epoch(arm.rows)}
    with_, without = result["dropout0.5"], result["dropout0"]
    plot_curves({f"dropout {p:g}": arm for p, arm in arms.items()},
                {"val_top1": "test", "train_eval_top1": "training images"}, lab.figure_path("dropout"),
                ylabel="error", title="§4.2: dropout in alexnet-cifar's hidden FC layers")
    return {
        "claim": CLAIM, **result,
        "convergence_ratio_with_over_without": with_["converged_epoch"] / without["converged_epoch"],
        "arms": {arm.name: arm.summary() for arm in arms.values()},
    }
