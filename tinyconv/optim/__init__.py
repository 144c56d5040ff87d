"""Optimisation as in §5: momentum SGD with the paper's weight decay rule, and its schedule."""
from .schedule import MilestoneSchedule, PlateauSchedule  # noqa: F401
from .sgd import SGD  # noqa: F401
