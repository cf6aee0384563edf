"""EnergyModel: the loss (3), the Langevin sampler (4) at its temperature (5), step clipping and the
box, the replay buffer (6), the quadratic energy fitting a Gaussian by contrastive divergence (7),
and a short end-to-end fit of two blobs."""
import math

import numpy as np
import pytest

from autograd.tensor import Tensor
from minigen.models import EnergyModel

MEAN = np.array([1.0, -2.0])
COVARIANCE = np.array([[2.0, 0.8], [0.8, 1.0]])


def gaussian_data(n=4000, seed=0):
    return np.random.default_rng(seed).multivariate_normal(MEAN, COVARIANCE, size=n).astype(np.float32)


def quadratic_model(step_size, noise_scale):
    """hidden=(): the quadratic energy (7); data_std 1 and no clipping, so (4) is plain Langevin."""
    return EnergyModel(2, hidden=(), data_std=1.0, step_size=step_size, noise_scale=noise_scale, step_clip=None)


def quadratic_form(model):
    """(m, P^-1) of a quadratic energy 1/2 (x - m)^T P (x - m) + c in data coordinates, from central
    differences of model.energy (exact for a quadratic, whatever the step h)."""
    def energy(point):
        return model.energy(np.asarray([point], dtype=np.float32))[0]
    h, unit = 1.0, np.eye(2)
    gradient = np.array([(energy(h * e) - energy(-h * e)) / (2 * h) for e in unit])
    hessian = np.array([[(energy(h * a + h * b) - energy(h * a - h * b) - energy(-h * a + h * b)
                          + energy(-h * a - h * b)) / (4 * h * h) for b in unit] for a in unit])
    return -np.linalg.solve(hessian, gradient), np.linalg.inv(hessian)


def test_contrastive_divergence_fits_a_quadratic_energy_to_the_data_mean_and_covariance():
    """(7) with T = 1 (noise_scale = sqrt(2 step_size)) and alpha = 0: the fixed point of (3) is
    the Gaussian of the data's mean and covariance."""
    X = gaussian_data()
    model = quadratic_model(0.05, math.sqrt(0.1)).fit(X, steps=500, batch_size=256, buffer_size=1000, alpha=0.0,
                                                      progress=False)
    assert model.temperature == pytest.approx(1.0)
    mean, covariance = quadratic_form(model)
    ml_covariance = np.cov(X.T, bias=True)
    np.testing.assert_allclose(mean, X.mean(axis=0), atol=0.05)
    assert np.linalg.norm(covariance - ml_covariance) / np.linalg.norm(ml_covariance) < 0.08


def test_langevin_samples_the_gaussian_of_a_quadratic_energy_at_its_temperature():
    """(4) and (5): with E = 1/2 (x - m)^T A A^T (x - m) the chain's stationary law is N(m, T (A A^T)^-1)."""
    model = quadratic_model(0.01, 0.1)                                   # T = 0.1^2 / (2 0.01) = 0.5
    model.network.center.data[...] = [1.0, -1.0]
    model.network.factor.data[...] = [[1.5, 0.0], [0.5, 1.0]]
    model.low, model.high = np.full(2, -100, np.float32), np.full(2, 100, np.float32)
    chains = model.langevin(np.zeros((4000, 2), np.float32), 1500, np.random.default_rng(0))
    precision = model.network.factor.numpy() @ model.network.factor.numpy().T
    np.testing.assert_allclose(chains.mean(axis=0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(chains.T), 0.5 * np.linalg.inv(precision), atol=0.03)


def test_each_move_is_clipped_and_the_chain_stays_in_the_box():
    X = np.array([[0.0, 0.0], [1.0, 4.0], [2.0, 2.0]], dtype=np.float32)
    model = EnergyModel(2, hidden=(), data_std=1.0, step_size=100.0, noise_scale=0.0, step_clip=0.04)
    model.fit(X, steps=1, progress=False)
    start = model.standardize(np.array([[0.5, 1.0]], dtype=np.float32))
    moved = model.langevin(start, 1, np.random.default_rng(0))
    np.testing.assert_allclose(np.abs(moved - start), 0.04, rtol=1e-5)   # steep energy: the clip decides
    samples = model.sample(200, steps=50, seed=0)
    assert np.all(samples >= X.min(axis=0) - 1e-5) and np.all(samples <= X.max(axis=0) + 1e-5)


def test_the_replay_buffer_gives_stored_chains_or_fresh_noise_and_keeps_the_results():
    model = EnergyModel(2, hidden=(4,)).fit(gaussian_data(200), steps=1, batch_size=20, buffer_size=50,
                                            progress=False)
    before = model.replay.copy()
    kept = model.negatives(30, steps=0, reinit=0.0, generator=np.random.default_rng(0))
    assert all(any(np.array_equal(row, stored) for stored in before) for row in kept)
    fresh = model.negatives(30, steps=3, reinit=1.0, generator=np.random.default_rng(1))
    assert np.all(fresh >= model.low) and np.all(fresh <= model.high)
    assert all(any(np.array_equal(row, stored) for stored in model.replay) for row in fresh)
    assert not np.array_equal(model.replay, before)


def test_the_loss_is_the_energy_gap_plus_the_penalty():
    model = EnergyModel(3, hidden=(5,), seed=1)
    rng = np.random.default_rng(0)
    positives, negatives = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    e_plus, e_minus = (model.network(Tensor(x)).numpy() for x in (positives, negatives))
    expected = e_plus.mean() - e_minus.mean() + 0.3 * ((e_plus ** 2).mean() + (e_minus ** 2).mean())   # (3)
    assert model.loss(positives, negatives, alpha=0.3).item() == pytest.approx(expected, rel=1e-6)


def test_a_short_fit_puts_samples_on_both_of_two_blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[-2.0, 0.0], [2.0, 0.0]])
    X = (centers[rng.integers(2, size=4000)] + 0.1 * rng.standard_normal((4000, 2))).astype(np.float32)
    model = EnergyModel(2, hidden=(32, 32), sample_steps=200).fit(X, steps=200, progress=False)
    samples = model.sample(1000, seed=1)
    distances = np.linalg.norm(samples[:, None] - centers[None], axis=2)         # (1000, 2)
    assert np.all(distances.min(axis=1) < 0.3)
    assert 0.35 < np.mean(distances.argmin(axis=1) == 0) < 0.65
    assert model.energy(X[:7]).shape == (7,)


def test_data_std_defaults_by_dimension_and_bad_arguments_are_refused():
    assert EnergyModel(2).data_std == 4.0 and EnergyModel(64).data_std == 1.0
    with pytest.raises(ValueError, match="EnergyModel: need"):
        EnergyModel(2, step_size=0.0)
    with pytest.raises(ValueError, match="EnergyModel: need"):
        EnergyModel(2, step_clip=-1.0)
    with pytest.raises(ValueError, match="EnergyModel.energy"):
        EnergyModel(2).energy(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="EnergyModel.fit: the replay buffer"):
        EnergyModel(2).fit(gaussian_data(50), steps=1, batch_size=64, buffer_size=10, progress=False)
