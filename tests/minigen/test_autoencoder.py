"""Autoencoders and denoising autoencoders: the optimal linear denoiser, PCA from a linear
autoencoder, the corruption processes, and the corrupt/reconstruct chain."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen import zoo
from minigen.models.autoencoder import (Autoencoder, DenoisingAutoencoder, FlipCorruption,
                                        GaussianCorruption, MaskingCorruption)


def gaussian_data(rng, n, mean, cov):
    return rng.multivariate_normal(mean, cov, size=n).astype(np.float32)


def test_linear_dae_approaches_the_optimal_denoiser(rng):
    mean = np.array([1.0, -0.5, 0.25])
    factor = rng.normal(size=(3, 3))
    cov = factor @ factor.T / 3 + 0.1 * np.eye(3)
    sigma = 0.6
    X = gaussian_data(rng, 4000, mean, cov)
    dae = DenoisingAutoencoder(3, hidden=(), n_latent=3, corruption="gaussian", noise=sigma, loss="mse")
    dae.fit(X, epochs=40, batch_size=200, lr=2e-2, progress=False)

    X_test = gaussian_data(rng, 2000, mean, cov)
    noisy = X_test + sigma * rng.standard_normal(X_test.shape).astype(np.float32)
    optimal = mean + (noisy - mean) @ np.linalg.solve(cov + sigma**2 * np.eye(3), cov)   # (5), S symmetric
    learned = dae.reconstruct(noisy)
    gap = np.mean(np.sum((learned - optimal) ** 2, axis=1))
    optimal_error = np.mean(np.sum((optimal - X_test) ** 2, axis=1))
    learned_error = np.mean(np.sum((learned - X_test) ** 2, axis=1))
    assert gap < 0.02 * optimal_error
    assert learned_error < 1.03 * optimal_error


def test_linear_autoencoder_reaches_the_pca_reconstruction_error(rng):
    """Baldi and Hornik (1989): a linear autoencoder's best squared error is the discarded variance."""
    cov = np.diag([3.0, 1.5, 0.2, 0.1])
    X = gaussian_data(rng, 3000, np.zeros(4), cov)
    model = Autoencoder(4, hidden=(), n_latent=2, loss="mse").fit(X, epochs=40, batch_size=200, lr=2e-2,
                                                                   progress=False)
    centred = X - X.mean(axis=0)
    discarded = np.sort(np.linalg.eigvalsh(centred.T @ centred / len(X)))[:2].sum()
    error = np.mean(np.sum((model.reconstruct(X) - X) ** 2, axis=1))
    assert discarded <= error + 1e-4
    assert error < discarded * 1.05
    assert model.encode(X).shape == (3000, 2)


@given(p=st.floats(0.05, 0.95))
def test_masking_zeroes_a_fraction_p_and_keeps_the_rest(p):
    x = np.random.default_rng(1).random((200, 50), dtype=np.float32) + 0.5
    original = x.copy()
    corrupted = MaskingCorruption(p)(x)
    zeroed = corrupted == 0
    assert np.array_equal(x, original)
    assert np.array_equal(corrupted[~zeroed], x[~zeroed])
    assert abs(zeroed.mean() - p) < 0.03


@given(p=st.floats(0.05, 0.95))
def test_flip_flips_a_fraction_p_of_binary_inputs(p):
    x = (np.random.default_rng(2).random((200, 50)) < 0.3).astype(np.float32)
    corrupted = FlipCorruption(p)(x)
    assert set(np.unique(corrupted)) <= {0.0, 1.0}
    assert abs((corrupted != x).mean() - p) < 0.03


def test_gaussian_corruption_adds_noise_of_the_given_std():
    x = np.ones((400, 100), dtype=np.float32)
    difference = GaussianCorruption(0.3)(x) - x
    assert abs(difference.mean()) < 0.01
    assert abs(difference.std() - 0.3) < 0.01


def test_chain_recorrupts_at_every_step(rng):
    X = rng.random((300, 8), dtype=np.float32)
    dae = DenoisingAutoencoder(8, hidden=(16,), n_latent=4, corruption="gaussian", noise=0.0)
    dae.fit(X, epochs=2, progress=False)
    x0 = X[:5]
    chain = dae.sample_chain(x0, steps=3, mean_field=True)
    assert chain.shape == (4, 5, 8)
    np.testing.assert_array_equal(chain[0], x0)
    # with zero noise the mean-field chain (9) is iterated reconstruction, step by step
    np.testing.assert_allclose(chain[2], dae.reconstruct(dae.reconstruct(x0)), atol=1e-6)

    noisy = DenoisingAutoencoder(8, hidden=(16,), n_latent=4, corruption="masking", noise=0.5)
    first, second = noisy.sample_chain(x0, steps=3), noisy.sample_chain(x0, steps=3)
    assert not np.allclose(first[1:], second[1:])           # fresh corruption each call and step


def test_bce_chain_draws_binary_states_whose_long_run_means_are_the_data_marginals(rng):
    """(7) with P(x | x~) = Bernoulli(r(x~)): binary states, stationary at the data's marginals when the
    DAE has learned the posterior (independent bits: a linear DAE represents it exactly).  The
    mean-field chain (9) feeds back probabilities instead."""
    marginals = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 0.2])
    X = (rng.random((4000, 6)) < marginals).astype(np.float32)
    dae = DenoisingAutoencoder(6, hidden=(), n_latent=6, corruption="flip", noise=0.2, loss="bce")
    dae.fit(X, epochs=100, batch_size=500, lr=1e-2, progress=False)
    x0 = rng.random((200, 6), dtype=np.float32)
    chain = dae.sample_chain(x0, steps=300, seed=1)                  # (301, 200, 6)
    np.testing.assert_array_equal(chain, dae.sample_chain(x0, steps=300, seed=1))   # seeded
    assert set(np.unique(chain[1:])) == {0.0, 1.0}
    np.testing.assert_allclose(chain[50:].mean(axis=(0, 1)), X.mean(axis=0), atol=0.04)
    mean_field = dae.sample_chain(x0, steps=300, mean_field=True, seed=1)
    assert np.mean((mean_field[1:] > 0) & (mean_field[1:] < 1)) > 0.9
    assert set(np.unique(dae.sample(50, seed=2))) == {0.0, 1.0}


def test_mse_chain_keeps_the_data_variance_and_the_mean_field_chain_shrinks_it(rng):
    """Isotropic Gaussian data (variance 1), Gaussian corruption sigma: the posterior p(x | x~) has
    variance v = sigma^2 / (1 + sigma^2) per dimension, which is what (8) estimates; with it the chain
    (7) is stationary at the data's variance, while the mean-field chain (9) settles at
    a / (1 + a), a = 1 / (1 + sigma^2) (0.42 here), as x' = a x + noise then gives."""
    sigma, mean = 0.6, np.array([1.0, -1.0])
    X = (mean + rng.standard_normal((4000, 2))).astype(np.float32)
    dae = DenoisingAutoencoder(2, hidden=(), n_latent=2, corruption="gaussian", noise=sigma, loss="mse")
    dae.fit(X, epochs=100, batch_size=500, lr=1e-2, progress=False)
    assert float(dae.reconstruction_std) == pytest.approx(np.sqrt(sigma**2 / (1 + sigma**2)), abs=0.03)
    states = dae.sample_chain(X[:200], steps=300, seed=1)[50:].reshape(-1, 2)
    np.testing.assert_allclose(states.mean(axis=0), mean, atol=0.15)
    np.testing.assert_allclose(states.var(axis=0), 1.0, atol=0.15)
    a = 1 / (1 + sigma**2)
    mean_field = dae.sample_chain(X[:200], steps=300, mean_field=True, seed=1)[50:].reshape(-1, 2)
    np.testing.assert_allclose(mean_field.var(axis=0), a / (1 + a), atol=0.07)


def test_autoencoder_samples_decode_the_gaussian_fitted_to_its_codes(rng):
    """(6) for a linear autoencoder: z ~ N(m, L L^T) decoded linearly, so the samples' covariance is
    that of the reconstructions of the training data."""
    X = gaussian_data(rng, 3000, np.array([2.0, 0.0, -1.0, 0.5]), np.diag([3.0, 1.5, 0.2, 0.1]))
    model = Autoencoder(4, hidden=(), n_latent=2, loss="mse").fit(X, epochs=40, batch_size=200, lr=2e-2,
                                                                   progress=False)
    codes = model.encode(X)
    np.testing.assert_allclose(model.code_mean, codes.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(model.code_scale_tril @ model.code_scale_tril.T, np.cov(codes, rowvar=False),
                               rtol=1e-4, atol=1e-4)
    samples = model.sample(20_000, seed=0)
    np.testing.assert_array_equal(samples[:5], model.sample(5, seed=0))
    reconstructions = model.reconstruct(X)
    np.testing.assert_allclose(samples.mean(axis=0), reconstructions.mean(axis=0), atol=0.05)
    np.testing.assert_allclose(np.cov(samples, rowvar=False), np.cov(reconstructions, rowvar=False), atol=0.08)


def test_dae_trained_on_digits_denoises_better_than_the_noise():
    from minigen.data import load_digits
    X, X_test = load_digits("train", binarize=True), load_digits("test", binarize=True)
    dae = DenoisingAutoencoder(64, hidden=(128,), n_latent=32, corruption="flip", noise=0.1)
    dae.fit(X, epochs=15, batch_size=64, lr=3e-3, progress=False)
    flipped = FlipCorruption(0.1)(X_test)
    repaired = dae.reconstruct(flipped) > 0.5
    assert (repaired != X_test).mean() < 0.85 * (flipped != X_test).mean()
    samples = dae.sample(4, steps=5)
    assert samples.shape == (4, 64) and np.all((samples >= 0) & (samples <= 1))


def test_config_rebuilds_the_model_and_bad_input_is_named():
    dae = DenoisingAutoencoder(6, hidden=(5,), n_latent=3, corruption="flip", noise=0.2)
    twin = DenoisingAutoencoder(**dae.config)
    for (name, a), (_, b) in zip(dae.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    with pytest.raises(ValueError, match=r"DenoisingAutoencoder.reconstruct.*\(6,\).*\(5,\)"):
        dae.reconstruct(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"DenoisingAutoencoder.decode.*\(n, 3\)"):
        dae.decode(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="corruption"):
        DenoisingAutoencoder(6, corruption="salt")
    with pytest.raises(ValueError, match="loss"):
        Autoencoder(6, loss="l1")


def test_registered_for_the_command_line():
    assert zoo.get("autoencoder").model_class is Autoencoder
    assert zoo.get("dae").model_class is DenoisingAutoencoder
    model = zoo.get("dae").build((64,), {"seed": 3})
    assert model.config["seed"] == 3 and model.n_input == 64
