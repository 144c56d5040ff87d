"""Layers: each output equals its functional op; parameters, §5 init, argument checks; Dropout masks."""
import numpy as np
import pytest

from tinyconv import backend, init, nn
from tinyconv.functional.activation import relu, sigmoid, tanh
from tinyconv.functional.conv import conv2d
from tinyconv.functional.dropout import dropout
from tinyconv.functional.linear import linear
from tinyconv.functional.normalization import local_response_norm
from tinyconv.functional.pooling import max_pool2d
from tinyconv.tensor import Tensor
from tinyconv.testing import gradcheck


def _x(device, *shape, dtype=np.float32, seed=0):
    return Tensor(backend.to_device(np.random.default_rng(seed).standard_normal(shape).astype(dtype), device))


def test_conv2d_parameters_and_output(device):
    layer = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, rng=np.random.default_rng(0)).to(device)
    assert layer.weight.shape == (6, 2, 3, 2) and layer.weight.dtype == np.float32
    assert layer.bias.shape == (6,) and not layer.bias.numpy().any()          # biases 0 (§5)
    layer.bias.data[...] = layer.bias.xp.arange(6)
    x = _x(device, 2, 4, 7, 6)
    expected = conv2d(x, layer.weight, layer.bias, stride=2, padding=1, groups=2)
    np.testing.assert_array_equal(layer(x).numpy(), expected.numpy())
    assert repr(layer) == "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), groups=2)"
    no_bias = nn.Conv2d(3, 5, 1, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 3, "groups": 2}, ValueError,
     r"in_channels \(C\) = 3 is not divisible by groups = 2"),
    ({"in_channels": 4, "out_channels": 3, "kernel_size": 3, "groups": 2}, ValueError,
     r"out_channels \(OC\) = 3 is not divisible by groups = 2"),
    ({"in_channels": 0, "out_channels": 4, "kernel_size": 3}, ValueError, "in_channels must be an int >= 1"),
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 0}, ValueError, "kernel_size must be an int >= 1"),
    ({"in_channels": 3, "out_channels": 4, "kernel_size": (3, 3, 3)}, TypeError, "kernel_size"),
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": -1}, ValueError, "padding must be an int >= 0"),
])
def test_conv2d_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.Conv2d(**kwargs)


def test_linear_parameters_init_and_output(device):
    layer = nn.Linear(500, 400, rng=np.random.default_rng(1))
    assert layer.weight.shape == (400, 500) and layer.bias.shape == (400,)
    assert layer.weight.numpy().std() == pytest.approx(0.01, rel=0.02)        # N(0, 0.01) (§5)
    same = nn.Linear(500, 400, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(layer.weight.numpy(), same.weight.numpy())
    layer.to(device)
    x = _x(device, 3, 500)
    np.testing.assert_array_equal(layer(x).numpy(), linear(x, layer.weight, layer.bias).numpy())
    assert nn.Linear(2, 3, bias=False).bias is None
    with pytest.raises(ValueError, match="out_features must be an int >= 1"):
        nn.Linear(2, 0)


def test_layers_built_without_rng_follow_manual_seed():
    init.manual_seed(5)
    a = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    init.manual_seed(5)
    b = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)
    assert not np.array_equal(a[0].weight.numpy().ravel()[:8], a[1].weight.numpy().ravel())


@pytest.mark.parametrize("layer, op", [(nn.ReLU(), relu), (nn.Tanh(), tanh), (nn.Sigmoid(), sigmoid)])
def test_activations(layer, op, device):
    x = _x(device, 2, 5)
    np.testing.assert_array_equal(layer(x).numpy(), op(x).numpy())


def test_local_response_norm(device):
    layer = nn.LocalResponseNorm(size=3, alpha=1.0, beta=0.75, k=2.0, groups=2)
    x = _x(device, 2, 6, 3, 3)
    expected = local_response_norm(x, 3, 1.0, 0.75, 2.0, 2)
    np.testing.assert_array_equal(layer(x).numpy(), expected.numpy())
    assert not np.allclose(expected.numpy(), local_response_norm(x, 3, 1.0, 0.75, 2.0, 1).numpy())
    with pytest.raises(ValueError, match="size must be odd"):
        nn.LocalResponseNorm(size=4)
    with pytest.raises(ValueError, match="k > 0"):
        nn.LocalResponseNorm(k=0.0)


def test_max_pool(device):
    x = _x(device, 2, 3, 9, 9)
    overlapping = nn.MaxPool2d(3, stride=2)                                     # §3.4
    np.testing.assert_array_equal(overlapping(x).numpy(), max_pool2d(x, 3, 2).numpy())
    assert overlapping(x).shape == (2, 3, 4, 4)
    assert nn.MaxPool2d(2).stride == (2, 2)                                     # default: stride = kernel
    np.testing.assert_array_equal(nn.MaxPool2d(2, padding=1)(x).numpy(), max_pool2d(x, 2, 2, 1).numpy())
    with pytest.raises(ValueError, match="at most half"):
        nn.MaxPool2d(3, padding=2)


def test_flatten(device):
    x = _x(device, 2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    np.testing.assert_array_equal(nn.Flatten()(x).numpy(), x.numpy().reshape(2, 60))


def test_small_network_gradients():
    """A float64 conv -> relu -> pool -> lrn -> flatten -> linear stack: input gradient checked
    numerically, every parameter receives a gradient of its own shape."""
    rng = np.random.default_rng(2)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2, rng=rng, dtype=np.float64), nn.ReLU(),
                        nn.MaxPool2d(3, stride=2), nn.LocalResponseNorm(3, alpha=1.0, groups=2),
                        nn.Flatten(), nn.Linear(16, 3, rng=rng, dtype=np.float64))
    for p in net.parameters():
        p.data += rng.standard_normal(p.shape)                                  # off the §5 scale
    gradcheck(lambda x: net(x), rng.standard_normal((2, 2, 5, 5)))
    net(Tensor(rng.standard_normal((2, 2, 5, 5)))).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())


def _dropout_outputs(layer, x, calls):
    return [layer(x).numpy() for _ in range(calls)]


def test_dropout_masks_repeat_for_the_same_seed_and_counter(device):
    x = _x(device, 64, 50) + 10.0                                               # no zeros in x
    a, b, other = nn.Dropout(0.5, seed=3), nn.Dropout(0.5, seed=3), nn.Dropout(0.5, seed=4)
    outs_a, outs_b = _dropout_outputs(a, x, 3), _dropout_outputs(b, x, 3)
    for out_a, out_b in zip(outs_a, outs_b):
        np.testing.assert_array_equal(out_a, out_b)
    assert not np.array_equal(outs_a[0], outs_a[1])                             # a new mask per call
    assert not np.array_equal(outs_a[0], other(x).numpy())                      # another seed
    kept = outs_a[0] != 0
    np.testing.assert_array_equal(outs_a[0][kept], x.numpy()[kept])             # paper mode: x or 0
    assert kept.mean() == pytest.approx(0.5, abs=0.05)
    assert int(a.calls) == 3 and str(backend.device_of(a.calls)) == "cpu"


def test_dropout_state_dict_restore_draws_the_same_masks(device):
    x = _x(device, 8, 20) + 10.0
    net = nn.Sequential(nn.Linear(20, 20), nn.Dropout(0.5, seed=1)).to(device)
    _dropout_outputs(net, x, 2)
    state = net.state_dict()
    assert int(state["1.calls"]) == 2
    later = _dropout_outputs(net, x, 3)
    resumed = nn.Sequential(nn.Linear(20, 20), nn.Dropout(0.5, seed=1)).to(device)
    resumed.load_state_dict(state)
    for expected, actual in zip(later, _dropout_outputs(resumed, x, 3)):
        np.testing.assert_array_equal(actual, expected)


def test_dropout_eval_modes_and_checks(device):
    x = _x(device, 4, 6)
    paper, inverted = nn.Dropout(0.5).eval(), nn.Dropout(0.25, mode="inverted").eval()
    np.testing.assert_allclose(paper(x).numpy(), 0.5 * x.numpy())                # §4.2: times 1 - p
    np.testing.assert_array_equal(inverted(x).numpy(), x.numpy())
    np.testing.assert_array_equal(paper(x).numpy(), dropout(x, 0.5, training=False).numpy())
    assert int(paper.calls) == 0                                                # eval draws nothing
    train_out = nn.Dropout(0.25, mode="inverted")(x + 10.0).numpy()
    kept = train_out != 0
    np.testing.assert_allclose(train_out[kept], (x.numpy() + 10.0)[kept] / 0.75, rtol=1e-6)
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.Dropout(0.5, mode="scaled")
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        nn.Dropout(0.5, seed=-1)
