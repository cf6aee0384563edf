"""Score models: the exact mixture density, score and divergence, plain against annealed Langevin on a
two-mode mixture, and NCSN trained by denoising score matching (the SDE samplers: test_sde.py)."""
import math

import numpy as np
import pytest

from minigen.models.denoisers import MLPDenoiser
from minigen.models.score import (NCSN, NCSNDefaults, annealed_langevin, geometric_sigmas, langevin,
                                  mixture_log_density, mixture_score, mixture_score_divergence)

MEANS = np.array([[5.0, 5.0], [-5.0, -5.0]])
WEIGHTS = np.array([0.8, 0.2])


def upper_weight(x):
    return float((x[:, 0] > 0).mean())


def test_geometric_sigmas_default_ladder():
    sigmas = geometric_sigmas()
    assert len(sigmas) == 10 and sigmas[0] == pytest.approx(1.0) and sigmas[-1] == pytest.approx(0.01)
    assert np.allclose(sigmas[1:] / sigmas[:-1], sigmas[1] / sigmas[0])


def test_mixture_log_density_is_the_sum_of_weighted_gaussians(rng):
    from scipy.stats import multivariate_normal
    x = rng.standard_normal((6, 2)) * 4
    expected = np.log(sum(w * multivariate_normal(m, 2.0 * np.eye(2)).pdf(x) for m, w in zip(MEANS, WEIGHTS)))
    assert np.allclose(mixture_log_density(x, MEANS, WEIGHTS, 2.0), expected, rtol=1e-10)


def test_mixture_score_is_the_gradient_of_the_log_density(rng):
    x = rng.standard_normal((5, 2)) * 4
    h = 1e-6
    numeric = np.stack([(mixture_log_density(x + h * e, MEANS, WEIGHTS, 2.0)
                         - mixture_log_density(x - h * e, MEANS, WEIGHTS, 2.0)) / (2 * h) for e in np.eye(2)], axis=1)
    assert np.allclose(mixture_score(x, MEANS, WEIGHTS, 2.0), numeric, atol=1e-5)


def test_mixture_score_divergence_is_the_trace_of_the_score_jacobian(rng):
    means, weights = rng.standard_normal((3, 3)), np.array([0.5, 0.3, 0.2])
    x = rng.standard_normal((7, 3)) * 1.5                                  # between the modes: r varies
    h = 1e-5
    score = lambda y: mixture_score(y, means, weights, 0.7)
    numeric = sum((score(x + h * e)[:, j] - score(x - h * e)[:, j]) / (2 * h) for j, e in enumerate(np.eye(3)))
    assert np.allclose(mixture_score_divergence(x, means, weights, 0.7), numeric, atol=1e-6)
    far = np.array([[40.0, 40.0, 40.0]])                                   # one component: div = -D / v
    assert mixture_score_divergence(far, means, weights, 0.7)[0] == pytest.approx(-3 / 0.7)


def test_annealed_langevin_gets_the_mode_weights_right_where_plain_langevin_does_not(rng):
    start = rng.uniform(-8, 8, (1500, 2)).astype(np.float32)
    plain = langevin(lambda x: mixture_score(x, MEANS, WEIGHTS, 1.0), start, 0.1, 500, rng)
    sigmas = geometric_sigmas(20.0, 1.0, 10)
    annealed = annealed_langevin(lambda x, i: mixture_score(x, MEANS, WEIGHTS, 1.0 + sigmas[i] ** 2),
                                 start, sigmas, steps_per_sigma=100, step_lr=0.05, generator=rng)
    assert upper_weight(annealed) == pytest.approx(0.8, abs=0.04)
    assert abs(upper_weight(plain) - 0.8) > 0.2                      # stuck near the 50/50 of the start
    # the last level's perturbed density is the mixture with variance 1 + sigma_L^2 = 2
    assert np.allclose(annealed[annealed[:, 0] > 0].mean(axis=0), [5, 5], atol=0.15)
    assert np.allclose(annealed[annealed[:, 0] > 0].std(axis=0), math.sqrt(2), atol=0.15)


def test_ncsn_learns_the_perturbed_score_of_a_gaussian():
    data = (2.0 + 0.5 * np.random.default_rng(0).standard_normal((4000, 1))).astype(np.float32)
    model = NCSN((1,), sigmas=geometric_sigmas(1.0, 0.1, 4))
    model.network = MLPDenoiser(1, hidden=32, n_layers=2, time_dim=16)
    model.fit(data, steps=400, batch_size=256, lr=1e-2, progress=False)
    # standardized data are N(0, 1), so q_sigma = N(0, 1 + sigma^2) and s(x) = -x / (1 + sigma^2);
    # (4) weighs errors by sigma, so compare sigma * s (what the network outputs) at data points
    x = np.random.default_rng(1).standard_normal((2000, 1)).astype(np.float32)
    for level, sigma in enumerate(model.sigmas):
        exact = -x / (1 + sigma ** 2)
        error = np.sqrt(((sigma * (model.learned_score(x, level) - exact)) ** 2).mean())
        assert error < 0.35 * np.sqrt(((sigma * exact) ** 2).mean())   # about 0.03-0.14 here


def test_ncsn_sample_shape_and_recorded_states():
    model = NCSN((2,), sigmas=[1.0, 0.5, 0.1])
    samples, states = model.sample(7, steps_per_sigma=4, step_lr=1e-3, seed=0, record_every=2)
    assert samples.shape == (7, 2) and np.isfinite(samples).all()
    assert states.shape == (1 + 3 * 2 + 1, 7, 2)                    # start, 2 per level, the denoising step
    assert np.array_equal(states[-1], samples)
    assert float(model.loss(np.zeros((8, 2), dtype=np.float32))) > 0


def test_ncsn_loss_with_pinned_levels_and_noise_is_weighted_denoising_score_matching(rng):
    model = NCSN((2,), sigmas=[1.0, 0.5, 0.1])
    x0 = rng.standard_normal((6, 2)).astype(np.float32)
    levels, z = np.array([0, 1, 2, 0, 1, 2]), rng.standard_normal((6, 2)).astype(np.float32)
    sigma = model.sigmas[levels][:, None]
    scores = np.stack([model.learned_score((x0[i:i + 1] + sigma[i] * z[i:i + 1]).astype(np.float32), level)[0]
                       for i, level in enumerate(levels)])
    expected = 0.5 * ((sigma * scores + z) ** 2).sum(axis=1).mean()                       # (4)
    assert float(model.loss(x0, levels=levels, noise=z)) == pytest.approx(float(expected), rel=1e-5)


def test_ncsn_keeps_the_contract_and_its_score_function():
    model = NCSN((2,))
    assert NCSN.likelihood_kind is None and NCSN.Defaults is NCSNDefaults
    assert (model.settings().steps, model.settings().batch_size, model.settings().lr) == (6000, 256, 2e-3)
    x = np.ones((3, 2), dtype=np.float32)
    assert np.array_equal(model.score(x, 2), model.learned_score(x, 2))        # the older spelling
    with pytest.raises(NotImplementedError, match="NCSN"):
        model.score(x)


def test_ncsn_rejects_bad_sigmas_and_data():
    with pytest.raises(ValueError, match="decreasing"):
        NCSN((2,), sigmas=[0.1, 1.0])
    with pytest.raises(ValueError, match=r"NCSN.fit: expected examples of shape \(2,\)"):
        NCSN((2,)).fit(np.zeros((4, 3)), steps=1, progress=False)
