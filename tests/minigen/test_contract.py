"""The one contract every generative family keeps: fit -> self, sample(n, seed), likelihood_kind,
log_prob, score, save / load, Defaults, and the same checks of bad data and bad counts.

Each family appears once in FAMILIES with a tiny configuration and a fit of a few updates: the
contract is about the interface, not about quality (each family's own tests check that).
"""
import dataclasses

import numpy as np
import pytest

import minigen.models as models
from minigen import data
from minigen.models import GenerativeModel
from minigen.models.base import LIKELIHOOD_KINDS


def _digits():
    return data.load_digits("train", binarize=True)[:120]


def _ring():
    return data.toy_2d("8gaussians", 120, seed=0)


def _frames():
    t = np.arange(40)[:, None]
    return (np.sin(0.3 * t + np.arange(6)) + 0.1 * np.random.default_rng(0).standard_normal((40, 6))).astype(np.float32)


def _bayes_net_samples():
    return models.BayesNet.slide_example().sample(200, seed=0)


FAMILIES = {
    # name: (build, training data, fit settings)
    "VAE": (lambda: models.VAE(64, 2, hidden=(8,)), _digits, {"epochs": 1, "progress": False}),
    "Autoencoder": (lambda: models.Autoencoder(64, hidden=(8,), n_latent=2), _digits, {"epochs": 1, "progress": False}),
    "DenoisingAutoencoder": (lambda: models.DenoisingAutoencoder(64, hidden=(8,), n_latent=2), _digits,
                             {"epochs": 1, "progress": False}),
    "RBM": (lambda: models.RBM(64, 4), _digits, {"epochs": 1, "progress": False}),
    "DBN": (lambda: models.DBN([64, 6, 4]), _digits, {"epochs": 1, "progress": False}),
    "GAN": (lambda: models.GAN(2, latent_dim=2, hidden=(8,)), _ring, {"steps": 2, "progress": False}),
    "DDPM": (lambda: models.DDPM((64,), T=10), _digits, {"steps": 2, "progress": False}),  # its bound: grid data
    "NCSN": (lambda: models.NCSN((2,)), _ring, {"steps": 2, "progress": False}),
    "RealNVP": (lambda: models.RealNVP(2, n_layers=2, hidden=(8,)), _ring, {"steps": 2, "progress": False}),
    "EnergyModel": (lambda: models.EnergyModel(2, hidden=(8,), sample_steps=20), _ring,
                    {"steps": 2, "batch_size": 32, "langevin_steps": 5, "buffer_size": 100, "progress": False}),
    "MADE": (lambda: models.MADE(64, hidden=(16,), n_masks=1), _digits, {"epochs": 1, "progress": False}),
    "MixtureOfBernoullis": (lambda: models.MixtureOfBernoullis(3, n_input=64), _digits, {"epochs": 2, "progress": False}),
    "PixelTransformer": (lambda: models.PixelTransformer(64, n_layer=1, n_head=2, n_embd=8), _digits,
                         {"epochs": 1, "progress": False}),
    "LinearDynamicalSystem": (lambda: models.LinearDynamicalSystem(2, n_pixels=6), _frames, {}),
    "BayesNet": (models.BayesNet.slide_example, _bayes_net_samples, {}),
    "ProgressiveGAN": (lambda: models.ProgressiveGAN(64, latent_dim=4, channels=4), _digits, {"steps": 3, "progress": False}),
    "NoisyMixture": (lambda: models.NoisyMixture(models.MixtureOfBernoullis(3, n_input=64)), _digits,
                     {"epochs": 2, "progress": False}),
    "Memorizer": (lambda: models.Memorizer(64), _digits, {}),
    "LatentDiffusion": (lambda: models.LatentDiffusion(models.Autoencoder(64, hidden=(8,), n_latent=2),
                                                       models.DDPM((2,), T=10)), _digits, {"steps": 2, "progress": False}),
}


def fitted(name):
    build, training_data, settings = FAMILIES[name]
    X = training_data()
    return build().fit(X, **settings), X


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    model, X = fitted(request.param)
    return request.param, model, X


def test_every_generative_class_is_in_the_table():
    discriminative = {"LogisticRegression", "GaussianNaiveBayes", "CharTransformer"}   # checked elsewhere
    defined = {name for name, cls in GenerativeModel.by_name.items() if cls.__module__.startswith("minigen.models")}
    assert defined - discriminative <= set(FAMILIES)


def test_fit_returns_the_model_and_the_class_states_its_likelihood_and_defaults(family):
    name, model, _ = family
    assert isinstance(model, GenerativeModel) and type(model).__name__ == name
    assert model.likelihood_kind in (*LIKELIHOOD_KINDS, None)
    assert dataclasses.is_dataclass(type(model).Defaults)


def test_score_is_the_mean_log_prob_or_log_prob_says_there_is_none(family):
    name, model, X = family
    if model.likelihood_kind is None:
        with pytest.raises(NotImplementedError, match=name):
            model.log_prob(X[:5])
        return
    log_p = model.log_prob(X[:20])
    assert log_p.shape == (20,) and np.all(np.isfinite(log_p))
    assert model.score(X[:20]) == pytest.approx(float(np.mean(model.log_prob(X[:20]))), rel=1e-6)


def test_save_then_load_gives_identical_samples(family, tmp_path):
    name, model, _ = family
    path = tmp_path / "model.npz"
    model.save(path)
    for loader in (type(model).load, models.load):
        twin = loader(path)
        assert type(twin) is type(model)
        np.testing.assert_array_equal(np.asarray(twin.sample(7, seed=3)), np.asarray(model.sample(7, seed=3)))


def test_load_through_the_wrong_family_is_refused(family, tmp_path):
    name, model, _ = family
    model.save(tmp_path / "model.npz")
    other = models.VAE if name != "VAE" else models.RBM
    with pytest.raises(ValueError, match=f"holds a {name} model"):
        other.load(tmp_path / "model.npz")


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (0, ValueError), (2.5, TypeError), ("3", TypeError),
                                        (True, TypeError)])
def test_sample_refuses_counts_that_are_not_positive_integers(family, bad, error):
    name, model, _ = family
    with pytest.raises(error, match=f"{name}.sample"):
        model.sample(bad)


def test_fit_refuses_empty_non_finite_and_wrongly_shaped_data(family):
    name, model, X = family
    build, _, settings = FAMILIES[name]
    bad_inputs = {"no rows": X[:0], "NaN": np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X),
                  "wrong width": np.zeros((5, X.shape[1] + 1)), "text": [["a", "b"]]}
    for problem, bad in bad_inputs.items():
        with pytest.raises((ValueError, TypeError), match=name):
            build().fit(bad, **settings)


def test_bernoulli_families_refuse_real_valued_data(family):
    name, model, X = family
    if not model.binary:
        return
    real = X * 0.5 + 0.25
    build, _, settings = FAMILIES[name]
    with pytest.raises(ValueError, match=f"{name}.*binary"):
        build().fit(real, **settings)
    if model.likelihood_kind is not None:
        with pytest.raises(ValueError, match=f"{name}.*binary"):
            model.log_prob(real)
