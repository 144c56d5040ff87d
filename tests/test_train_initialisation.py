"""--init: the paper's N(0, 0.01) (§5) or conv1 as the paper and He-scaled later layers."""
import numpy as np
import pytest

from tinyconv import Tensor, data, models, no_grad
from tinyconv.train import initialisation


def _logit_spread(model, images):
    """Mean over classes of the standard deviation of the logits across images (how much the image matters)."""
    model.eval()
    with no_grad():
        logits = model(Tensor(images)).data
    return float(logits.std(axis=0).mean())


def test_he_lets_the_image_reach_the_logits_of_a_narrow_net():
    train = data.fashion_mnist_mini(train=True)
    images, _ = data.gather(train, np.arange(64))
    x = (images - images.mean(0)).transpose(0, 3, 1, 2).astype(np.float32)   # raw pixels minus the mean (§2)
    paper = models.create("alexnet-28", 10, seed=0)
    scaled = models.create("alexnet-28", 10, seed=0)
    initialisation.he_hidden_layers(scaled, seed=0)
    assert _logit_spread(paper, x) < 1e-4          # N(0, 0.01) everywhere: every image gets the same output
    assert _logit_spread(scaled, x) > 1e-2
    np.testing.assert_array_equal(scaled.conv1.weight.data, paper.conv1.weight.data)  # conv1 stays §5
    np.testing.assert_array_equal(scaled.conv2.bias.data, paper.conv2.bias.data)      # biases stay §5
    for name in ("conv3", "fc6", "fc7"):
        w = getattr(scaled, name).weight.data
        assert w.std() == pytest.approx(np.sqrt(2 / np.prod(w.shape[1:])), rel=0.05), name
    np.testing.assert_array_equal(scaled.fc8.weight.data, paper.fc8.weight.data)      # the last layer stays §5


def test_he_is_seeded_and_auto_picks_by_model():
    a, b = models.create("alexnet-28", 10, seed=0), models.create("alexnet-28", 10, seed=0)
    initialisation.he_hidden_layers(a, seed=4)
    initialisation.he_hidden_layers(b, seed=4)
    np.testing.assert_array_equal(a.fc7.weight.data, b.fc7.weight.data)
    assert initialisation.resolve("auto", "alexnet") == "paper"
    assert initialisation.resolve("auto", "alexnet-28") == "he"
    assert initialisation.resolve("paper", "alexnet-28") == "paper"
    with pytest.raises(ValueError, match="--init must be one of auto, paper, he"):
        initialisation.resolve("xavier", "alexnet")
