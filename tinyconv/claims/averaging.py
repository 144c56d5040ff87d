"""§6: averaging the predictions of several nets lowers the error (18.2% for one net, 16.4% for five).

"Averaging the predictions of five similar CNNs gives an error rate of 16.4%" (top-5 on ILSVRC-2012,
against 18.2% for one). Here the baseline :func:`~tinyconv.claims.recipes.convnet` (with LRN and
overlapping pooling) trains from five seeds; the result is the test error of each and of the average
of the first K nets' softmax outputs, K = 1 ... 5, on centre crops.
"""
from __future__ import annotations

import numpy as np

from ..train.evaluation import predictions
from ..train.loop import errors_of_log_probs
from .lab import Lab
from .recipes import BASELINE_SEEDS, convnet

CLAIM = "averaging the predictions of five similar CNNs: 16.4% top-5 error on ILSVRC-2012, against 18.2% for one"


def plot_average(errors: list, singles: list, path: str) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    k = np.arange(1, len(errors) + 1)
    ax.plot(k, 100 * np.asarray(errors), "o-", label="average of the first K nets")
    ax.plot(k, 100 * np.asarray(singles), "x", color="grey", label="net K alone")
    ax.set(xlabel="K", ylabel="test error (%)", title="§6: averaging nets trained from different seeds")
    ax.set_xticks(k)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def run(lab: Lab) -> dict:
    arms = [convnet(lab, seed=seed) for seed in BASELINE_SEEDS]
    summed, labels, singles, averaged = None, None, [], []
    for k, arm in enumerate(arms, 1):
        log_p, y = predictions(arm.checkpoint, data_dir=lab.data_dir, workers=lab.workers, show=lab.progress,
                               say=lab.say)
        if labels is not None and not np.array_equal(y, labels):
            raise ValueError(f"arm {arm.name} was evaluated on other images than {arms[0].name}")
        summed, labels = (log_p if summed is None else np.logaddexp(summed, log_p)), y
        singles.append(errors_of_log_probs(log_p, y)["top1"])
        averaged.append(errors_of_log_probs(summed - np.log(k), y)["top1"])
    plot_average(averaged, singles, lab.figure_path("average"))
    return {
        "claim": CLAIM, "paper": {"one_net": 0.182, "five_nets": 0.164},
        "test_error_each": singles, "test_error_average_of_first_k": averaged,
        "arms": {arm.name: arm.summary() for arm in arms},
    }
