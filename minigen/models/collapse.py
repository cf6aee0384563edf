"""Model collapse from recursive training (Shumailov, Shumaylov, Zhao, Gal, Papernot and Anderson 2023,
"The curse of recursion: training on generated data makes models forget").

Procedure   model_0 = fit(D_0);   D_g = n_samples draws from model_{g-1},   model_g = fit(D_g)      (1)
            Each generation learns only from its predecessor's samples, never from the real data.

A 1-D Gaussian refit on M samples per generation with the unbiased variance:
Fit         mu_g = mean(D_g),   sigma_g^2 = 1/(M - 1) sum_i (x_i - mu_g)^2                          (2)
Law         (M - 1) sigma_g^2 / sigma_{g-1}^2 ~ chi^2_{M-1}, independent of the past                 (3)
Mean        E[sigma_g^2 | sigma_{g-1}^2] = sigma_{g-1}^2, so E[sigma_g^2] = sigma^2 stays put          (4)
            (a martingale), but
Log         E[log sigma_g^2 - log sigma_{g-1}^2] = delta_M = psi((M - 1) / 2) - log((M - 1) / 2)      (5)
                                                 = -1/(M - 1) - 1/(3 (M - 1)^2) + ...  ~ -1/M
            so E[log sigma_g^2] = log sigma^2 + (g + 1) delta_M (model_0 is already fit on M real
            draws): log sigma^2 is a random walk with drift -1/M and step variance psi'((M-1)/2) ~ 2/M.
            The median of sigma_g^2 collapses like exp(g delta_M) and sigma_g^2 -> 0 almost surely,
            while a few chains with large variance keep the mean at sigma^2.
Tails       The mass farther than 2 sigma from the model's own mean, P_g(|x - mu_g| > 2 sigma)     (6)
            = 2 Phi(-2 sigma / sigma_g), starts at 4.6% and goes to zero as sigma_g collapses: the
            tails are forgotten first.  (Measured about the model's own mean, because mu_g also
            wanders, a random walk with step variance sigma_{g-1}^2 / M.)

A Gaussian mixture refit by EM (maximum likelihood, biased variances) on M samples loses variance
faster still: E[total variance] shrinks by (M - 1) / M per generation on top of the drift of (5),
because the EM fixed point matches the first two sample moments exactly:
EM          r_nk = w_k N(x_n; m_k, v_k) / sum_j w_j N(x_n; m_j, v_j)                               (7)
            w_k = mean_n r_nk,  m_k = sum_n r_nk x_n / sum_n r_nk,
            v_k = sum_n r_nk (x_n - m_k)^2 / sum_n r_nk + floor                                    (8)
Variance    Var[x] = sum_k w_k (v_k + m_k^2) - (sum_k w_k m_k)^2                                   (9)

A VAE on digits follows (1) with the VAE's own fit and sample (decoder means); its collapse shows as
falling total pixel variance and vanishing mass far from the data's mean.
"""
from typing import NamedTuple

import numpy as np
from scipy.special import digamma, ndtr

from .vae import VAE

SEED_RANGE = 2**31


def recursive_training(fit, sample, data, generations, n_samples, seed=0):
    """(1): [model_0, ..., model_generations], where model_0 = fit(data, seed_0) and each later model is
    fit on n_samples draws sample(previous_model, n_samples, seed_g).  fit(data, seed) -> model and
    sample(model, n, seed) -> data are the caller's; all seeds come from one Generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    models = [fit(data, int(rng.integers(SEED_RANGE)))]
    for _ in range(generations):
        data = sample(models[-1], n_samples, int(rng.integers(SEED_RANGE)))
        models.append(fit(data, int(rng.integers(SEED_RANGE))))
    return models


# -- 1-D Gaussian, vectorized over independent chains ------------------------------------------
class Gaussian(NamedTuple):
    """N(mean, variance), one per chain: each field has shape (chains,)."""
    mean: np.ndarray
    variance: np.ndarray


def fit_gaussian(x, seed=None):
    """(2) on each column of x (M, chains): the sample mean and the unbiased variance.  No randomness."""
    return Gaussian(x.mean(axis=0), x.var(axis=0, ddof=1))


def sample_gaussian(model, n, seed):
    """n draws from each chain's Gaussian: (n, chains)."""
    noise = np.random.default_rng(seed).standard_normal((n, len(model.mean)))
    return model.mean + np.sqrt(model.variance) * noise


def gaussian_collapse(generations, n_samples, n_chains=1, mean=0.0, std=1.0, seed=0):
    """(1) for N(mean, std^2) refit by (2), n_chains independent chains at once: a list of
    generations + 1 Gaussians, each holding (n_chains,) means and variances."""
    rng = np.random.default_rng(seed)
    real = mean + std * rng.standard_normal((n_samples, n_chains))
    return recursive_training(fit_gaussian, sample_gaussian, real, generations, n_samples,
                              seed=int(rng.integers(SEED_RANGE)))


def log_variance_drift(n_samples):
    """delta_M of (5): the exact expected change of log sigma^2 per generation (about -1/M)."""
    dof = n_samples - 1
    return float(digamma(dof / 2) - np.log(dof / 2))


def expected_log_variance(generations, n_samples, variance=1.0):
    """(5): E[log sigma_g^2] for g = 0..generations, with model_0 fit on M real draws."""
    return np.log(variance) + (np.arange(generations + 1) + 1) * log_variance_drift(n_samples)


def gaussian_tail_mass(model, width=2.0):
    """(6): P(|x - mu_g| > width) under each chain's N(mu_g, sigma_g^2), mass far from its own mean: (chains,)."""
    return 2 * ndtr(-width / np.sqrt(model.variance))


# -- 1-D Gaussian mixture fit by EM ------------------------------------------------------------
class Mixture(NamedTuple):
    """sum_k weights_k N(means_k, variances_k); each field has shape (K,)."""
    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray


# Two clear modes and a rare wide component that makes the tails: the rare events collapse forgets.
TAILED_MIXTURE = Mixture(np.array([0.45, 0.45, 0.10]), np.array([-2.0, 2.0, 0.0]), np.array([0.36, 0.36, 9.0]))


def _log_joint(x, model):
    """log w_k + log N(x_n; m_k, v_k): (n, K)."""
    difference = x[:, None] - model.means
    return (np.log(model.weights)
            - 0.5 * (np.log(2 * np.pi * model.variances) + difference ** 2 / model.variances))


def _responsibilities(x, model):
    """(7): r_nk, (n, K)."""
    joint = _log_joint(x, model)
    return np.exp(joint - np.logaddexp.reduce(joint, axis=1, keepdims=True))


def _m_step(x, responsibilities, floor):
    """(8): weights, means and variances from the responsibilities."""
    totals = responsibilities.sum(axis=0) + 1e-12                              # (K,)
    means = responsibilities.T @ x / totals
    variances = (responsibilities * (x[:, None] - means) ** 2).sum(axis=0) / totals + floor
    return Mixture(totals / len(x), means, variances)


def fit_gaussian_mixture(x, seed, n_components=3, iterations=100, tolerance=1e-6, floor=1e-3):
    """Maximum likelihood by EM, (7) and (8), from responsibilities centred on K distinct data points."""
    x = np.asarray(x, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    start = Mixture(np.full(n_components, 1 / n_components), rng.choice(x, n_components, replace=False),
                    np.full(n_components, x.var() + floor))
    model, previous = _m_step(x, _responsibilities(x, start), floor), -np.inf
    for _ in range(iterations):
        model = _m_step(x, _responsibilities(x, model), floor)
        log_likelihood = mixture_log_prob(model, x).mean()
        if log_likelihood - previous < tolerance:
            break
        previous = log_likelihood
    return model


def mixture_log_prob(model, x):
    """log p(x) = logsumexp_k [log w_k + log N(x; m_k, v_k)]: (n,)."""
    return np.logaddexp.reduce(_log_joint(np.asarray(x, dtype=np.float64).ravel(), model), axis=1)


def sample_gaussian_mixture(model, n, seed):
    """k ~ Categorical(w), then x ~ N(m_k, v_k): (n,)."""
    rng = np.random.default_rng(seed)
    components = rng.choice(len(model.weights), size=n, p=model.weights / model.weights.sum())
    return model.means[components] + np.sqrt(model.variances[components]) * rng.standard_normal(n)


def mixture_variance(model):
    """(9): the variance of the whole mixture."""
    overall_mean = model.weights @ model.means
    return float(model.weights @ (model.variances + model.means ** 2) - overall_mean ** 2)


def mixture_tail_mass(model, width):
    """The mixture's mass farther than width from its own mean (width fixed by the original data)."""
    overall_mean = model.weights @ model.means
    std = np.sqrt(model.variances)
    outside = ndtr((overall_mean - width - model.means) / std) + ndtr((model.means - overall_mean - width) / std)
    return float(model.weights @ outside)


def mixture_collapse(data, generations, n_samples, n_components=3, seed=0):
    """(1) for a Gaussian mixture refit by EM: a list of generations + 1 Mixtures."""
    def fit(x, fit_seed):
        return fit_gaussian_mixture(x, fit_seed, n_components=n_components)
    return recursive_training(fit, sample_gaussian_mixture, data, generations, n_samples, seed=seed)


# -- a VAE on digits ---------------------------------------------------------------------------
def vae_collapse(X, generations, n_samples, epochs=30, n_latent=8, hidden=(128,), seed=0):
    """(1) for minigen's VAE: each generation is a fresh VAE fit on its predecessor's decoded means."""
    def fit(data, fit_seed):
        model = VAE(X.shape[1], n_latent, hidden=hidden, seed=fit_seed)
        return model.fit(data, epochs=epochs, progress=False)

    def sample(model, n, sample_seed):
        return model.sample(n, seed=sample_seed)

    return recursive_training(fit, sample, X, generations, n_samples, seed=seed)


def total_variance(X):
    """The summed per-dimension variance of samples X (n, D)."""
    return float(np.asarray(X, dtype=np.float64).var(axis=0).sum())


def tail_mass(X, radius):
    """The fraction of samples X (n, D) farther than radius from their own mean."""
    X = np.asarray(X, dtype=np.float64)
    distances = np.linalg.norm(X - X.mean(axis=0), axis=1)
    return float(np.mean(distances > radius))
