"""benchmarks/dezero_mirror.py: the DeZero twin of the benchmark's CIFAR-10 net without LRN computes what
tinyconv's net computes, with the same weights, and its training step moves the weights as tinyconv's does."""
import numpy as np
import pytest

pytest.importorskip("torch", reason="the benchmark's nets and twins (benchmarks/torch_mirror.py) import PyTorch")

from benchmarks import dezero_mirror  # noqa: E402
from benchmarks.cpu_train_step import NETS  # noqa: E402
from benchmarks.training_step import make_batch, tinyconv_outputs, tinyconv_runner  # noqa: E402
from tinyconv import nn  # noqa: E402

try:
    dezero_mirror.import_dezero()
    WHY_NOT = None
except ImportError as exc:
    WHY_NOT = str(exc)


def test_nets_with_layers_dezero_lacks_have_no_twin():
    for model, missing in ((NETS["cifar10"][0](), "local response normalization"),
                           (nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)), "grouped convolution"),
                           (nn.Sequential(nn.MaxPool2d(3, 2, padding=1)), "pads max pooling with zeros"),
                           (nn.Sequential(nn.Dropout(0.5)), "no DeZero twin for layer Dropout")):
        assert missing in dezero_mirror.missing_layer(model)
        with pytest.raises(TypeError, match=missing):
            dezero_mirror.to_dezero(model)
    assert dezero_mirror.missing_layer(NETS["cifar10-nolrn"][0]()) is None


@pytest.mark.skipif(WHY_NOT is not None, reason=f"DeZero is optional: {WHY_NOT}")
def test_dezero_twin_agrees_with_tinyconv_forward_and_after_a_step():
    build, image = NETS["cifar10-nolrn"]
    model = build()
    x, labels = make_batch(image, 8)
    twin = dezero_mirror.to_dezero(model)
    ours, theirs = tinyconv_outputs(model, x), dezero_mirror.dezero_outputs(twin, x)
    assert ours.shape == theirs.shape == (8, 10) and np.abs(ours).max() > 0
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5 * np.abs(ours).max())
    dezero_mirror.check_agreement(model, twin, x)

    for step in (tinyconv_runner(model, x, labels)[1], dezero_mirror.dezero_runner(twin, x, labels)[1]):
        step()                              # two §5 steps each (the second one with momentum 0.9)
        step()
    after = tinyconv_outputs(model, x)
    assert np.abs(after - ours).max() > 1e-3 * np.abs(ours).max()        # the step changed the net
    np.testing.assert_allclose(dezero_mirror.dezero_outputs(twin, x), after, rtol=1e-3,
                               atol=1e-4 * np.abs(after).max())

    model[0].weight.data[0, 0, 0, 0] += 1.0                           # a different net: the check must notice
    with pytest.raises(AssertionError, match="tinyconv and DeZero disagree"):
        dezero_mirror.check_agreement(model, twin, x)
