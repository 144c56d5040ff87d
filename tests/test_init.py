"""§5 initialisation: N(0, 0.01) weights and constant biases, seeded, keeping dtype and device."""
import numpy as np
import pytest

from tinyconv import backend, init
from tinyconv.nn import Parameter


def test_normal_statistics_on_a_large_tensor():
    p = Parameter(np.zeros((1000, 1000), np.float32))
    assert init.normal_(p, 0.01, np.random.default_rng(0)) is p
    values = p.numpy().astype(np.float64)
    assert abs(values.mean()) < 5 * 0.01 / 1000         # five standard errors of the mean
    assert values.std() == pytest.approx(0.01, rel=0.01)
    assert np.mean(np.abs(values) < 0.01) == pytest.approx(0.6827, abs=0.005)  # Gaussian, not uniform
    wide = init.normal_(Parameter(np.zeros(10000)), 0.5, np.random.default_rng(1))
    assert wide.numpy().std() == pytest.approx(0.5, rel=0.05)


def test_normal_is_seeded_and_keeps_dtype_and_device(device):
    a = Parameter(backend.to_device(np.zeros((4, 5), np.float32), device))
    b = Parameter(backend.to_device(np.zeros((4, 5), np.float32), device))
    c = Parameter(backend.to_device(np.zeros((4, 5), np.float64), device))
    data = a.data
    init.normal_(a, 0.01, np.random.default_rng(3))
    init.normal_(b, 0.01, np.random.default_rng(3))
    init.normal_(c, 0.01, np.random.default_rng(4))
    assert a.data is data and a.dtype == np.float32 and str(a.device) == device
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())
    assert c.dtype == np.float64


def test_default_generator_follows_manual_seed():
    p, q = Parameter(np.zeros(6)), Parameter(np.zeros(6))
    init.manual_seed(7)
    init.normal_(p)
    init.manual_seed(7)
    init.normal_(q)
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    init.normal_(q)                                   # the generator moved on
    assert not np.array_equal(p.numpy(), q.numpy())


def test_constant(device):
    p = Parameter(backend.to_device(np.zeros(3, np.float32), device))
    init.constant_(p, 1.0)                            # AlexNet's ReLU-layer biases (§5)
    np.testing.assert_array_equal(p.numpy(), [1.0, 1.0, 1.0])
    assert p.dtype == np.float32 and str(p.device) == device


def test_bad_arguments():
    with pytest.raises(TypeError, match="floating-point"):
        init.constant_(Parameter(np.zeros(2, np.int64)), 1)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        init.normal_(Parameter(np.zeros(2)), 0.01, rng=0)
    with pytest.raises(ValueError, match="std"):
        init.normal_(Parameter(np.zeros(2)), -1.0)
