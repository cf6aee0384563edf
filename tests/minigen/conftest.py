"""Fixtures shared by the minigen tests: one cache directory where mnist_fd's classifier is trained
once a session (about 15 s on one core), so every test that needs it finds it ready."""
import pytest

import autograd


@pytest.fixture(scope="session")
def trained_mnist_cache(tmp_path_factory):
    """A cache directory holding the parsed MNIST-5k table and the trained mnist_fd classifier."""
    from minigen import metrics
    folder = tmp_path_factory.mktemp("minigen-cache")
    with pytest.MonkeyPatch.context() as patch, autograd.use_backend("numpy"):
        patch.setenv("MINIGEN_CACHE", str(folder))
        metrics.feature_classifier("mnist")
    return folder


@pytest.fixture
def mnist_cache(trained_mnist_cache, monkeypatch):
    """MINIGEN_CACHE pointed at the session's cache, for one test."""
    monkeypatch.setenv("MINIGEN_CACHE", str(trained_mnist_cache))
    return trained_mnist_cache
