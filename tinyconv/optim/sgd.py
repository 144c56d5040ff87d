"""Stochastic gradient descent with momentum and weight decay, exactly as in §5 of the paper.

§5 writes the update of a weight ``w`` with velocity ``v``, learning rate ``lr`` (epsilon in
the paper), momentum 0.9 and weight decay 0.0005 as::

    v <- momentum * v - weight_decay * lr * w - lr * grad
    w <- w + v

PyTorch's ``torch.optim.SGD`` keeps the learning rate outside its momentum buffer ``b``::

    b <- momentum * b + grad + weight_decay * w
    w <- w - lr * b

With a constant learning rate the two are the same algorithm: substitute ``v = -lr * b``.
They differ when the learning rate changes (the schedule of §5): PyTorch rescales the
whole buffer by the new rate at once, while the paper's velocity still carries the steps
taken at the old rate and lets them decay by ``momentum`` per step.

The paper applies weight decay to every weight, so by default every parameter is decayed.
To exclude biases, pass parameter groups as in PyTorch::

    SGD([{"params": weights}, {"params": biases, "weight_decay": 0.0}], lr=0.01)

The update runs in place on the parameters' arrays (NumPy or CuPy) with no host-device
synchronisation, outside the autograd graph: :func:`sgd_update` is the reference, and on the
GPU one fused kernel per parameter runs in its place (``tinyconv/fast/sgd.py``, ``kernels/sgd.cu``).
"""
from __future__ import annotations

from .. import backend, dispatch
from ..tensor import Tensor, no_grad

_HYPER = ("lr", "momentum", "weight_decay")


class SGD:
    """§5 momentum SGD (see the module docstring). ``params_or_groups``: Parameters or dicts.

    Each group is a dict with ``"params"`` and optionally ``"lr"``, ``"momentum"``,
    ``"weight_decay"``; missing values come from the keyword arguments. ``param_groups[i]["lr"]``
    is what a schedule changes.
    """

    def __init__(self, params_or_groups, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 5e-4):
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        if isinstance(params_or_groups, Tensor):
            raise TypeError("SGD takes an iterable of parameters (e.g. model.parameters()), not one Tensor")
        items = list(params_or_groups)
        if not items:
            raise ValueError("SGD got no parameters: pass model.parameters() or a list of groups")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.param_groups = []
        seen = set()
        for i, group in enumerate(groups):
            if not isinstance(group, dict) or "params" not in group:
                raise TypeError(f"parameter group {i} must be a dict with a 'params' list, got {group!r:.80}")
            unknown = set(group) - {"params", *_HYPER}
            if unknown:
                raise ValueError(f"parameter group {i} has unknown keys {sorted(unknown)}; "
                                 f"allowed: params, {', '.join(_HYPER)}")
            params = list(group["params"])
            for p in params:
                if not isinstance(p, Tensor) or not p.requires_grad:
                    raise TypeError(f"parameter group {i}: every parameter must be a Tensor with requires_grad=True")
                if id(p) in seen:
                    raise ValueError(f"parameter group {i}: a parameter appears more than once")
                seen.add(id(p))
            full = {**defaults, **{k: group[k] for k in _HYPER if k in group}, "params": params}
            _check_hyper(full, i)
            self.param_groups.append(full)
        self.velocity = {}  # parameter index (over all groups, in order) -> array like the parameter

    def _indexed(self):
        """(index, parameter, its group) in order over all groups: the keys of the velocity."""
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                yield index, p, group
                index += 1

    def step(self) -> None:
        """One update of every parameter that has a gradient (parameters with ``grad None`` are skipped)."""
        with no_grad():
            for i, p, group in self._indexed():
                if p.grad is None:
                    continue
                lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
                with backend.device_of(p.data).context():           # each tower's GPU updates its own (§3.2)
                    v = self.velocity.get(i)
                    if v is None:
                        v = self.velocity[i] = p.xp.zeros_like(p.data)
                    dispatch.choose(sgd_update, p.data)(p.data, p.grad, v, lr, momentum, decay)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (``grad = None``)."""
        for _, p, _ in self._indexed():
            p.grad = None

    def state_dict(self) -> dict:
        """A flat dict of NumPy arrays and numbers (``numpy.savez`` can store it without pickle).

        Keys: ``"groups.<g>.lr"``, ``".momentum"``, ``".weight_decay"`` and ``".size"`` (number of
        parameters) per group, and ``"velocity.<i>"`` for each parameter index that has taken a step.
        """
        state = {}
        for g, group in enumerate(self.param_groups):
            for key in _HYPER:
                state[f"groups.{g}.{key}"] = float(group[key])
            state[f"groups.{g}.size"] = len(group["params"])
        for i, v in self.velocity.items():
            state[f"velocity.{i}"] = backend.to_numpy(v).copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore hyperparameters and velocities from :meth:`state_dict`; velocities go to each
        parameter's current device. The groups must have the same sizes and the velocities the
        parameters' shapes and dtypes."""
        problems = []
        sizes = [len(group["params"]) for group in self.param_groups]
        saved = []
        while f"groups.{len(saved)}.size" in state:
            saved.append(int(state[f"groups.{len(saved)}.size"]))
        if saved != sizes:
            problems.append(f"parameter groups differ: sizes {saved} in the state dict, {sizes} in the optimizer")
        params = {i: p for i, p, _ in self._indexed()}
        velocity = {}
        for key, value in state.items():
            if not key.startswith("velocity."):
                continue
            i = int(key.split(".")[1])
            value = backend.to_numpy(value)
            if i not in params:
                problems.append(f"'{key}': no parameter {i} (the optimizer has {len(params)})")
            elif value.shape != params[i].shape or value.dtype != params[i].dtype:
                problems.append(f"'{key}': {value.dtype} {value.shape} in the state dict, "
                                f"parameter {i} is {params[i].dtype} {params[i].shape}")
            else:
                velocity[i] = backend.to_device(value.copy(), params[i].device)
        if problems:
            raise ValueError("SGD.load_state_dict failed:\n  " + "\n  ".join(problems))
        for g, group in enumerate(self.param_groups):
            for key in _HYPER:
                group[key] = float(state[f"groups.{g}.{key}"])
        self.velocity = velocity


def sgd_update(w, grad, v, lr, momentum, decay) -> None:
    """One §5 step of weight array ``w`` in place: v <- momentum * v - decay * lr * w - lr * grad; w <- w + v."""
    v *= momentum
    if decay:
        v -= (decay * lr) * w
    v -= lr * grad
    w += v


def _check_hyper(group: dict, i: int) -> None:
    for key in _HYPER:
        value = group[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"parameter group {i}: {key} must be a number >= 0, got {value!r}")
    if group["momentum"] >= 1:
        raise ValueError(f"parameter group {i}: momentum must be < 1 (the paper uses 0.9), got {group['momentum']}")
