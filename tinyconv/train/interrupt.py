"""Ctrl-C without losing work: the first SIGINT asks the loop to stop after the current step.

Interrupting in the middle of ``optimizer.step()`` would leave some layers updated and others
not, and the checkpoint would then hold weights no uninterrupted run ever had. Inside
``with Interrupt() as stop:`` the first Ctrl-C only sets ``stop.requested``; the training loop
looks at it between two steps, and the program saves a checkpoint and exits. A second Ctrl-C
raises ``KeyboardInterrupt`` at once, as usual.
"""
from __future__ import annotations

import signal
import threading


class Interrupt:
    """Context manager turning the first SIGINT into a flag (see the module docstring)."""

    def __init__(self, notify=print):
        self.requested = False
        self.notify = notify
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.notify("\nCtrl-C: finishing this step, then saving a checkpoint (Ctrl-C again to quit at once)")

    def __enter__(self) -> "Interrupt":
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
