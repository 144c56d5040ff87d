"""Shared fixtures: every test body runs on the CPU, and on CUDA where CuPy and a GPU exist.

Tests that take the ``device`` fixture run once per device; the CUDA run carries the
``gpu`` mark, so `pytest -m gpu` on a GPU machine runs exactly those, and on a machine
without one they are skipped with the reason.
"""
import numpy as np
import pytest

from tinyconv import backend

DEVICES = [
    "cpu",
    pytest.param("cuda:0", marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a CUDA GPU"),
    ]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """A device name: "cpu", and "cuda:0" where one exists."""
    return request.param


@pytest.fixture
def xp(device):
    """The array module of ``device``."""
    return backend.device(device).xp


@pytest.fixture
def rng():
    return np.random.default_rng(0)
