"""§3.3: response normalization lowers the CIFAR-10 test error of a four-layer CNN from 13% to 11%.

"On the CIFAR-10 dataset [...] a four-layer CNN achieved a 13% test error rate without normalization
and 11% with normalization." The net is :func:`~tinyconv.claims.recipes.convnet` with its two LRN
layers (the paper's constants, §3.3), from the baseline seeds, and without them, from the variant
seeds; the result is each arm's test error after its last epoch, the mean and spread per setting and
the difference of the means in units of the baseline's spread over seeds.
"""
from __future__ import annotations

import statistics

from .lab import Lab
from .plots import plot_curves
from .recipes import BASELINE_SEEDS, VARIANT_SEEDS, convnet

CLAIM = "response normalization: 13% CIFAR-10 test error without, 11% with"


def mean_and_spread(values) -> dict:
    """Mean, and the standard deviation over seeds where there are several."""
    values = list(values)
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "values": values}


def compare(baseline: list, variant: list, key: str) -> dict:
    """``key`` (a metrics column, after the last epoch) of the baseline and variant arms, and their difference."""
    base = mean_and_spread(arm.last(key) for arm in baseline)
    other = mean_and_spread(arm.last(key) for arm in variant)
    difference = other["mean"] - base["mean"]
    return {"baseline": base, "variant": other, "variant_minus_baseline": difference,
            "in_baseline_stds": difference / base["std"] if base["std"] else None}


def seeded_arms(train_variant, train_baseline) -> tuple[list, list]:
    """(baseline arms, variant arms): seed 0 of each first, so that a first comparison comes early."""
    baseline, variant = [train_baseline(BASELINE_SEEDS[0])], [train_variant(VARIANT_SEEDS[0])]
    baseline += [train_baseline(seed) for seed in BASELINE_SEEDS[1:]]
    variant += [train_variant(seed) for seed in VARIANT_SEEDS[1:]]
    return baseline, variant


def run(lab: Lab) -> dict:
    baseline, variant = seeded_arms(lambda seed: convnet(lab, lrn=False, seed=seed),
                                    lambda seed: convnet(lab, seed=seed))
    plot_curves({"with LRN": baseline[0], "without LRN": variant[0]},
                {"val_top1": "test", "train_eval_top1": "training images"}, lab.figure_path("lrn"),
                ylabel="error", title=f"§3.3: LRN on CIFAR-10 (seed {BASELINE_SEEDS[0]})")
    return {
        "claim": CLAIM, "paper": {"test_error_without": 0.13, "test_error_with": 0.11},
        "baseline": "with LRN", "variant": "without LRN",
        "test_error": compare(baseline, variant, "val_top1"),
        "arms": {arm.name: arm.summary() for arm in baseline + variant},
    }
