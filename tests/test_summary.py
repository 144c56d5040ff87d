"""summary(): per-layer output shapes, parameters, multiply-adds, activation memory, bytes between devices."""
import numpy as np
import pytest

from tinyconv.models import AlexNet28, SplitTwoTowerNet, summary
from tinyconv.nn import Conv2d, Flatten, Linear, ReLU, Sequential


def test_summary_of_alexnet28_counts_each_layer(device):
    model = AlexNet28().to(device)
    table = summary(model, (16, 1, 28, 28))
    rows = {r.name: r for r in table.rows}
    assert [r.name for r in table.rows] == model.layer_names
    assert table.params == sum(p.size for p in model.parameters()) == 2_260_618
    assert rows["conv1"].shape == "(16, 32, 28, 28)" and rows["pool5"].shape == "(16, 64, 4, 4)"
    assert rows["conv1"].mult_adds == 16 * 32 * 28 * 28 * (1 * 5 * 5)
    assert rows["conv2"].mult_adds == 16 * 64 * 14 * 14 * (16 * 5 * 5)     # groups=2: 16 of 32 input maps
    assert rows["fc6"].mult_adds == 16 * 1024 * 1024 and rows["relu1"].mult_adds == 0
    assert rows["conv1"].activation_bytes == 16 * 32 * 28 * 28 * 4          # float32
    assert table.mult_adds == sum(r.mult_adds for r in table.rows) == 16 * 13_848_576
    assert table.bytes_between_devices == 0
    text = str(table)
    assert "AlexNet28, input (16, 1, 28, 28)" in text and "2,260,618" in text and "LocalResponseNorm" in text


def test_summary_of_split_model_reports_the_bytes_between_devices():
    one = AlexNet28()
    split = SplitTwoTowerNet.from_model(one, ("cpu", "cpu"))
    table, reference = summary(split, (8, 1, 28, 28)), summary(one, (8, 1, 28, 28))
    assert table.params == reference.params and table.mult_adds == reference.mult_adds
    assert table.activation_bytes == reference.activation_bytes
    assert table.bytes_between_devices == split.bytes_between_devices(8)
    crossing = {r.name for r in table.rows if r.crossing_bytes}
    assert crossing == {"conv3", "fc6", "fc7", "fc8"}                      # where the GPUs talk (§3.2)
    rows = {r.name: r for r in table.rows}
    assert rows["conv2"].shape == "2 x (8, 32, 14, 14)" and rows["conv2"].kind == "Conv2d x2"
    assert "between devices" in str(table)


def test_summary_leaves_the_model_as_it_was():
    model = AlexNet28()
    model.drop7.eval()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    summary(model, (1, 28, 28))
    assert model.training and model.drop6.training and not model.drop7.training
    for name, value in model.state_dict().items():   # weights and dropout counters untouched
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_summary_of_a_sequential():
    rng = np.random.default_rng(0)
    net = Sequential(Conv2d(3, 8, 3, padding=1, rng=rng), ReLU(), Flatten(), Linear(8 * 5 * 5, 2, rng=rng))
    table = summary(net, (3, 5, 5))
    assert [r.name for r in table.rows] == ["0", "1", "2", "3"]
    assert table.mult_adds == 8 * 25 * 27 + 2 * 200 and table.params == 8 * 27 + 8 + 2 * 200 + 2


@pytest.mark.parametrize("model, shape, error, pattern", [
    (AlexNet28(), (1, 28), ValueError, r"input_shape is \(C, H, W\) or \(N, C, H, W\)"),
    (AlexNet28(), (3, 28, 28), ValueError, r"AlexNet28 needs inputs of shape \(N, 1, 28, 28\)"),
    (Linear(2, 2), (1, 2, 2), TypeError, "summary needs a model with a walk"),
    (ReLU(), (1, 2, 2), ValueError, "ReLU has no parameters"),
])
def test_summary_bad_input(model, shape, error, pattern):
    with pytest.raises(error, match=pattern):
        summary(model, shape)

