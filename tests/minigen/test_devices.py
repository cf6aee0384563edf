"""The model families on the active backend's device: host (NumPy) inputs are accepted where the
models' networks live on the device, and samples and metrics come back as NumPy arrays.

Each test is parametrized over "cpu" and "cuda" as tests/autograd/test_gpu.py is: the cuda case
carries the gpu marker and skips itself without CuPy and a GPU (tests/conftest.py).
"""
import numpy as np
import pytest

import autograd
from minigen import metrics
from minigen.data import load_digits
from minigen.models import DBN, DDPM, NCSN, RBM

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def backend_for(device):
    return "cupy" if device == "cuda" else "numpy"


@pytest.mark.parametrize("device", DEVICES)
def test_diffusion_and_score_models_take_host_batches(device):
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    with autograd.use_backend(backend_for(device)):
        ddpm, ncsn = DDPM((2,), T=10, seed=0), NCSN((2,), seed=0)
        assert np.isfinite(ddpm.loss(x).item()) and np.isfinite(ncsn.loss(x).item())
        eps, score = ddpm.predict_eps(x, np.arange(8)), ncsn.score(x, 0)
    assert type(eps) is np.ndarray and eps.shape == (8, 2)
    assert type(score) is np.ndarray and score.shape == (8, 2)


@pytest.mark.parametrize("device", DEVICES)
def test_rbm_and_dbn_samples_are_numpy_arrays(device):
    with autograd.use_backend(backend_for(device)):
        samples = [RBM(6, 3, seed=0).sample(4, steps=2, seed=0),
                   DBN([6, 4, 3]).sample(4, gibbs_steps=2, seed=0),
                   DBN([6, 4, 3]).sample(4, gibbs_steps=2, seed=0, probabilities=True)]
    assert all(type(s) is np.ndarray and s.shape == (4, 6) for s in samples)


@pytest.mark.parametrize("device", DEVICES)
def test_digits_features_of_host_images(device, tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGEN_CACHE", str(tmp_path))
    settings = {**metrics.DIGITS_CLASSIFIER, "epochs": 1}
    with autograd.use_backend(backend_for(device)):
        features = metrics.digits_features(load_digits("test")[:5], settings)
        accuracy = metrics.classifier_accuracy(settings)
    assert type(features) is np.ndarray and features.shape == (5, 64)
    assert 0 <= accuracy <= 1


@pytest.mark.parametrize("device", DEVICES)
def test_rbm_and_dbn_answers_are_numpy_arrays(device):
    X = (np.random.default_rng(0).random((5, 6)) < 0.5).astype(np.float32)
    with autograd.use_backend(backend_for(device)):
        rbm, dbn = RBM(6, 3, seed=0), DBN([6, 4, 3])
        answers = {"gibbs": rbm.gibbs(X, steps=2, seed=0), "log_prob": rbm.log_prob(X),
                   "pseudo_log_likelihood": rbm.pseudo_log_likelihood(X),
                   "hidden_probabilities": rbm.hidden_probabilities(X),
                   "log_prob_bound": dbn.log_prob_bound(X, method="exact", n_samples=3)}
    for name, answer in answers.items():
        assert type(answer) is np.ndarray and len(answer) == 5, name
    assert np.all(answers["log_prob_bound"] <= 0) and np.all(answers["log_prob"] <= 0)
