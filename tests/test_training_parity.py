"""Training, not just one pass, agrees with PyTorch: several §5 SGD steps of a whole AlexNet-family net.

The per-op parity tests check one forward and backward. These run ten steps of real training
(alexnet-28 on real Fashion-MNIST images, momentum and weight decay, the same batches) in
tinyconv and in its PyTorch twin (:mod:`benchmarks.torch_mirror`), float64, and compare every
weight after every step. A fault that shows only across steps (a scratch buffer reused while
still needed, momentum or weight decay applied twice, a gradient left to accumulate) fails here.

PyTorch writes the update as v <- m v + g + wd w, w <- w - lr v; §5 as v <- m v - wd lr w - lr g,
w <- w + v. With a constant learning rate the two give the same weights (v differs by -lr).
"""
import numpy as np
import pytest

from tinyconv import data, models, optim
from tinyconv.functional.loss import softmax_cross_entropy
from tinyconv.tensor import Tensor
from tinyconv.train import initialisation

torch = pytest.importorskip("torch")
torch_mirror = pytest.importorskip("benchmarks.torch_mirror")

STEPS, BATCH = 10, 16


def real_batches():
    """STEPS batches of BATCH embedded Fashion-MNIST images, minus their mean, float64 NCHW."""
    train = data.fashion_mnist_mini(train=True)
    images = np.stack([train[i][0] for i in range(STEPS * BATCH)]).astype(np.float64)  # (N, 28, 28, 1)
    images = images.transpose(0, 3, 1, 2) - images.mean()
    labels = np.asarray(train.labels[:STEPS * BATCH], dtype=np.int64)
    return [(images[i:i + BATCH], labels[i:i + BATCH]) for i in range(0, STEPS * BATCH, BATCH)]


@pytest.mark.parametrize("init", ["paper", "he"])
def test_ten_sgd_steps_of_alexnet28_give_pytorchs_weights(init):
    net = models.create("alexnet-28", 10, seed=3, dtype=np.float64, dropout=0.0, dropout_mode="inverted")
    if init == "he":
        initialisation.he_hidden_layers(net, 3)
    twin = torch_mirror.to_torch(net).double()
    ours = optim.SGD(net.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    theirs = torch.optim.SGD(twin.parameters(), lr=0.002, momentum=0.9, weight_decay=5e-4)
    net.train()
    twin.train()
    start = {name: p.data.copy() for name, p in net.named_parameters()}
    for step, (x, y) in enumerate(real_batches()):
        loss = softmax_cross_entropy(net(Tensor(x)), y)
        ours.zero_grad()
        loss.backward()
        ours.step()
        twin_loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))
        theirs.zero_grad()
        twin_loss.backward()
        theirs.step()
        assert float(loss.data) == pytest.approx(twin_loss.item(), rel=1e-10), f"loss differs at step {step}"
        for (name, mine), theirs_param in zip(net.named_parameters(), twin.parameters()):
            np.testing.assert_allclose(mine.data, theirs_param.detach().numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name} differs after step {step}")
    for name, p in net.named_parameters():   # not two nets that agree because they did not move (atol 1e-12)
        assert np.abs(p.data - start[name]).max() > 1e-8, f"{name} did not move in ten steps: nothing was compared"
