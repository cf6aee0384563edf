"""VAE: the analytic KL, the reparameterization gradient, the IWAE training objective,
ELBO <= IWAE_5 <= IWAE_1000, and probabilistic PCA's maximum likelihood reached by a linear-Gaussian VAE."""
import math

import numpy as np
import pytest

import autograd
from minigen import zoo
from minigen.data import load_digits
from minigen.models.common import slerp
from minigen.models.vae import VAE, gaussian_kl, log_normal, reparameterize


def test_analytic_kl_matches_monte_carlo(rng):
    mu = rng.normal(size=(3, 4))
    logvar = rng.normal(scale=0.7, size=(3, 4))
    analytic = gaussian_kl(autograd.tensor(mu), autograd.tensor(logvar)).numpy()        # (3,)
    z = mu + np.exp(logvar / 2) * rng.standard_normal((200_000, 3, 4))
    sampled = (log_normal(autograd.tensor(z), autograd.tensor(mu), autograd.tensor(logvar))
               - log_normal(autograd.tensor(z), 0.0, autograd.tensor(np.zeros(4)))).numpy().mean(axis=0)
    np.testing.assert_allclose(analytic, sampled, atol=3e-2)


def test_reparameterized_sample_has_the_right_moments_and_gradients(rng):
    mu = autograd.tensor(np.array([0.5, -1.0]), requires_grad=True)
    logvar = autograd.tensor(np.array([np.log(4.0), np.log(0.25)]), requires_grad=True)
    eps = autograd.tensor(rng.standard_normal((100_000, 2)))
    z = reparameterize(mu, logvar, eps)
    np.testing.assert_allclose(z.numpy().mean(axis=0), [0.5, -1.0], atol=0.02)
    np.testing.assert_allclose(z.numpy().std(axis=0), [2.0, 0.5], rtol=0.02)   # std = exp(logvar / 2)

    z.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), [100_000, 100_000])              # dz/dmu = 1
    expected = 0.5 * np.exp(logvar.numpy() / 2) * eps.numpy().sum(axis=0)       # dz/dlogvar
    np.testing.assert_allclose(logvar.grad.numpy(), expected, rtol=1e-10)
    assert eps.grad is None and not eps.requires_grad                           # the noise is a constant


def test_reparameterization_gradcheck(rng):
    eps = autograd.tensor(rng.standard_normal((5, 3)))
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    assert autograd.gradcheck(lambda m, lv: reparameterize(m, lv, eps), (mu, logvar))
    assert autograd.gradcheck(gaussian_kl, (mu, logvar))


def test_vae_loss_gradient_reaches_encoder_and_decoder():
    model = VAE(6, 2, hidden=(5,))
    loss, reconstruction, kl = model.loss(autograd.tensor((np.arange(24).reshape(4, 6) % 2).astype(np.float32)))
    np.testing.assert_allclose(loss.item(), reconstruction.item() + kl.item(), rtol=1e-6)
    loss.backward()
    assert all(p.grad is not None and np.any(p.grad.numpy() != 0) for p in model.parameters())


def test_importance_terms_are_the_elbo_terms_and_average_to_minus_the_kl(rng):
    model = VAE(6, 2, hidden=(5,))
    x = autograd.tensor((rng.random((3, 6)) < 0.5).astype(np.float32))
    eps = rng.standard_normal((3, 20_000, 2)).astype(np.float32)
    with autograd.no_grad():
        log_px, log_ratio, kl = model.importance_terms(x, autograd.tensor(eps))
        reconstruction, analytic_kl = model.terms(x, autograd.tensor(eps[:, 0]))
    assert log_px.shape == log_ratio.shape == (3, 20_000)
    np.testing.assert_allclose(log_px.numpy()[:, 0], -reconstruction.numpy(), rtol=1e-5)   # same z, same (4)
    np.testing.assert_allclose(kl.numpy(), analytic_kl.numpy())
    np.testing.assert_allclose(-log_ratio.numpy().mean(axis=1), kl.numpy(), atol=3e-2)   # E_q[log q - log p] = (2)


def test_iwae_objective_trains_and_its_gradient_reaches_every_parameter():
    model = VAE(6, 2, hidden=(5,))
    x = autograd.tensor((np.arange(24).reshape(4, 6) % 2).astype(np.float32))
    loss, reconstruction, kl = model.iwae_loss(x, 5)
    assert np.isfinite(loss.item()) and reconstruction.item() > 0 and kl.item() >= 0
    loss.backward()
    assert all(p.grad is not None and np.any(p.grad.numpy() != 0) for p in model.parameters())
    model.fit(x.numpy(), epochs=3, batch_size=2, k_train=3, progress=False)
    assert set(model.history) == {"loss", "reconstruction", "kl"}
    with pytest.raises(ValueError, match="k_train"):
        model.fit(x.numpy(), epochs=1, k_train=0, progress=False)


def test_bernoulli_likelihood_is_the_stable_formula(rng):
    model = VAE(5, 2, hidden=())
    logits = rng.normal(scale=30, size=(4, 5))
    x = (rng.random((4, 5)) < 0.5).astype(np.float64)
    expected = -(np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)
    got = model.log_likelihood(autograd.tensor(x), autograd.tensor(logits)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.fixture(scope="module")
def small_digits_vae():
    autograd.manual_seed(0)
    X = load_digits("train", binarize=True)
    return VAE(64, 4, hidden=(64,)).fit(X, epochs=8, batch_size=64, lr=3e-3, progress=False)


def test_elbo_below_iwae_5_below_iwae_1000(small_digits_vae):
    X = load_digits("test", binarize=True)                           # 300 examples, several draws
    elbo = np.mean([small_digits_vae.elbo(X, seed=s).mean() for s in range(10)])
    iwae_5 = np.mean([small_digits_vae.log_prob(X, k=5, seed=s).mean() for s in range(10)])
    iwae_1000 = small_digits_vae.log_prob(X, k=1000).mean()
    assert elbo < iwae_5 < iwae_1000 < 0


def test_log_prob_chunking_does_not_change_the_estimate(small_digits_vae):
    X = load_digits("test", binarize=True)[:7]
    whole = small_digits_vae.log_prob(X, k=40, seed=5)
    chunked = small_digits_vae.log_prob(X, k=40, seed=5, max_rows=100)          # 2 examples per chunk
    assert whole.shape == (7,)
    np.testing.assert_allclose(whole, chunked, rtol=1e-5)


def ppca_max_log_likelihood(X, n_latent):
    """Tipping and Bishop (1999): the maximum average log-likelihood of probabilistic PCA."""
    n, d = X.shape
    centred = X - X.mean(axis=0)
    eigenvalues = np.sort(np.linalg.eigvalsh(centred.T @ centred / n))[::-1]
    noise = eigenvalues[n_latent:].mean()
    log_det = np.log(eigenvalues[:n_latent]).sum() + (d - n_latent) * np.log(noise)
    return -0.5 * (d * math.log(2 * math.pi) + log_det + d)


def gaussian_log_likelihood(X, mean, cov):
    difference = X - mean
    _, log_det = np.linalg.slogdet(cov)
    mahalanobis = np.einsum("nd,nd->n", difference @ np.linalg.inv(cov), difference)
    return -0.5 * (X.shape[1] * math.log(2 * math.pi) + log_det + mahalanobis)


def test_linear_gaussian_vae_reaches_the_ppca_maximum_likelihood(rng):
    d, q, n = 5, 2, 1000
    weight, mean = rng.normal(size=(d, q)), rng.normal(size=d)
    X = (rng.standard_normal((n, q)) @ weight.T + mean + 0.5 * rng.standard_normal((n, d))).astype(np.float64)
    best = ppca_max_log_likelihood(X, q)

    model = VAE(d, q, hidden=(), likelihood="gaussian").fit(X, epochs=400, batch_size=n, lr=3e-2, k_train=1,
                                                                weight_decay=0.0, progress=False)   # the ELBO
    decoder = model.decoder.net[0]                                   # x = W z + b + noise: exact marginal
    W, b = decoder.weight.numpy().astype(np.float64), decoder.bias.numpy().astype(np.float64)
    noise = float(np.exp(model.obs_logvar.numpy()[0]))
    exact = gaussian_log_likelihood(X, b, W @ W.T + noise * np.eye(d)).mean()
    assert best - 2e-3 < exact <= best + 1e-9
    assert abs(model.log_prob(X, k=200).mean() - best) < 1e-2
    assert best - 0.1 < model.elbo(X).mean() < best + 2e-2


def test_encode_decode_sample_interpolate_shapes(small_digits_vae):
    model, X = small_digits_vae, load_digits("test", binarize=True)[:10]
    mu, logvar = model.encode(X)
    assert mu.shape == logvar.shape == (10, 4)
    means = model.decode(mu)
    assert means.shape == (10, 64) and np.all((means > 0) & (means < 1))
    samples = model.sample(6, seed=1)
    np.testing.assert_array_equal(samples, model.sample(6, seed=1))
    drawn = model.sample(6, seed=1, mean=False)
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    for method in ("linear", "spherical"):
        path = model.interpolate(X[0], X[1], steps=5, method=method)
        assert path.shape == (5, 64)
        np.testing.assert_allclose(path[[0, -1]], means[:2], atol=1e-5)


def test_slerp_keeps_the_norm_between_equal_norm_ends():
    z_a, z_b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    path = slerp(z_a, z_b, np.linspace(0, 1, 7)[:, None])
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0)
    np.testing.assert_allclose(path[3], 3 * np.array([1, 1]) / np.sqrt(2))


def test_manifold_needs_a_2d_latent():
    model = VAE(64, 2, hidden=(8,))
    assert model.manifold(n=5).shape == (25, 64)
    with pytest.raises(ValueError, match="n_latent == 2"):
        VAE(64, 3, hidden=(8,)).manifold()


def test_bad_input_is_named_and_config_rebuilds():
    model = VAE(64, 3, hidden=(8,), likelihood="gaussian")
    with pytest.raises(ValueError, match=r"VAE.elbo.*\(64,\).*\(63,\)"):
        model.elbo(np.zeros((2, 63)))
    with pytest.raises(ValueError, match=r"VAE.decode.*\(n, 3\)"):
        model.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="likelihood"):
        VAE(64, 3, likelihood="poisson")
    twin = VAE(**model.config)
    for (name, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_registered_with_likelihood_rows():
    entry = zoo.get("vae")
    assert entry.model_class is VAE and entry.data == "digits-binary"
    model = entry.build((64,), {"seed": 0})
    rows = entry.likelihood(model, load_digits("test", binarize=True)[:3])
    assert [label for label, _, _ in rows] == ["VAE (IWAE k=5000)", "VAE (ELBO)"]
    assert rows[0][2] <= rows[1][2] + 1.0


def test_convolutional_encoder_and_decoder():
    model = VAE(64, 3, architecture="conv", channels=4)
    x = autograd.tensor((np.arange(128).reshape(2, 64) % 3 == 0).astype(np.float32))
    mu, logvar = model.posterior(x)
    assert mu.shape == logvar.shape == (2, 3)
    loss, _, _ = model.loss(x)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.log_prob(x.numpy(), k=7).shape == (2,)
    assert VAE(**model.config).sample(5).shape == (5, 64)
    with pytest.raises(ValueError, match="square"):
        VAE(60, 3, architecture="conv")
