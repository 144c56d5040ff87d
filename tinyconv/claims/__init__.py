"""The paper's claims that a 2-core CPU can check, each an experiment on CIFAR-10.

==========  ======  ================================================================
experiment  paper   claim
==========  ======  ================================================================
figure1     §3.1    ReLUs reach 25% training error six times faster than tanh units
lrn         §3.3    response normalization: 13% test error without, 11% with
overlap     §3.4    overlapping pooling: 0.4% lower error, slightly harder to overfit
dropout     §4.2    without dropout, overfitting; with it, about twice the iterations
average     §6      the average of several nets' predictions beats each net
==========  ======  ================================================================

``python examples/reproduce.py EXPERIMENT --data-dir DIR`` runs one (docs/results.md has the
figures and the commands). Every experiment is a function ``run(lab) -> dict`` that trains its arms
on a :class:`~tinyconv.claims.lab.Lab`, writes its figure and returns what result.json records.
"""
from . import averaging, dropout, figure1, normalization, pooling
from .lab import FULL, QUICK, ArmError, Budget, Diverged, Lab  # noqa: F401

EXPERIMENTS = {
    "figure1": figure1.run,
    "lrn": normalization.run,
    "overlap": pooling.run,
    "dropout": dropout.run,
    "average": averaging.run,
}
