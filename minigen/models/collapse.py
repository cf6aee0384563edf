"""Model collapse from recursive training (Shumailov, Shumaylov, Zhao, Gal, Papernot and Anderson 2023,
"The curse of recursion: training on generated data makes models forget"), and its avoidance by
accumulating data (Gerstgrasser, Schaeffer, Dey, Rafailov et al. 2024, "Is model collapse inevitable?
Breaking the curse of recursion by accumulating real and synthetic data").

Procedure   model_0 = fit(D_0);   D_g = n_samples draws from model_{g-1},   model_g = fit(D_g)      (1)
            Each generation learns only from its predecessor's samples, never from the real data.
Accumulate  model_g = fit(D_0 u D_1 u ... u D_g): the real data and every generation's samples     (1')
            stay in the training set (data are added, never replaced).

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

With accumulation (1') model_g is fit on N_g = (g + 1) M points.  Their sum of squares about the
pooled mean is the old one, (N_{g-1} - 1) sigma_{g-1}^2, plus the new draws' own, plus the shift of
the mean, N_{g-1} M / N_g (m_g - mu_{g-1})^2 with m_g - mu_{g-1} ~ N(0, sigma_{g-1}^2 / M); so
Law'        sigma_g^2 / sigma_{g-1}^2 = R_g = (N_{g-1} - 1 + U_g + (N_{g-1} / N_g) V_g) / (N_g - 1),       (10)
            U_g ~ chi^2_{M-1} and V_g ~ chi^2_1 independent of each other and of the past, and
Log'        E[log sigma_g^2] = log sigma^2 + delta_M + sum_{h=1..g} E[log R_h]                            (11)
            with E[log X] = int_0^inf (e^-t - E[e^-tX]) / t dt (Frullani), E[e^-tX] of X = a + U + c V being
            e^-ta (1 + 2t)^-(M-1)/2 (1 + 2ct)^-1/2.  Expanding log R_h to second order,
            E[log R_h] ~ -2 / (M (h + 1)^2) (half from E[R_h] = 1 - M / (N_h (N_h - 1)), half from the
            curvature of log): the sum converges, so the expected log variance stays bounded, about
            2 (pi^2/6 - 1) / M below generation 0's for ever, where replacing the data drifts it by
            delta_M ~ -1/M every generation without end.  This is the Gaussian counterpart of
            Gerstgrasser et al.'s linear-regression result (test error at most pi^2/6 times the first
            model's under accumulation, growing linearly in g under replacement).

A VAE on digits follows (1) or (1') with the VAE's own fit and sample (decoder means); its collapse
shows as falling total pixel variance and vanishing mass far from the data's mean.
"""
from typing import Any, Callable, List, NamedTuple, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import quad
from scipy.special import digamma, ndtr

from .vae import VAE

SEED_RANGE = 2**31


def recursive_training(fit: Callable[[Any, int], Any], sample: Callable[[Any, int, int], Any], data: Any,
                       generations: int, n_samples: int, seed: int = 0, accumulate: bool = False) -> List[Any]:
    """(1): [model_0, ..., model_generations], where model_0 = fit(data, seed_0) and each later model is
    fit on n_samples draws sample(previous_model, n_samples, seed_g); with accumulate=True on those draws
    appended to all the data before them, (1').  fit(data, seed) -> model and sample(model, n, seed) ->
    data are the caller's (draws are joined along the first axis); all seeds come from one Generator
    seeded by `seed`."""
    rng = np.random.default_rng(seed)
    models = [fit(data, int(rng.integers(SEED_RANGE)))]
    for _ in range(generations):
        draws = sample(models[-1], n_samples, int(rng.integers(SEED_RANGE)))
        data = np.concatenate([data, draws]) if accumulate else draws                        # (1') or (1)
        models.append(fit(data, int(rng.integers(SEED_RANGE))))
    return models


# -- 1-D Gaussian, vectorized over independent chains ------------------------------------------
class Gaussian(NamedTuple):
    """N(mean, variance), one per chain: each field has shape (chains,)."""
    mean: np.ndarray
    variance: np.ndarray


def fit_gaussian(x: np.ndarray, seed: Optional[int] = None) -> Gaussian:
    """(2) on each column of x (M, chains): the sample mean and the unbiased variance.  No randomness."""
    return Gaussian(x.mean(axis=0), x.var(axis=0, ddof=1))


def sample_gaussian(model: Gaussian, n: int, seed: Optional[int]) -> np.ndarray:
    """n draws from each chain's Gaussian: (n, chains)."""
    noise = np.random.default_rng(seed).standard_normal((n, len(model.mean)))
    return model.mean + np.sqrt(model.variance) * noise


def gaussian_collapse(generations: int, n_samples: int, n_chains: int = 1, mean: float = 0.0, std: float = 1.0,
                      seed: int = 0, accumulate: bool = False) -> List["Gaussian"]:
    """(1), or (1') with accumulate=True, for N(mean, std^2) refit by (2), n_chains independent chains at
    once: a list of generations + 1 Gaussians, each holding (n_chains,) means and variances."""
    rng = np.random.default_rng(seed)
    real = mean + std * rng.standard_normal((n_samples, n_chains))
    return recursive_training(fit_gaussian, sample_gaussian, real, generations, n_samples,
                              seed=int(rng.integers(SEED_RANGE)), accumulate=accumulate)


def log_variance_drift(n_samples: int) -> float:
    """delta_M of (5): the exact expected change of log sigma^2 per generation (about -1/M)."""
    dof = n_samples - 1
    return float(digamma(dof / 2) - np.log(dof / 2))


def accumulated_log_variance_step(generation: int, n_samples: int) -> float:
    """E[log R_g] of (10)-(11): the expected change of log sigma^2 at generation g >= 1 under (1')."""
    before, after = generation * n_samples, (generation + 1) * n_samples             # N_{g-1}, N_g
    a, c, dof = before - 1, before / after, n_samples - 1

    def frullani(t):                                                                 # (e^-t - E e^-tX) / t
        return (np.exp(-t) - np.exp(-t * a) * (1 + 2 * t) ** (-dof / 2) / np.sqrt(1 + 2 * c * t)) / t

    log_x = quad(frullani, 0, 1)[0] + quad(frullani, 1, np.inf)[0]                   # E[log(a + U + c V)]
    return float(log_x - np.log(after - 1))


def expected_log_variance(generations: int, n_samples: int, variance: float = 1.0,
                          accumulate: bool = False) -> np.ndarray:
    """E[log sigma_g^2] for g = 0..generations, with model_0 fit on M real draws: (5) when each generation
    replaces the data, (11) when they accumulate."""
    if not accumulate:
        return np.log(variance) + (np.arange(generations + 1) + 1) * log_variance_drift(n_samples)
    steps = [accumulated_log_variance_step(g, n_samples) for g in range(1, generations + 1)]
    return np.log(variance) + log_variance_drift(n_samples) + np.concatenate([[0.0], np.cumsum(steps)])


def gaussian_tail_mass(model: Gaussian, width: float = 2.0) -> np.ndarray:
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


def fit_gaussian_mixture(x: ArrayLike, seed: Optional[int], n_components: int = 3, iterations: int = 100,
                         tolerance: float = 1e-6, floor: float = 1e-3) -> Mixture:
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


def mixture_log_prob(model: Mixture, x: ArrayLike) -> np.ndarray:
    """log p(x) = logsumexp_k [log w_k + log N(x; m_k, v_k)]: (n,)."""
    return np.logaddexp.reduce(_log_joint(np.asarray(x, dtype=np.float64).ravel(), model), axis=1)


def sample_gaussian_mixture(model: Mixture, n: int, seed: Optional[int]) -> np.ndarray:
    """k ~ Categorical(w), then x ~ N(m_k, v_k): (n,)."""
    rng = np.random.default_rng(seed)
    components = rng.choice(len(model.weights), size=n, p=model.weights / model.weights.sum())
    return model.means[components] + np.sqrt(model.variances[components]) * rng.standard_normal(n)


def mixture_variance(model: Mixture) -> float:
    """(9): the variance of the whole mixture."""
    overall_mean = model.weights @ model.means
    return float(model.weights @ (model.variances + model.means ** 2) - overall_mean ** 2)


def mixture_tail_mass(model: Mixture, width: float) -> float:
    """The mixture's mass farther than width from its own mean (width fixed by the original data)."""
    overall_mean = model.weights @ model.means
    std = np.sqrt(model.variances)
    outside = ndtr((overall_mean - width - model.means) / std) + ndtr((model.means - overall_mean - width) / std)
    return float(model.weights @ outside)


def mixture_collapse(data: ArrayLike, generations: int, n_samples: int, n_components: int = 3,
                     seed: int = 0) -> List[Mixture]:
    """(1) for a Gaussian mixture refit by EM: a list of generations + 1 Mixtures."""
    def fit(x, fit_seed):
        return fit_gaussian_mixture(x, fit_seed, n_components=n_components)
    return recursive_training(fit, sample_gaussian_mixture, data, generations, n_samples, seed=seed)


# -- a VAE on digits ---------------------------------------------------------------------------
def vae_collapse(X: np.ndarray, generations: int, n_samples: int, epochs: int = 30, n_latent: int = 8,
                 hidden: Sequence[int] = (128,), seed: int = 0, accumulate: bool = False) -> List[VAE]:
    """(1), or (1') with accumulate=True, for minigen's VAE: each generation is a fresh VAE fit on its
    predecessor's decoded means (joined to all earlier data under (1')).  Every generation makes the
    same number of updates, `epochs` epochs' worth over len(X) examples (fewer epochs over more data),
    so replacing and accumulating are compared at equal compute."""
    def fit(data, fit_seed):
        model = VAE(X.shape[1], n_latent, hidden=hidden, seed=fit_seed)
        return model.fit(data, epochs=max(1, round(epochs * len(X) / len(data))), progress=False)

    def sample(model, n, sample_seed):
        return model.sample(n, seed=sample_seed, mean=False)

    return recursive_training(fit, sample, X, generations, n_samples, seed=seed, accumulate=accumulate)


def total_variance(X: ArrayLike) -> float:
    """The summed per-dimension variance of samples X (n, D)."""
    return float(np.asarray(X, dtype=np.float64).var(axis=0).sum())


def tail_mass(X: ArrayLike, radius: float) -> float:
    """The fraction of samples X (n, D) farther than radius from their own mean."""
    X = np.asarray(X, dtype=np.float64)
    distances = np.linalg.norm(X - X.mean(axis=0), axis=1)
    return float(np.mean(distances > radius))
