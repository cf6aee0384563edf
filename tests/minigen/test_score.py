"""Score models: the exact mixture score, plain against annealed Langevin on a two-mode mixture, the
VP SDE samplers with the exact score, and NCSN trained by denoising score matching."""
import math

import numpy as np
import pytest

from minigen.models.denoisers import MLPDenoiser
from minigen.models.sde import VPSDE
from minigen.models.score import (NCSN, annealed_langevin, geometric_sigmas, langevin,
                                  mixture_score)

MEANS = np.array([[5.0, 5.0], [-5.0, -5.0]])
WEIGHTS = np.array([0.8, 0.2])


def log_mixture(x, means, weights, variance):
    squared = ((x[:, None, :] - means[None]) ** 2).sum(axis=2)
    return np.log((weights * np.exp(-squared / (2 * variance))).sum(axis=1))


def upper_weight(x):
    return float((x[:, 0] > 0).mean())


def test_geometric_sigmas_default_ladder():
    sigmas = geometric_sigmas()
    assert len(sigmas) == 10 and sigmas[0] == pytest.approx(1.0) and sigmas[-1] == pytest.approx(0.01)
    assert np.allclose(sigmas[1:] / sigmas[:-1], sigmas[1] / sigmas[0])


def test_mixture_score_is_the_gradient_of_the_log_density(rng):
    x = rng.standard_normal((5, 2)) * 4
    h = 1e-6
    numeric = np.stack([(log_mixture(x + h * e, MEANS, WEIGHTS, 2.0) - log_mixture(x - h * e, MEANS, WEIGHTS, 2.0))
                        / (2 * h) for e in np.eye(2)], axis=1)
    assert np.allclose(mixture_score(x, MEANS, WEIGHTS, 2.0), numeric, atol=1e-5)


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


@pytest.mark.parametrize("method, steps", [("sde", 300), ("ode", 100)])
def test_vp_sde_samplers_with_the_exact_score_reproduce_the_mixture(method, steps, rng):
    means, std = MEANS / 5, 0.2                                      # data: components N(+-(1, 1), 0.2^2 I)
    sde = VPSDE()

    def score(x, t):
        signal, spread = sde.marginal(t)                             # (8): q_t is again a mixture
        return mixture_score(x, means * signal, WEIGHTS, (signal * std) ** 2 + spread ** 2)
    start = rng.standard_normal((1500, 2)).astype(np.float32)
    samples = sde.sample(score, start, method, steps, rng)[-1]
    upper = samples[samples[:, 0] > 0]
    assert upper_weight(samples) == pytest.approx(0.8, abs=0.04)
    assert np.allclose(upper.mean(axis=0), [1, 1], atol=0.03)
    assert np.allclose(upper.std(axis=0), std, atol=0.03)


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
        error = np.sqrt(((sigma * (model.score(x, level) - exact)) ** 2).mean())
        assert error < 0.35 * np.sqrt(((sigma * exact) ** 2).mean())   # about 0.03-0.14 here


def test_ncsn_sample_shape_and_recorded_states():
    model = NCSN((2,), sigmas=[1.0, 0.5, 0.1])
    samples, states = model.sample(7, steps_per_sigma=4, step_lr=1e-3, seed=0, record_every=2)
    assert samples.shape == (7, 2) and np.isfinite(samples).all()
    assert states.shape == (1 + 3 * 2 + 1, 7, 2)                    # start, 2 per level, the denoising step
    assert np.array_equal(states[-1], samples)
    assert float(model.loss(np.zeros((8, 2), dtype=np.float32))) > 0


def test_ncsn_rejects_bad_sigmas_and_data():
    with pytest.raises(ValueError, match="decreasing"):
        NCSN((2,), sigmas=[0.1, 1.0])
    with pytest.raises(ValueError, match="data_shape"):
        NCSN((2,)).fit(np.zeros((4, 3)), steps=1, progress=False)
    with pytest.raises(ValueError, match="method"):
        VPSDE().sample(lambda x, t: x, np.zeros((2, 2)), method="heun")
