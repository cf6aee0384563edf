"""LatentDiffusion keeps its two parts as a JSON-able config ({"class", "config"} per part), rebuilds
them from it, and so saves and loads like any model; a part that is not a minigen model cannot be saved."""
import json

import numpy as np
import pytest

from minigen.data import load_digits
from minigen.models import DDPM, VAE, Autoencoder, LatentDiffusion, load


@pytest.fixture(scope="module")
def fitted_vae_latent_diffusion():
    X = load_digits("train", binarize=True)[:200]
    model = LatentDiffusion(VAE(64, 3, hidden=(8,)), DDPM((3,), T=10))
    return model.fit(X, steps=3, progress=False, autoencoder_kwargs={"epochs": 2})


def test_config_is_json_and_rebuilds_both_parts():
    model = LatentDiffusion(VAE(64, 3, hidden=(8,), seed=2), DDPM((3,), T=10))
    assert json.loads(json.dumps(model.config)) == model.config
    assert model.config["autoencoder"] == {"class": "VAE", "config": VAE(64, 3, hidden=(8,), seed=2).config}
    assert model.config["ddpm"]["class"] == "DDPM"
    twin = LatentDiffusion(**model.config)
    assert type(twin.autoencoder) is VAE and type(twin.ddpm) is DDPM
    for (name, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_fit_keeps_both_histories_and_a_saved_model_samples_the_same(fitted_vae_latent_diffusion, tmp_path):
    model = fitted_vae_latent_diffusion
    assert {"autoencoder_loss", "autoencoder_kl", "ddpm_loss"} <= set(model.history)
    assert not np.allclose(model.latent_std, 1.0)                     # (2) was fitted
    model.save(tmp_path / "latent.npz")
    twin = load(tmp_path / "latent.npz")
    np.testing.assert_array_equal(twin.latent_mean, model.latent_mean)
    np.testing.assert_array_equal(twin.sample(5, seed=1), model.sample(5, seed=1))
    assert twin.sample(5, seed=1).shape == (5, 64)


def test_a_part_that_is_not_a_minigen_model_works_but_cannot_be_saved(tmp_path):
    class Halves:
        def encode(self, X):
            return np.asarray(X)[:, :2]

        def decode(self, Z):
            return np.repeat(np.asarray(Z), 2, axis=1)

    X = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    model = LatentDiffusion(Halves(), DDPM((2,), T=5)).fit(X, steps=2, progress=False)
    assert model.config["autoencoder"] is None and model.sample(3, seed=0).shape == (3, 4)
    with pytest.raises(TypeError, match="LatentDiffusion.save.*Halves"):
        model.save(tmp_path / "latent.npz")


def test_bad_parts_are_named():
    with pytest.raises(ValueError, match="LatentDiffusion: the autoencoder"):
        LatentDiffusion({"class": "NoSuchModel", "config": {}}, DDPM((2,), T=5))
    with pytest.raises(ValueError, match="LatentDiffusion: the ddpm"):
        LatentDiffusion(Autoencoder(4, n_latent=2), {"class": "DDPM"})
    with pytest.raises(ValueError, match="LatentDiffusion.fit.*codes of shape"):
        LatentDiffusion(Autoencoder(4, n_latent=2), DDPM((3,), T=5)).fit(np.zeros((8, 4)), steps=1,
                                                                        progress=False,
                                                                        autoencoder_kwargs={"epochs": 1})
