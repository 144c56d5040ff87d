"""Watching the training loss for the two classic failures.

* A NaN or infinite loss: the weights are already ruined, so training stops at once with
  :class:`NonFiniteLoss`; the program then keeps the last good checkpoint untouched.
* A loss stuck near ln(num_classes): a softmax that outputs the uniform distribution has
  cross-entropy exactly ln(C), so a loss that stays there for many steps means the net is not
  learning at all. The paper's recipe (§5: N(0, 0.01) weights, biases 1 in some layers, lr 0.01)
  is known to sit there when the input scale or the PCA colour noise (§4.1) is off; the
  warning says what to try.
"""
from __future__ import annotations

import math

ADVICE = (
    "things to try: --init he, if the net is narrower than AlexNet (N(0, 0.01) weights can shrink the image "
    "to nothing before the logits, see tinyconv/train/initialisation.py); a lower learning rate (--lr 0.001); "
    "--bias-init 0.1 instead of 1 for the layers the paper sets to 1 (§5); check the input scale "
    "(raw pixel values minus the mean image, §2, not "
    "values divided by 255 nor standardised twice); and for RGB data check the PCA colour noise "
    "scale (§4.1: alpha_i ~ N(0, 0.1) times the standard deviations along the principal "
    "components, not the eigenvalues)"
)


class NonFiniteLoss(FloatingPointError):
    """Raised when the loss becomes NaN or infinite."""


class LossGuard:
    """Check each step's loss: raise on NaN/inf, warn once when it stays near ln(num_classes).

    ``patience``: consecutive steps within ``tolerance`` (relative) of ln(num_classes) before
    the warning; ``warn`` is called with the message (``print`` by default, tqdm.write in the
    program so the progress bar stays intact).
    """

    def __init__(self, num_classes: int, patience: int = 200, tolerance: float = 0.02, warn=print):
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.chance_loss = math.log(num_classes)
        self.patience, self.tolerance, self.warn = patience, tolerance, warn
        self.stuck_steps = 0
        self.warned = False

    def check(self, loss: float, step: int) -> None:
        if not math.isfinite(loss):
            raise NonFiniteLoss(
                f"the loss became {loss} at step {step} (counted from 0): the weights are ruined, so training "
                "stops here and the last good checkpoint is kept. The learning rate is probably too high for "
                "this model (try --lr 10 times "
                "smaller), or the input holds NaN/inf values"
            )
        if abs(loss - self.chance_loss) <= self.tolerance * self.chance_loss:
            self.stuck_steps += 1
        else:
            self.stuck_steps = 0
        if self.stuck_steps >= self.patience and not self.warned:
            self.warned = True
            self.warn(
                f"warning: the loss has stayed near ln({round(math.exp(self.chance_loss))}) = "
                f"{self.chance_loss:.3f} (the loss of a uniform guess) for {self.stuck_steps} steps up to "
                f"step {step}: the net is not learning. {ADVICE}"
            )

    def state_dict(self) -> dict:
        return {"stuck_steps": self.stuck_steps, "warned": self.warned}

    def load_state_dict(self, state: dict) -> None:
        self.stuck_steps, self.warned = int(state["stuck_steps"]), bool(state["warned"])
