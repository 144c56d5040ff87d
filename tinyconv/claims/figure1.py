"""Figure 1 (§3.1): ReLUs reach 25% training error on CIFAR-10 six times faster than tanh units.

"A four-layer convolutional neural network with ReLUs (solid line) reaches a 25% training error
rate on CIFAR-10 six times faster than an equivalent network with tanh neurons (dashed line). The
learning rates for each network were chosen independently to make training as fast as possible.
No regularization of any kind was employed."

The net is :class:`~tinyconv.models.FourLayerNet` with ``activation="relu"`` or ``"tanh"``, trained
on the whole images (no crops, mirrors or colour noise), without weight decay or dropout, at a
constant learning rate. Each nonlinearity gets the learning rate, out of a doubling grid, with the
lowest training error after a short probe (:data:`PROBE_EPOCHS` epochs of :data:`PROBE_IMAGES`
images), the grid doubled past its top (or halved past its bottom) while the best rate is the
highest (lowest) tried, so that the rate chosen is never one the grid merely stopped at. Then
each trains, :data:`CHUNK` epochs at a time, until its training error reaches 25% (at most
:data:`MOST_EPOCHS` epochs). The result is, for each, the first epoch whose training error
(the running error of that epoch, as Figure 1 plots it) is at most 25%, the
training seconds until then, and the ratio tanh / ReLU of both.
"""
from __future__ import annotations

from .lab import Diverged, Lab
from .plots import plot_curves

CLAIM = "a 4-layer CNN with ReLUs reaches 25% training error on CIFAR-10 six times faster than with tanh"
TARGET = 0.25
ACTIVATIONS = ("relu", "tanh")
CHUNK, MOST_EPOCHS = 10, 80   # an arm trains 10 epochs at a time until it reaches the target, at most 80
LEARNING_RATES = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016)
PROBE_IMAGES, PROBE_EPOCHS = 10000, 2
MOST_EXTENSIONS = 4       # rates tried past each end of the grid, at most
PROBE_VAL_IMAGES = 1000   # a probe is judged by its training error: the test images only show it learns
UNREGULARISED = dict(model="fourlayer-cifar", augment=False, weight_decay=0.0, pad=0)


def probe(lab: Lab, activation: str, lr: float) -> float | None:
    """Training error over the last epoch of a short run at ``lr`` (None if it diverged)."""
    try:
        arm = lab.arm(f"figure1-probe-{activation}-lr{lr:g}", epochs=PROBE_EPOCHS, lr=lr,
                      train_images=lab.budget.train_images or PROBE_IMAGES, train_eval_images=0,
                      val_images=min(PROBE_VAL_IMAGES, lab.budget.val_images or PROBE_VAL_IMAGES),
                      model_options={"activation": activation}, **UNREGULARISED)
    except Diverged as exc:   # the loss went to NaN or infinity: this rate is too high
        lab.say(f"figure1: {exc}")
        return None
    return arm.last("train_top1")


def best_rate(scores: dict) -> float:
    """The rate with the lowest training error among those that did not diverge (score None)."""
    finite = [lr for lr in scores if scores[lr] is not None]
    if not finite:
        raise ValueError(f"every learning rate tried diverged ({', '.join(f'{lr:g}' for lr in sorted(scores))})")
    return min(finite, key=scores.get)


def search(score, rates, extensions: int = MOST_EXTENSIONS) -> dict:
    """{rate: score(rate)} over ``rates``, extended past an end of the grid while the best rate lies there.

    ``score`` is a training error, or None where the rate diverged. While the lowest error is at the
    highest rate tried, the rate is doubled and tried too (at most ``extensions`` times); likewise
    halved past the lowest.
    """
    scores = {lr: score(lr) for lr in rates}
    for edge, step in ((max, 2.0), (min, 0.5)):
        for _ in range(extensions):
            if best_rate(scores) != edge(scores):
                break
            lr = edge(scores) * step
            scores[lr] = score(lr)
    return dict(sorted(scores.items()))


def epochs_to(rows, target: float = TARGET):
    """(first epoch with a training error <= target, training seconds until its end), or (None, None)."""
    seconds = 0.0
    for row in rows:
        seconds += row["seconds"]
        if row["train_top1"] <= target:
            return row["epoch"], seconds
    return None, None


def until_target(lab: Lab, activation: str, lr: float):
    """The arm of ``activation`` at ``lr``, trained :data:`CHUNK` epochs at a time until it reaches the target."""
    epochs = CHUNK
    while True:
        arm = lab.arm(f"figure1-{activation}", epochs=epochs, lr=lr, model_options={"activation": activation},
                      train_eval_images=0, **UNREGULARISED)   # Figure 1 plots the running training error
        if epochs_to(arm.rows)[0] is not None or epochs >= MOST_EPOCHS or lab.budget.train_images:
            return arm
        epochs += CHUNK


def run(lab: Lab) -> dict:
    full = lab.budget.train_images is None
    rates, extensions = (LEARNING_RATES, MOST_EXTENSIONS) if full else (LEARNING_RATES[1:3], 0)
    scores = {act: search(lambda lr, act=act: probe(lab, act, lr), rates, extensions) for act in ACTIVATIONS}
    chosen = {act: best_rate(s) for act, s in scores.items()}
    arms = {act: until_target(lab, act, chosen[act]) for act in ACTIVATIONS}
    reached = {act: epochs_to(arm.rows) for act, arm in arms.items()}
    (relu_epochs, relu_s), (tanh_epochs, tanh_s) = reached["relu"], reached["tanh"]
    plot_curves({f"{act} (lr {chosen[act]:g})": arm for act, arm in arms.items()}, {"train_top1": ""},
                lab.figure_path("figure1"), ylabel="training error", target=TARGET,
                title="Figure 1 (§3.1): four-layer net on CIFAR-10, no regularisation")
    return {
        "claim": CLAIM, "paper": {"ratio": 6},
        "learning_rate_search": {"probe": f"{PROBE_EPOCHS} epochs of {PROBE_IMAGES} images",
                                 "training_error": {act: {f"{lr:g}": e for lr, e in s.items()}
                                                    for act, s in scores.items()},
                                 "chosen": chosen},
        "epochs_to_25pct": {"relu": relu_epochs, "tanh": tanh_epochs},
        "seconds_to_25pct": {"relu": relu_s, "tanh": tanh_s},
        "ratio_epochs": tanh_epochs / relu_epochs if relu_epochs and tanh_epochs else None,
        "ratio_seconds": tanh_s / relu_s if relu_s and tanh_s else None,
        "arms": {act: arm.summary() for act, arm in arms.items()},
    }

