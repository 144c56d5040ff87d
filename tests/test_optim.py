"""SGD against the §5 update written out in NumPy and against torch.optim.SGD; the §5 schedule."""
import io
import math

import numpy as np
import pytest

from tinyconv import backend
from tinyconv.nn import Parameter
from tinyconv.optim import SGD, MilestoneSchedule, PlateauSchedule

LR, M, WD = 0.05, 0.7, 0.01   # not the paper's 0.9 and 5e-4, so a hard-coded constant cannot hide


def _params(device, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    w = Parameter(backend.to_device(rng.standard_normal((3, 4)).astype(dtype), device))
    b = Parameter(backend.to_device(rng.standard_normal(3).astype(dtype), device))
    return w, b


def _grads(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((3, 4)), rng.standard_normal(3)) for _ in range(steps)]


def _run(opt, params, grads, device):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = backend.to_device(g.astype(p.dtype), device)
        opt.step()


def test_one_step_is_the_paper_formula(device):
    w, b = _params(device)
    w0, b0 = w.numpy().copy(), b.numpy().copy()
    (gw, gb), = _grads(1)
    opt = SGD([w, b], lr=LR, momentum=M, weight_decay=WD)
    _run(opt, [w, b], [(gw, gb)], device)
    np.testing.assert_allclose(w.numpy(), w0 - WD * LR * w0 - LR * gw, rtol=1e-14)   # v0 = 0
    np.testing.assert_allclose(b.numpy(), b0 - WD * LR * b0 - LR * gb, rtol=1e-14)
    assert str(backend.device_of(w.data)) == device


def test_several_steps_follow_the_velocity_recursion(device):
    w, b = _params(device)
    expected = [w.numpy().copy(), b.numpy().copy()]
    velocity = [np.zeros_like(e) for e in expected]
    grads = _grads(5)
    opt = SGD([w, b], lr=LR, momentum=M, weight_decay=WD)
    _run(opt, [w, b], grads, device)
    for step_grads in grads:
        for k, g in enumerate(step_grads):
            velocity[k] = M * velocity[k] - WD * LR * expected[k] - LR * g
            expected[k] = expected[k] + velocity[k]
    np.testing.assert_allclose(w.numpy(), expected[0], rtol=1e-13)
    np.testing.assert_allclose(b.numpy(), expected[1], rtol=1e-13)
    np.testing.assert_allclose(backend.to_numpy(opt.velocity[0]), velocity[0], rtol=1e-12)


def test_no_decay_group_and_group_learning_rates(device):
    w, b = _params(device)
    w0, b0 = w.numpy().copy(), b.numpy().copy()
    (gw, gb), = _grads(1)
    opt = SGD([{"params": [w]}, {"params": [b], "weight_decay": 0.0, "lr": 0.5}], lr=LR, momentum=M, weight_decay=WD)
    assert [g["weight_decay"] for g in opt.param_groups] == [WD, 0.0]
    _run(opt, [w, b], [(gw, gb)], device)
    np.testing.assert_allclose(w.numpy(), w0 - WD * LR * w0 - LR * gw, rtol=1e-14)
    np.testing.assert_allclose(b.numpy(), b0 - 0.5 * gb, rtol=1e-14)


def test_parameters_without_gradient_are_left_alone_and_zero_grad(device):
    w, b = _params(device)
    b0 = b.numpy().copy()
    opt = SGD([w, b])
    w.grad = w.xp.ones_like(w.data)
    opt.step()
    np.testing.assert_array_equal(b.numpy(), b0)
    assert 1 not in opt.velocity
    opt.zero_grad()
    assert w.grad is None and b.grad is None


def test_float32_stays_float32_in_place(device):
    w, b = _params(device, np.float32)
    data = w.data
    opt = SGD([w, b])
    _run(opt, [w, b], _grads(2), device)
    assert w.data is data and w.dtype == np.float32 and opt.velocity[0].dtype == np.float32


def test_state_dict_round_trip_continues_identically(device):
    grads = _grads(6)
    w, b = _params(device)
    opt = SGD([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], lr=LR, momentum=M, weight_decay=WD)
    _run(opt, [w, b], grads[:3], device)
    opt.param_groups[0]["lr"] = 0.02      # as a schedule would
    buffer = io.BytesIO()
    np.savez(buffer, **opt.state_dict())
    saved_params = [w.numpy().copy(), b.numpy().copy()]
    _run(opt, [w, b], grads[3:], device)

    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        state = dict(saved)
    w2, b2 = (Parameter(backend.to_device(a, device)) for a in saved_params)
    opt2 = SGD([{"params": [w2]}, {"params": [b2]}], lr=1.0, momentum=0.0, weight_decay=0.0)
    opt2.load_state_dict(state)
    assert [g["lr"] for g in opt2.param_groups] == [0.02, LR]
    assert [g["weight_decay"] for g in opt2.param_groups] == [WD, 0.0]
    assert str(backend.device_of(opt2.velocity[0])) == device
    _run(opt2, [w2, b2], grads[3:], device)
    np.testing.assert_array_equal(w2.numpy(), w.numpy())
    np.testing.assert_array_equal(b2.numpy(), b.numpy())


def test_load_state_dict_checks_groups_and_velocities():
    w, b = _params("cpu")
    opt = SGD([w, b])
    _run(opt, [w, b], _grads(1), "cpu")
    state = opt.state_dict()
    with pytest.raises(ValueError, match=r"sizes \[2\] in the state dict, \[1, 1\]"):
        SGD([{"params": [w]}, {"params": [b]}]).load_state_dict(state)
    state["velocity.1"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"'velocity.1': float64 \(4,\) .* parameter 1 is float64 \(3,\)"):
        SGD([w, b]).load_state_dict(state)


@pytest.mark.parametrize("args, message", [
    (([],), "no parameters"),
    (([{"params": []}, 3],), "group 1 must be a dict"),
    (([{"params": [], "nesterov": True}],), "unknown keys"),
    (([Parameter(np.ones(1))], -0.1), "lr must be a number >= 0"),
    (([Parameter(np.ones(1))], 0.1, 1.0), "momentum must be < 1"),
    ((Parameter(np.ones(2)),), "not one Tensor"),
])
def test_bad_arguments_are_explained(args, message):
    with pytest.raises((TypeError, ValueError), match=message):
        SGD(*args)
    p = Parameter(np.ones(1))
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p])


def test_matches_torch_sgd_for_a_constant_learning_rate():
    """torch: b <- m b + g + wd w; w <- w - lr b. With v = -lr b this is §5's update."""
    torch = pytest.importorskip("torch")
    w, b = _params("cpu")
    tw, tb = (torch.tensor(p.numpy(), requires_grad=True) for p in (w, b))
    ours = SGD([w, b], lr=LR, momentum=M, weight_decay=WD)
    theirs = torch.optim.SGD([tw, tb], lr=LR, momentum=M, weight_decay=WD)
    grads = _grads(6)
    for gw, gb in grads:
        _run(ours, [w, b], [(gw, gb)], "cpu")
        tw.grad, tb.grad = torch.from_numpy(gw), torch.from_numpy(gb)
        theirs.step()
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), tb.detach().numpy(), rtol=1e-12)
    momentum_buffer = theirs.state[tw]["momentum_buffer"].numpy()
    np.testing.assert_allclose(ours.velocity[0], -LR * momentum_buffer, rtol=1e-12)

    # After a change of learning rate the two differ: torch rescales its whole buffer at once.
    ours.param_groups[0]["lr"] = theirs.param_groups[0]["lr"] = LR / 10
    for gw, gb in grads:
        _run(ours, [w, b], [(gw, gb)], "cpu")
        tw.grad, tb.grad = torch.from_numpy(gw), torch.from_numpy(gb)
        theirs.step()
    assert not np.allclose(w.numpy(), tw.detach().numpy(), rtol=1e-3)


def _schedule(**kwargs):
    opt = SGD([Parameter(np.ones(1))], lr=0.01)
    return opt, PlateauSchedule(opt, **kwargs)


def test_schedule_divides_by_ten_on_each_plateau_then_finishes():
    opt, sched = _schedule()
    errors = [0.9, 0.8, 0.8, 0.7, 0.75, 0.6, 0.6, 0.5]
    reduced = [sched.step(e) for e in errors]
    assert reduced == [False, False, True, False, True, False, True, False]
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5)
    assert sched.reductions == 3 and not sched.finished
    assert sched.step(0.5) is False and sched.finished   # a plateau after three reductions: stop
    assert sched.step(0.1) is False and sched.finished
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5)


def test_schedule_patience_threshold_and_factor():
    opt, sched = _schedule(patience=2, threshold=0.01, factor=0.5)
    assert [sched.step(e) for e in [0.5, 0.495, 0.48, 0.479, 0.475]] == [False, False, False, False, True]
    assert sched.best == 0.48 and opt.param_groups[0]["lr"] == pytest.approx(0.005)


def test_schedule_state_round_trip_continues_identically():
    errors = [0.9, 0.9, 0.9, 0.8, 0.85, 0.85, 0.7]
    opt, sched = _schedule(patience=2)
    first = [sched.step(e) for e in errors[:5]]        # ends one bad epoch into a plateau
    opt_state, state = opt.state_dict(), sched.state_dict()
    assert all(isinstance(v, (int, float)) for v in state.values())
    rest = [sched.step(e) for e in errors[5:]]
    opt2, sched2 = _schedule(patience=2)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(state)
    assert [sched2.step(e) for e in errors[5:]] == rest
    assert first + rest == [False, False, True, False, False, True, False]
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    with pytest.raises(ValueError, match="missing keys"):
        sched2.load_state_dict({"best": 1.0})


def test_schedule_rejects_bad_settings_and_nan():
    for kwargs, message in [({"factor": 1.0}, "factor"), ({"patience": 0}, "patience"),
                            ({"threshold": -1}, "threshold"), ({"max_reductions": -1}, "max_reductions")]:
        with pytest.raises(ValueError, match=message):
            _schedule(**kwargs)
    _, sched = _schedule()
    with pytest.raises(ValueError, match="NaN"):
        sched.step(math.nan)


def test_milestone_schedule_divides_after_the_listed_epochs_only():
    opt = SGD([Parameter(np.ones(1))], lr=0.01)
    sched = MilestoneSchedule(opt, (2, 4))
    assert [sched.step(0.5) for _ in range(6)] == [False, True, False, True, False, False]
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-4) and sched.reductions == 2 and not sched.finished
    constant = SGD([Parameter(np.ones(1))], lr=0.01)
    flat = MilestoneSchedule(constant, ())                 # --lr-drops none: a constant rate
    assert not any(flat.step(e) for e in (0.9, 0.1, 0.9)) and constant.param_groups[0]["lr"] == 0.01


def test_milestone_schedule_state_round_trip_and_bad_settings():
    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    sched = MilestoneSchedule(opt, (3,))
    sched.step(0.5)
    sched.step(0.5)
    again = MilestoneSchedule(opt, (3,))
    again.load_state_dict(sched.state_dict())
    assert again.step(0.5) is True and opt.param_groups[0]["lr"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="written with the plateau schedule"):
        again.load_state_dict(PlateauSchedule(opt).state_dict())
    for milestones in ((0,), (5, 3), (2, 2)):
        with pytest.raises(ValueError, match="increasing epoch numbers"):
            MilestoneSchedule(opt, milestones)
    with pytest.raises(ValueError, match="NaN"):
        sched.step(math.nan)
