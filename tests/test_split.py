"""The device-split model (§3.2) equals the one-device model: outputs, gradients, an SGD step, weights."""
import numpy as np
import pytest

from tinyconv import backend
from tinyconv.functional.loss import softmax_cross_entropy
from tinyconv.models import (
    AlexNet,
    AlexNet28,
    AlexNetCIFAR,
    SplitAlexNet,
    SplitTwoTowerNet,
    merge_weights,
    split_weights,
)
from tinyconv.optim import SGD
from tinyconv.testing import assert_close

RTOL = 1e-10   # float64; the two models add the same products, only the grouping of the GEMMs differs


def _batch(model, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *model.input_shape)) * 50   # pixel scale, as after mean subtraction (§2)
    return x, rng.integers(0, model.num_classes, n)


def _step(model, x, labels, optimizer=None):
    """Forward, loss, backward (and an SGD step): the scores and each parameter's gradient on the host."""
    scores = model(backend.to_device(x, next(model.parameters()).device))
    model.zero_grad()
    softmax_cross_entropy(scores, backend.to_device(labels, scores.device)).backward()
    grads = {name: backend.to_numpy(p.grad) for name, p in model.named_parameters()}
    if optimizer is not None:
        optimizer.step()
    return scores.numpy(), grads


def assert_same_model(one, split, x, labels, sgd_steps=0):
    """Same scores and the same gradient for every parameter (split by the tower mapping), then the same
    weights after ``sgd_steps`` steps of §5 SGD (from the second step on, momentum takes part)."""
    opts = [SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4) if sgd_steps else None for m in (one, split)]
    for _ in range(max(sgd_steps, 1)):
        scores_one, grads_one = _step(one, x, labels, opts[0])
        scores_split, grads_split = _step(split, x, labels, opts[1])
        assert_close(scores_split, scores_one, RTOL, "scores")
        expected = split_weights(grads_one)
        assert set(grads_split) == set(expected)
        for name, grad in grads_split.items():
            assert_close(grad, expected[name], RTOL, f"gradient of {name}")
    if sgd_steps:
        expected = split_weights(one.state_dict())
        for name, value in split.state_dict().items():
            assert_close(value, expected[name], RTOL, f"{name} after SGD")
    return scores_one


@pytest.mark.parametrize("cls", [AlexNet28, AlexNetCIFAR])
def test_split_equals_one_device_model_eval_and_train(cls, device):
    one = cls(num_classes=10, seed=4, dtype="float64")
    split = SplitTwoTowerNet.from_model(one, (device, "cpu"))   # tower 0 and fc8 on `device`
    assert {str(p.device) for p in split.tower0.parameters()} == {str(backend.device(device))}
    assert {str(p.device) for p in split.tower1.parameters()} == {"cpu"}
    x, labels = _batch(one, 3)
    one.eval(), split.eval()
    scores_eval = assert_same_model(one, split, x, labels)
    one.train(), split.train()
    scores_train = assert_same_model(one, split, x, labels, sgd_steps=2)   # the same dropout masks
    assert not np.allclose(scores_train, scores_eval)                   # dropout did drop something
    assert int(split.tower0.drop6.calls) == int(split.tower1.drop6.calls) == int(one.drop6.calls) == 2


def test_split_alexnet_equals_alexnet_one_training_step(device):
    """Full AlexNet, float64, 2 images, 10 classes: train mode with shared dropout masks and one SGD step."""
    one = AlexNet(num_classes=10, seed=1, dtype="float64").to(device)
    split = SplitAlexNet.from_alexnet(one, (device, device))
    x, labels = _batch(one, 2)
    assert_same_model(one, split, x, labels, sgd_steps=1)


def test_weight_mapping_follows_figure_2():
    one = AlexNet28(dtype="float64")
    split = SplitTwoTowerNet.from_model(one, ("cpu", "cpu"))
    half = {"conv1": 16, "conv2": 32, "conv3": 48, "conv4": 48, "conv5": 32, "fc6": 512, "fc7": 512}
    for name, h in half.items():
        w = getattr(one, name).weight.data
        np.testing.assert_array_equal(getattr(split.tower0, name).weight.data, w[:h])
        np.testing.assert_array_equal(getattr(split.tower1, name).weight.data, w[h:])
    assert split.tower1.conv2.weight.shape == (32, 16, 5, 5)    # own tower only: 16 of conv1's 32 maps
    assert split.tower1.conv3.weight.shape == (48, 64, 3, 3)    # both towers: all 64 maps of conv2
    assert split.tower1.fc6.weight.shape == (512, 1024)          # both towers
    np.testing.assert_array_equal(split.fc8.weight.data, one.fc8.weight.data)   # whole, on device 0
    assert split.reads_both == {"conv3", "fc6", "fc7"}
    assert split.peer_access is False


def test_weight_conversion_round_trip():
    one = AlexNetCIFAR(seed=7)
    state = one.state_dict()
    back = merge_weights(split_weights(state))
    assert list(back) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)
    split = SplitTwoTowerNet.from_model(one, ("cpu", "cpu"))
    restored = split.to_alexnet()
    assert isinstance(restored, AlexNetCIFAR)
    for name, value in restored.state_dict().items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    bad = split.state_dict()
    bad["tower1.drop6.calls"] = bad["tower1.drop6.calls"] + 1
    with pytest.raises(ValueError, match="towers disagree on 'drop6.calls'"):
        merge_weights(bad)


def test_split_built_from_a_seed_equals_the_one_device_model_of_that_seed():
    split = SplitTwoTowerNet(AlexNet28, ("cpu", "cpu"), seed=5, bias_init=0.1, num_classes=3)
    expected = split_weights(AlexNet28(seed=5, bias_init=0.1, num_classes=3).state_dict())
    for name, value in split.state_dict().items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_bytes_between_devices_per_training_step():
    split = SplitTwoTowerNet(AlexNet28, ("cpu", "cpu"))
    # conv3 reads both towers' pool2 maps (64x7x7), fc6 and fc7 their inputs (1024, 1024), fc8 tower 1's 512
    per_image = 64 * 7 * 7 + 1024 + 1024 + 512
    assert split.values_between_devices() == per_image
    assert split.bytes_between_devices(128) == 2 * 128 * per_image * 4   # forward and backward, float32


@pytest.mark.parametrize("devices, error, pattern", [
    (("cpu",), ValueError, r"two towers \(§3.2\) and needs a pair of devices.*got \('cpu',\)"),
    (("cpu", "cpu", "cpu"), ValueError, "needs a pair of devices"),
    ("cpu", ValueError, "needs a pair of devices"),
    (("cpu", "gpu:0"), ValueError, r"tower 1: unknown device 'gpu:0'"),
    (("cuda:7", "cpu"), RuntimeError, r"SplitAlexNet tower 0: .*(does not exist|CuPy is not installed)"),
])
def test_bad_devices_are_refused(devices, error, pattern):
    with pytest.raises(error, match=pattern):
        SplitAlexNet(devices)


def test_split_refuses_wrong_input_and_wrong_source():
    split = SplitTwoTowerNet(AlexNet28, ("cpu", "cpu"))
    with pytest.raises(ValueError, match=r"AlexNet28 needs inputs of shape \(N, 1, 28, 28\)"):
        split(np.zeros((1, 3, 28, 28)))
    with pytest.raises(TypeError, match=r"keeps its towers on \('cpu', 'cpu'\).*from_model"):
        split.to("cpu")
    with pytest.raises(TypeError, match="source must be a AlexNet, got AlexNet28"):
        SplitAlexNet(("cpu", "cpu"), source=AlexNet28())
