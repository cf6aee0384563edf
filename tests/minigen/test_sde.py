"""Score SDEs: the VP and VE marginals against their defining integrals, the samplers (Euler-Maruyama,
reverse diffusion, Langevin corrector, probability flow) with the exact score of a Gaussian mixture,
and the probability-flow log-likelihood against the mixture's true log-density."""
import math

import numpy as np
import pytest
from scipy.integrate import quad

import autograd
from minigen.models.diffusion import DDPM
from minigen.models.score import mixture_log_density, mixture_score, mixture_score_divergence
from minigen.models.sde import VESDE, VPSDE, score_and_divergence

MEANS = np.array([[1.0, 1.0], [-1.0, -1.0]])
WEIGHTS = np.array([0.8, 0.2])
VARIANCE = 0.2 ** 2                                   # data: 0.8 N((1, 1), 0.2^2 I) + 0.2 N((-1, -1), 0.2^2 I)
SDES = {"VP": VPSDE(), "VE": VESDE(sigma_min=0.01, sigma_max=50.0)}


def exact_score(sde):
    return sde.mixture_score(MEANS, WEIGHTS, VARIANCE)[0]                       # (7): p_t is a mixture


def exact_log_density(sde, t):
    means, variance = sde.mixture_marginal(MEANS, VARIANCE, t)
    return lambda x: mixture_log_density(x, means, WEIGHTS, variance)


def mixture_data(n, rng):
    component = (rng.random(n) > WEIGHTS[0]).astype(int)
    return MEANS[component] + math.sqrt(VARIANCE) * rng.standard_normal((n, 2))


@pytest.mark.parametrize("name", sorted(SDES))
def test_marginals_solve_the_sde(name):
    sde = SDES[name]
    for t in (0.05, 0.4, 1.0):
        signal, std = sde.marginal(t)
        m = lambda u: math.exp(quad(sde.drift_coefficient, 0, u)[0])             # (2): m = exp(int c)
        variance = m(t) ** 2 * quad(lambda u: sde.diffusion_squared(u) / m(u) ** 2, 0, t)[0]
        assert signal == pytest.approx(m(t), rel=1e-8)
        assert std ** 2 == pytest.approx(variance, rel=1e-6)


@pytest.mark.parametrize("name", sorted(SDES))
def test_transitions_carry_one_marginal_to_the_next(name):
    sde = SDES[name]
    for s, t in ((0.0, 0.3), (0.2, 0.25), (0.5, 1.0)):
        a, G = sde.transition(s, t)
        (signal_s, std_s), (signal_t, std_t) = sde.marginal(s), sde.marginal(t)
        assert a * signal_s == pytest.approx(signal_t, rel=1e-12)
        assert a ** 2 * std_s ** 2 + G ** 2 == pytest.approx(std_t ** 2, rel=1e-10)



def test_vp_steps_are_the_ddpm_betas():
    ddpm, sde = DDPM((2,)), VPSDE()
    for i in (100, 500, 1000):                                                  # step i of T = 1000
        beta_i = 1 - sde.transition((i - 1) / 1000, i / 1000)[0] ** 2           # (2): 1 - a^2
        assert beta_i == pytest.approx(ddpm.betas[i - 1], rel=0.02)          # to first order in 1 / T


@pytest.mark.parametrize("name, sampler", [
    ("VP", {"method": "sde"}), ("VP", {"method": "ode", "steps": 100}),
    ("VP", {"predictor": "reverse_diffusion", "corrector_steps": 1}),
    ("VE", {"predictor": "reverse_diffusion", "corrector_steps": 1}),
    ("VE", {"predictor": "euler_maruyama", "corrector_steps": 0})])
def test_samplers_with_the_exact_score_reproduce_the_mixture(name, sampler, rng):
    sde = SDES[name]
    start = sde.prior_sample((1500, 2), rng)
    if "method" in sampler:
        samples = sde.sample(exact_score(sde), start, sampler["method"], sampler.get("steps", 300), rng)[-1]
    else:
        samples = sde.pc_sample(exact_score(sde), start, 300, rng, **sampler)[-1]
    upper = samples[samples[:, 0] > 0]
    assert len(upper) / len(samples) == pytest.approx(0.8, abs=0.04)
    assert np.allclose(upper.mean(axis=0), [1, 1], atol=0.03)
    assert np.allclose(upper.std(axis=0), 0.2, atol=0.03)


def test_mixture_score_is_the_score_of_the_noised_mixture(rng):
    sde = SDES["VP"]
    score, divergence = sde.mixture_score(MEANS, WEIGHTS, VARIANCE)
    x, t = rng.standard_normal((5, 2)), 0.3
    means, variance = sde.mixture_marginal(MEANS, VARIANCE, t)
    signal, std = sde.marginal(t)
    assert np.allclose(means, signal * MEANS) and variance == pytest.approx(signal ** 2 * VARIANCE + std ** 2)
    assert np.array_equal(score(x, t), mixture_score(x, means, WEIGHTS, variance))
    assert np.array_equal(divergence(x, t), mixture_score_divergence(x, means, WEIGHTS, variance))


def test_langevin_corrector_alone_relaxes_to_the_marginal(rng):
    # the corrector at one fixed time is Langevin dynamics on p_t: from a wrong start it forgets it
    sde = SDES["VE"]
    x = (rng.standard_normal((2000, 2)) * 0.05 + [1.0, 1.0]).astype(np.float32)    # far too narrow
    t = 0.2
    x = sde._langevin_corrector(exact_score(sde), x, t, t - 1e-3, 300, 0.3, rng)
    means, variance = sde.mixture_marginal(MEANS, VARIANCE, t)
    upper = x[x[:, 0] > 0]
    assert np.allclose(upper.std(axis=0), math.sqrt(variance), rtol=0.1)


@pytest.mark.parametrize("name", sorted(SDES))
def test_probability_flow_log_likelihood_matches_the_true_density(name, rng):
    sde = SDES[name]
    x = mixture_data(60, rng)
    truth = mixture_log_density(x, MEANS, WEIGHTS, VARIANCE)
    # with p_1 itself as the prior, only the integral (12) is approximated
    score, divergence = sde.mixture_score(MEANS, WEIGHTS, VARIANCE)
    exact_prior = sde.log_likelihood(score, x, divergence, t_start=0.0, prior_log_prob=exact_log_density(sde, 1.0))
    assert np.abs(exact_prior - truth).max() < 1e-2
    # the SDE's own prior differs from p_1 by a little: m(1) mu for VP, the data's spread for VE
    own_prior = sde.log_likelihood(score, x, divergence, t_start=0.0)
    assert np.abs(own_prior - truth).mean() < 2e-2


def test_autograd_divergence_equals_finite_differences(rng):
    A, B = rng.standard_normal((2, 5)), rng.standard_normal((5, 2))

    def score(x, t):                                         # a nonlinear field, written with Tensors
        return autograd.tanh(x @ A * t) @ B
    x = rng.standard_normal((6, 2))
    s, divergence = score_and_divergence(score, x, 0.7)
    field = lambda y: np.tanh(y @ A * 0.7) @ B
    h = 1e-6
    numeric = sum((field(x + h * e)[:, j] - field(x - h * e)[:, j]) / (2 * h) for j, e in enumerate(np.eye(2)))
    assert np.allclose(s, field(x)) and np.allclose(divergence, numeric, atol=1e-7)


def test_log_likelihood_through_autograd_matches_a_gaussian(rng):
    # data N(mu, v I): p_t = N(m mu, (m^2 v + std^2) I) and s = (m mu - x) / (m^2 v + std^2), with Tensors
    sde, mu, v = VPSDE(), np.array([0.5, -1.0]), 0.3

    def score(x, t):
        (mean,), variance = sde.mixture_marginal(mu[None], v, t)
        return (autograd.tensor(mean) - x) / variance
    x = mu + math.sqrt(v) * rng.standard_normal((20, 2))
    truth = mixture_log_density(x, mu[None], [1.0], v)
    means_1, variance_1 = sde.mixture_marginal(mu[None], v, 1.0)
    exact_prior = lambda y: mixture_log_density(y, means_1, [1.0], variance_1)
    assert np.abs(sde.log_likelihood(score, x, t_start=0.0, prior_log_prob=exact_prior) - truth).max() < 1e-2


def test_ddpm_score_is_differentiable_and_matches_its_array_form(rng):
    model = DDPM((2,), T=50, seed=0)
    x = rng.standard_normal((5, 2)).astype(np.float32)
    as_array = model.continuous_score(x, 0.3)
    s, divergence = score_and_divergence(model.continuous_score, x.astype(np.float64), 0.3)
    assert np.allclose(s, as_array, atol=1e-5)
    h = 1e-4
    numeric = sum((model.continuous_score(x.astype(np.float64) + h * e, 0.3)[:, j]
                   - model.continuous_score(x.astype(np.float64) - h * e, 0.3)[:, j]) / (2 * h)
                  for j, e in enumerate(np.eye(2)))
    assert np.allclose(divergence, numeric, rtol=1e-3, atol=1e-3)


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="VPSDE.sample: method"):
        VPSDE().sample(lambda x, t: x, np.zeros((2, 2)), method="heun")
    with pytest.raises(ValueError, match="VESDE.pc_sample: predictor"):
        VESDE().pc_sample(lambda x, t: x, np.zeros((2, 2)), predictor="langevin")
    with pytest.raises(ValueError, match="sigma_min < sigma_max"):
        VESDE(sigma_min=1.0, sigma_max=0.5)
    with pytest.raises(ValueError, match=r"log_likelihood: expected x of shape \(n, D\)"):
        VPSDE().log_likelihood(lambda x, t: x, np.zeros((2, 2, 2)))
