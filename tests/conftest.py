"""Shared test setup: Hypothesis profiles, float64 defaults, the gpu marker's skip."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import autograd

settings.register_profile("default", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def cuda_available():
    return autograd.backend.cupy_or_none() is not None


def pytest_collection_modifyitems(config, items):
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seeded_and_numpy_backend():
    """Every test starts on the numpy backend with seed 0, and leaves it that way."""
    autograd.set_backend("numpy")
    autograd.manual_seed(0)
    yield
    autograd.set_backend("numpy")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
