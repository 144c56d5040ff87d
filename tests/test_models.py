"""AlexNet (§3.5, Figure 2) and the small family: layers, shapes, parameters, §5 initialisation, bad input."""
import numpy as np
import pytest

from tinyconv import backend
from tinyconv.models import AlexNet, AlexNet28, AlexNet64, AlexNetCIFAR, available_models, create, summary
from tinyconv.tensor import no_grad

ALEXNET_SHAPES = {   # Figure 2 / §3.5 for a 227x227 input
    "conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13),
    "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6),
    "flatten": (9216,), "fc6": (4096,), "fc7": (4096,), "fc8": (1000,),
}


@pytest.fixture(scope="module")
def alexnet():
    return AlexNet()


@pytest.fixture(scope="module")
def alexnet_walk(alexnet):
    """One 227x227 image through AlexNet in evaluation mode: (input, {layer: output array})."""
    x = (np.random.default_rng(0).standard_normal((1, 3, 227, 227)) * 50).astype(np.float32)
    alexnet.eval()
    with no_grad():
        outputs = {step.name: step.outputs[0].data for step in alexnet.walk(x)}
    alexnet.train()
    return x, outputs


def test_alexnet_shape_walk_227(alexnet_walk):
    _, outputs = alexnet_walk
    assert {name: outputs[name].shape[1:] for name in ALEXNET_SHAPES} == ALEXNET_SHAPES
    assert all(out.shape[0] == 1 for out in outputs.values())


def test_alexnet_forward_runs_the_layers_walk_runs(alexnet, alexnet_walk):
    """forward (Figure 2 written out) and walk (the layers in the order they were added) agree."""
    x, outputs = alexnet_walk
    alexnet.eval()
    with no_grad():
        scores = alexnet(x).data
    alexnet.train()
    np.testing.assert_array_equal(scores, outputs["fc8"])
    assert list(outputs) == alexnet.layer_names


def test_alexnet_has_exactly_60965224_parameters(alexnet):
    assert sum(p.size for p in alexnet.parameters()) == 60_965_224


def test_alexnet_layers_follow_the_paper(alexnet):
    m = alexnet
    shapes = {name: getattr(m, name).weight.shape for name in
              ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")}
    assert shapes == {"conv1": (96, 3, 11, 11), "conv2": (256, 48, 5, 5), "conv3": (384, 256, 3, 3),
                      "conv4": (384, 192, 3, 3), "conv5": (256, 192, 3, 3), "fc6": (4096, 9216),
                      "fc7": (4096, 4096), "fc8": (1000, 4096)}
    assert [m.conv1.stride, m.conv2.padding, m.conv3.padding] == [(4, 4), (2, 2), (1, 1)]
    assert [getattr(m, f"conv{i}").groups for i in range(1, 6)] == [1, 2, 1, 2, 2]   # towers (§3.2)
    assert m.norm1.groups == m.norm2.groups == 2                                      # LRN within a tower
    assert (m.norm1.size, m.norm1.alpha, m.norm1.beta, m.norm1.k) == (5, 1e-4, 0.75, 2.0)   # §3.3
    assert all((p.kernel_size, p.stride) == ((3, 3), (2, 2)) for p in (m.pool1, m.pool2, m.pool5))  # §3.4
    assert m.layer_names[:4] == ["conv1", "relu1", "norm1", "pool1"]                  # §3.5 order
    assert m.layer_names[m.layer_names.index("fc6"):] == ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]
    assert (m.drop6.p, m.drop6.mode) == (0.5, "paper") and m.drop6.seed != m.drop7.seed


def test_alexnet_initialisation_section5(alexnet):
    ones = {"conv2", "conv4", "conv5", "fc6", "fc7"}   # §5: biases 1 here, 0 elsewhere
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        layer = getattr(alexnet, name)
        w = layer.weight.data
        assert abs(w.std(dtype=np.float64) / 0.01 - 1) < 0.02, name     # N(0, 0.01): >= 34,848 samples each
        assert abs(w.mean(dtype=np.float64)) < 5 * 0.01 / np.sqrt(w.size), name
        np.testing.assert_array_equal(layer.bias.data, 1.0 if name in ones else 0.0, err_msg=name)


def test_alexnet_matches_pytorch_layer_by_layer(alexnet, alexnet_walk):
    """The same weights in a PyTorch AlexNet written out by hand give the same maps and scores."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TowerLRN(tnn.Module):   # LRN within each tower; PyTorch's alpha is the paper's times n
        def forward(self, x):
            return torch.cat([tnn.functional.local_response_norm(h, 5, 5e-4, 0.75, 2.0) for h in x.chunk(2, 1)], 1)

    features = tnn.Sequential(
        tnn.Conv2d(3, 96, 11, 4), tnn.ReLU(), TowerLRN(), tnn.MaxPool2d(3, 2),
        tnn.Conv2d(96, 256, 5, padding=2, groups=2), tnn.ReLU(), TowerLRN(), tnn.MaxPool2d(3, 2),
        tnn.Conv2d(256, 384, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 384, 3, padding=1, groups=2), tnn.ReLU(),
        tnn.Conv2d(384, 256, 3, padding=1, groups=2), tnn.ReLU(), tnn.MaxPool2d(3, 2), tnn.Flatten())
    classifier = tnn.Sequential(tnn.Linear(9216, 4096), tnn.ReLU(), tnn.Linear(4096, 4096), tnn.ReLU(),
                                tnn.Linear(4096, 1000))
    ours = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    theirs = [m for m in (*features, *classifier) if hasattr(m, "weight")]
    scale = {"fc7": 0.5, "fc8": 0.5}   # paper-mode dropout halves fc6/fc7 outputs at test time (§4.2)
    with torch.no_grad():
        for name, layer in zip(ours, theirs):
            layer.weight.copy_(torch.from_numpy(getattr(alexnet, name).weight.data * scale.get(name, 1.0)))
            layer.bias.copy_(torch.from_numpy(getattr(alexnet, name).bias.data))
        x, outputs = alexnet_walk
        flat = features(torch.from_numpy(x))
        scores = classifier(flat)
    np.testing.assert_allclose(outputs["flatten"], flat.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outputs["fc8"], scores.numpy(), rtol=1e-4, atol=1e-6)


def test_alexnet_summary_totals(alexnet):
    table = summary(alexnet, (3, 227, 227))
    assert table.params == 60_965_224
    conv1 = next(r for r in table.rows if r.name == "conv1")
    assert conv1.mult_adds == 55 * 55 * 96 * 11 * 11 * 3
    assert "60,965,224" in str(table)


def test_alexnet_wrong_input_size_says_which_it_accepts(alexnet):
    x = np.zeros((1, 3, 224, 224), dtype=np.float32)
    with pytest.raises(ValueError, match=r"AlexNet needs inputs of shape \(N, 3, 227, 227\).*224.*padding 2"):
        alexnet(x)


FAMILY = [   # class, input (C, H, W), some layers' output shapes
    (AlexNet28, (1, 28, 28), {"conv1": (32, 28, 28), "pool1": (32, 14, 14), "pool2": (64, 7, 7),
                              "conv3": (96, 7, 7), "pool5": (64, 4, 4)}),
    (AlexNetCIFAR, (3, 32, 32), {"conv1": (48, 32, 32), "pool1": (48, 16, 16), "pool2": (96, 8, 8),
                                 "conv4": (144, 8, 8), "pool5": (96, 4, 4)}),
    (AlexNet64, (3, 64, 64), {"conv1": (64, 32, 32), "pool1": (64, 16, 16), "pool2": (128, 8, 8),
                              "conv5": (128, 8, 8), "pool5": (128, 4, 4)}),
]


@pytest.mark.parametrize("cls, image, shapes", FAMILY, ids=[f[0].__name__ for f in FAMILY])
def test_small_family_shapes_and_parameter_counts(cls, image, shapes, device):
    model = cls(num_classes=7).to(device)
    x = backend.to_device(np.ones((2, *image), dtype=np.float32), device)
    outputs = {step.name: step.outputs[0] for step in model.walk(x)}
    assert {name: outputs[name].shape[1:] for name in shapes} == shapes
    assert outputs["fc8"].shape == (2, 7) and outputs["fc8"].device == backend.device(device)
    assert model.input_shape == image
    convs = [getattr(model, f"conv{i}") for i in range(1, 6)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2] and model.norm1.groups == model.norm2.groups == 2
    expected = sum(c.out_channels * (c.in_channels // c.groups * 25 if i < 2 else c.in_channels // c.groups * 9)
                   + c.out_channels for i, c in enumerate(convs))
    expected += sum(fc.in_features * fc.out_features + fc.out_features for fc in (model.fc6, model.fc7, model.fc8))
    assert sum(p.size for p in model.parameters()) == expected == summary(model, image).params


def test_alexnet28_parameter_count():
    # conv 1*25*32+32, 32*25*32+64, 64*9*96+96, 48*9*96+96, 48*9*64+64;
    # fc 1024*1024+1024 (64x4x4 maps), 1024*1024+1024, 1024*10+10
    assert sum(p.size for p in AlexNet28().parameters()) == 2_260_618


def test_bias_init_option_and_seeds():
    a, b, c = AlexNet28(bias_init=0.1, seed=1), AlexNet28(bias_init=0.1, seed=1), AlexNet28(seed=2)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        expected = 0.1 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0
        np.testing.assert_allclose(getattr(a, name).bias.data, expected, err_msg=name)
    np.testing.assert_array_equal(a.conv3.weight.data, b.conv3.weight.data)
    assert not np.array_equal(a.conv3.weight.data, c.conv3.weight.data)
    assert AlexNet28(dtype="float64").fc6.weight.dtype == np.float64


@pytest.mark.parametrize("shape, pattern", [
    ((2, 3, 28, 28), r"AlexNet28 needs inputs of shape \(N, 1, 28, 28\).*got shape \(2, 3, 28, 28\)"),
    ((2, 1, 32, 32), r"AlexNet28 needs .*1x28x28.*got shape \(2, 1, 32, 32\)"),
    ((1, 28, 28), r"AlexNet28 needs inputs of shape \(N, 1, 28, 28\).*got shape \(1, 28, 28\)"),
])
def test_wrong_input_is_refused_with_the_shape_needed(shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        AlexNet28()(np.zeros(shape, dtype=np.float32))


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        AlexNet28(num_classes=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        AlexNet28(dropout_mode="sometimes")
    with pytest.raises(TypeError, match="bias_init is a number"):
        AlexNet28(bias_init="one")


def test_registry_creates_models_by_name():
    assert {"alexnet", "alexnet-split", "alexnet-28", "alexnet-cifar", "alexnet-64"} <= set(available_models())
    model = create("alexnet-cifar", 4, seed=3, bias_init=0.1)
    assert isinstance(model, AlexNetCIFAR) and model.fc8.out_features == 4
    np.testing.assert_array_equal(model.conv1.weight.data, AlexNetCIFAR(seed=3).conv1.weight.data)
    with pytest.raises(ValueError, match="unknown model 'resnet'; available: alexnet, alexnet-split"):
        create("resnet", 10)


@pytest.mark.parametrize("lrn, pool_size", [(True, 3), (False, 3), (True, 2)])
def test_convnet_cifar_matches_pytorch_written_out_by_hand(lrn, pool_size):
    """The §3.3 net, with or without LRN, 3x3 or 2x2 pooling, computes what the same layers do in PyTorch."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    model = create("convnet-cifar", 10, lrn=lrn, pool_size=pool_size, seed=1, bias_init=0.5)
    pool = lambda: tnn.MaxPool2d(pool_size, 2, padding=(pool_size - 1) // 2)                  # noqa: E731
    norm = lambda: tnn.LocalResponseNorm(5, 5e-4, 0.75, 2.0) if lrn else tnn.Identity()      # alpha * n (§3.3)
    twin = tnn.Sequential(tnn.Conv2d(3, 64, 5, padding=2), tnn.ReLU(), pool(), norm(),
                          tnn.Conv2d(64, 64, 5, padding=2), tnn.ReLU(), norm(), pool(), tnn.Flatten(),
                          tnn.Linear(4096, 384), tnn.ReLU(), tnn.Linear(384, 192), tnn.ReLU(), tnn.Linear(192, 10))
    theirs = [m for m in twin if hasattr(m, "weight")]
    with torch.no_grad():
        for (_, layer), mirror in zip(model.weighted_layers(), theirs):
            mirror.weight.copy_(torch.from_numpy(layer.weight.data))
            mirror.bias.copy_(torch.from_numpy(layer.bias.data))
        x = (np.random.default_rng(0).standard_normal((2, 3, 32, 32)) * 60).astype(np.float32)
        expected = twin(torch.from_numpy(x)).numpy()
    with no_grad():
        np.testing.assert_allclose(model(x).data, expected, rtol=1e-4, atol=1e-5)
    assert float(model.conv2.bias.data[0]) == 0.5 and float(model.conv1.bias.data[0]) == 0.0
    assert ("norm1" in model.layer_names) == lrn


def test_four_layer_net_shapes_and_fan_in_initialisation():
    relu, tanh = (create("fourlayer-cifar", 10, activation=a, seed=2) for a in ("relu", "tanh"))
    assert [name for name, _ in relu.weighted_layers()] == ["conv1", "conv2", "conv3", "fc4"]
    assert sum(p.size for p in relu.parameters()) == 89_578
    for net, gain in ((relu, 2.0), (tanh, 1.0)):          # He for ReLU, LeCun for tanh (§3.1 test)
        stds = {name: float(layer.weight.data.std()) for name, layer in net.weighted_layers()}
        assert stds["conv2"] == pytest.approx(np.sqrt(gain / 800), rel=0.05)
        assert stds["fc4"] == pytest.approx(np.sqrt(1 / 1024), rel=0.05)          # output layer: gain 1
        assert stds["conv1"] == pytest.approx(np.sqrt(gain / 75), rel=0.1)        # after the input's scaling
    x = (np.random.default_rng(0).standard_normal((2, 3, 32, 32)) * 64).astype(np.float32)
    with no_grad():
        steps = {s.name: s.outputs[0].data for s in tanh.walk(x)}
    assert 0.9 < steps["scale"].std() < 1.1                                       # pixels of spread 64 -> 1
    assert steps["pool3"].shape == (2, 64, 4, 4) and steps["fc4"].shape == (2, 10)
    assert np.abs(steps["act1"]).max() < 1 and 0.1 < steps["act1"].std() < 0.9   # tanh starts unsaturated
    with pytest.raises(ValueError, match="activation must be one of relu, tanh"):
        create("fourlayer-cifar", 10, activation="sigmoid")


def test_registry_refuses_options_a_model_does_not_take():
    with pytest.raises(ValueError, match="model 'fourlayer-cifar' takes no option dropout; its options: activation"):
        create("fourlayer-cifar", 10, dropout=0.5)
    with pytest.raises(ValueError, match="pool_size is 3 .* or 2"):
        create("convnet-cifar", 10, pool_size=4)
