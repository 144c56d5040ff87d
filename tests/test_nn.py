"""Module: registration, names, train/eval, devices, state_dict and its checks; Sequential."""
import io

import numpy as np
import pytest

from tinyconv import backend, nn
from tinyconv.nn import Module, Parameter, Sequential
from tinyconv.tensor import Tensor


class Affine(Module):
    """y = x * scale + shift: a layer built only from Parameters and elementary ops."""

    def __init__(self, n, start=1.0):
        super().__init__()
        self.scale = Parameter(np.full(n, start, dtype=np.float32))
        self.shift = Parameter(np.zeros(n, dtype=np.float32))

    def forward(self, x):
        return x * self.scale + self.shift


class Net(Module):
    def __init__(self):
        super().__init__()
        self.first = Affine(3, 2.0)
        self.body = Sequential(Affine(3, 3.0), Affine(3, 4.0))
        self.gain = Parameter(np.ones((), dtype=np.float32))
        self.register_buffer("seen", np.zeros(3, dtype=np.int64))
        self.register_buffer("ticks", np.zeros((), dtype=np.int64), host=True)

    def forward(self, x):
        return self.body(self.first(x)) * self.gain


NAMES = ["gain", "first.scale", "first.shift", "body.0.scale", "body.0.shift", "body.1.scale", "body.1.shift"]


def test_registration_order_and_dotted_names():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == NAMES
    assert all(isinstance(p, Parameter) and p.requires_grad for p in net.parameters())
    assert [name for name, _ in net.named_children()] == ["first", "body"]
    assert [name for name, _ in net.named_modules()] == ["", "first", "body", "body.0", "body.1"]
    assert [name for name, _ in net.named_buffers()] == ["seen", "ticks"]
    assert list(net.state_dict()) == NAMES + ["seen", "ticks"]
    net.first = Affine(3)                   # replacing keeps the name and its place
    assert [name for name, _ in net.named_parameters()] == NAMES


def test_shared_parameters_and_modules_are_listed_once():
    layer = Affine(2)
    seq = Sequential(layer, layer)
    assert [name for name, _ in seq.named_parameters()] == ["0.scale", "0.shift"]
    assert len(list(seq.modules())) == 2


def test_forward_and_backward_through_modules():
    net = Net()
    x = Tensor(np.array([[1.0, -2.0, 0.5]], dtype=np.float32))
    y = net(x)
    np.testing.assert_allclose(y.numpy(), x.numpy() * 2 * 3 * 4)
    y.sum().backward()
    np.testing.assert_allclose(net.first.scale.grad, x.numpy()[0] * 12)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_reach_every_module():
    net = Net()
    assert net.eval() is net
    assert [m.training for m in net.modules()] == [False] * 5
    net.body.train()
    assert [m.training for m in net.modules()] == [False, False, True, True, True]
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="True or False"):
        net.train("no")


def test_state_dict_round_trip_copies(device):
    net = Net().to(device)
    net.body[1].shift.data += 5.0
    state = net.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    np.testing.assert_array_equal(state["body.1.shift"], [5.0] * 3)
    net.body[1].shift.data += 1.0          # the snapshot does not follow the model
    np.testing.assert_array_equal(state["body.1.shift"], [5.0] * 3)

    other = Net().to(device)
    other.load_state_dict(state)
    for (name, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items()):
        if name != "body.1.shift":
            np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(other.state_dict()["body.1.shift"], [5.0] * 3)
    assert str(other.gain.device) == device
    state["body.1.shift"][:] = -1.0        # nor does the model follow the dict it was loaded from
    np.testing.assert_array_equal(other.state_dict()["body.1.shift"], [5.0] * 3)


def test_state_dict_saves_and_loads_through_npz_without_pickle():
    net = Net()
    net.first.scale.data[:] = [1.0, 2.0, 3.0]
    net.seen[:] = [7, 8, 9]
    buffer = io.BytesIO()
    np.savez(buffer, **net.state_dict())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        other = Net()
        other.load_state_dict(dict(saved))
    np.testing.assert_array_equal(other.first.scale.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(other.seen, [7, 8, 9])


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("body.0.scale"), r"missing keys .*: body\.0\.scale"),
    (lambda s: s.update(extra=np.zeros(1)), r"unexpected keys .*: extra"),
    (lambda s: s.update({"first.shift": np.zeros(4, np.float32)}),
     r"'first\.shift': shape \(4,\) in the state dict, \(3,\) in the module"),
    (lambda s: s.update(gain=np.ones((), np.float64)),
     r"'gain': dtype float64 in the state dict, float32 in the module"),
    (lambda s: s.update(seen=np.zeros(3, np.int32)), r"'seen': dtype int32 .* int64"),
])
def test_load_state_dict_names_the_problem_and_copies_nothing(edit, message):
    state = Net().state_dict()
    state["body.1.scale"] = np.full(3, 9.0, np.float32)
    edit(state)
    net = Net()
    with pytest.raises(ValueError, match=message):
        net.load_state_dict(state)
    np.testing.assert_array_equal(net.body[1].scale.data, [4.0] * 3)   # untouched


def test_load_state_dict_not_strict_skips_missing_and_unexpected():
    state = {"gain": np.full((), 3.0, np.float32), "other": np.zeros(2)}
    net = Net()
    net.load_state_dict(state, strict=False)
    assert float(net.gain.data) == 3.0
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict({"gain": np.ones(2, np.float32)}, strict=False)


def test_to_moves_parameters_gradients_and_buffers(device):
    net = Net()
    net(Tensor(np.ones((1, 3), np.float32))).sum().backward()
    assert net.to(device) is net
    for name, p in net.named_parameters():
        assert str(backend.device_of(p.data)) == device, name
        assert str(backend.device_of(p.grad)) == device, name
    assert str(backend.device_of(net.seen)) == device
    assert str(backend.device_of(net.ticks)) == "cpu"      # host buffers stay on the host
    with pytest.raises(ValueError, match="unknown device"):
        net.to("gpu0")


def test_buffers_validate_and_follow_assignment():
    net = Net()
    net.seen = net.seen + 1                  # reassigning keeps it a buffer
    np.testing.assert_array_equal(net.state_dict()["seen"], [1, 1, 1])
    with pytest.raises(ValueError, match="identifier"):
        net.register_buffer("a.b", np.zeros(1))
    with pytest.raises(TypeError, match="must be an array"):
        net.register_buffer("p", Parameter(np.zeros(1)))


def test_forgetting_super_init_is_explained():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken().state_dict()
    with pytest.raises(AttributeError, match="no .training."):
        Broken().training


def test_sequential_indexing_and_errors():
    a, b, c = Affine(1), Affine(1), Affine(1)
    seq = Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    part = seq[1:]
    assert isinstance(part, Sequential) and list(part) == [b, c] and part[0] is b
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    with pytest.raises(TypeError, match="position 1"):
        Sequential(a, lambda x: x)


def test_repr_lists_children():
    text = repr(Sequential(nn.ReLU(), nn.Sequential(nn.Tanh())))
    assert text == "Sequential(\n  (0): ReLU()\n  (1): Sequential(\n    (0): Tanh()\n  )\n)"
