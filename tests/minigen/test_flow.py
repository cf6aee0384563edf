"""RealNVP: the log-determinant against the full Jacobian, the inverse, a density that integrates to
one, the Gaussian maximum-likelihood fit, and the likelihood of dequantized digits."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd.tensor import Tensor
from minigen.data import load_digits
from minigen.models import RealNVP
from minigen.models.flow import bits_per_dim, coupling_masks, dequantize


def float64_flow(data_dim, n_layers, hidden=(8,), seed=0):
    """A RealNVP in float64 with random couplings (not the identity it starts as) and a
    standardization that is not the identity either."""
    model = RealNVP(data_dim, n_layers=n_layers, hidden=hidden, seed=seed)
    rng = np.random.default_rng(seed)
    for parameter in model.parameters():
        parameter.data = rng.normal(0.0, 0.5, parameter.shape)
    model.shift = rng.normal(size=data_dim)
    model.scale = np.asarray(1.7)
    return model


def full_jacobian_log_det(model, x):
    """log |det dz/dx| from the whole Jacobian, one row dz_i/dx at a time by reverse mode: (n,)."""
    inputs = Tensor(x, requires_grad=True)
    z, _ = model.forward(inputs)
    rows = [autograd.grad(z[:, i].sum(), [inputs], retain_graph=True)[0].data for i in range(x.shape[1])]
    jacobians = np.stack(rows, axis=1)                                       # (n, D, D)
    return np.linalg.slogdet(jacobians)[1]


def test_masks_alternate_so_that_every_coordinate_is_transformed():
    assert coupling_masks(2, 4).tolist() == [[1, 0], [0, 1], [1, 0], [0, 1]]
    masks = coupling_masks(6, 4)
    assert masks[0].tolist() == [1, 0, 1, 0, 1, 0] and masks[2].tolist() == [1, 1, 1, 0, 0, 0]
    assert np.array_equal(masks[1], 1 - masks[0]) and np.array_equal(masks[3], 1 - masks[2])


@given(data_dim=st.integers(2, 5), n_layers=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_log_det_equals_the_full_jacobians(data_dim, n_layers, seed):
    model = float64_flow(data_dim, n_layers, seed=seed)
    x = np.random.default_rng(seed + 1).normal(size=(6, data_dim)) * 2
    _, log_det = model.forward(Tensor(x))
    assert log_det.dtype == np.float64
    np.testing.assert_allclose(log_det.data, full_jacobian_log_det(model, x), rtol=0, atol=1e-8)


@given(data_dim=st.integers(2, 5), n_layers=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_inverse_undoes_forward_in_float64(data_dim, n_layers, seed):
    model = float64_flow(data_dim, n_layers, seed=seed)
    x = np.random.default_rng(seed + 1).normal(size=(8, data_dim)) * 2
    z, _ = model.forward(Tensor(x))
    np.testing.assert_allclose(model.inverse(z).data, x, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.forward(model.inverse(Tensor(x)))[0].data, x, rtol=0, atol=1e-10)


def test_the_density_integrates_to_one():
    model = float64_flow(2, n_layers=4, hidden=(16,), seed=3)
    for parameter in model.parameters():
        parameter.data *= 0.6                          # a smooth density, so a Riemann sum is accurate
    axis = np.linspace(-12, 12, 801)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    with autograd.no_grad():
        log_p = model.log_prob_tensor(Tensor(grid)).data
    assert np.exp(log_p).sum() * (axis[1] - axis[0]) ** 2 == pytest.approx(1.0, abs=5e-3)


def gaussian_log_likelihood(X, mean, covariance):
    difference = X - mean
    mahalanobis = np.einsum("ni,ij,nj->n", difference, np.linalg.inv(covariance), difference)
    return -0.5 * (mahalanobis + np.linalg.slogdet(2 * np.pi * covariance)[1])


def test_two_linear_couplings_reach_the_gaussian_maximum_likelihood_fit():
    """With linear conditioners (hidden=()) two couplings in 2-D compose to z = L (x - mu) / sigma
    with L triangular, which reaches every Gaussian: the fit must find the ML mean and covariance."""
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal([1.0, -2.0], [[2.0, 1.2], [1.2, 1.5]], size=4000).astype(np.float64)
    model = RealNVP(2, n_layers=2, hidden=(), seed=0).fit(X, steps=1500, lr=1e-2, batch_size=500, progress=False)
    ml_mean, ml_covariance = X.mean(axis=0), np.cov(X.T, bias=True)
    samples = model.sample(200_000, seed=1).astype(np.float64)
    np.testing.assert_allclose(samples.mean(axis=0), ml_mean, atol=0.02)
    np.testing.assert_allclose(np.cov(samples.T), ml_covariance, atol=0.03)
    best = gaussian_log_likelihood(X, ml_mean, ml_covariance).mean()
    assert model.score(X) == pytest.approx(best, abs=0.005)


def test_dequantize_and_bits_per_dim():
    levels = np.array([[0, 16, 3]])
    y = dequantize(np.repeat(levels, 1000, axis=0), 17, np.random.default_rng(0))
    assert np.all(y >= levels / 17) and np.all(y < (levels + 1) / 17)
    # the uniform density on [0, 1)^D puts 1 / L^D on each discrete vector: log2 L bits per dimension
    assert bits_per_dim(np.zeros(5), data_dim=3, n_levels=17) == pytest.approx(math.log2(17))
    with pytest.raises(ValueError, match="dequantize"):
        dequantize(np.array([[0.5, 17.0]]), 17, np.random.default_rng(0))


def test_training_on_dequantized_digits_beats_the_flows_starting_gaussian():
    """The untrained flow is N(mu, sigma^2 I) of its standardization (3); training must improve on
    it and on the uniform density (log2 17 bits), and every held-out likelihood stays finite."""
    rng = np.random.default_rng(0)
    train = dequantize(np.repeat(np.round(load_digits("train")[:600] * 16), 3, axis=0), 17, rng)
    held_out = dequantize(np.round(load_digits("test")[:200] * 16), 17, rng)
    model = RealNVP(64, n_layers=4, hidden=(32,), seed=0).fit(train, steps=300, progress=False)
    log_p = model.log_prob(held_out)
    assert np.all(np.isfinite(log_p))
    shift, scale = model.shift.astype(np.float64), float(model.scale)
    starting = gaussian_log_likelihood(held_out, shift, scale ** 2 * np.eye(64))
    assert bits_per_dim(log_p, 64, 17) < bits_per_dim(starting, 64, 17) - 0.3
    assert bits_per_dim(log_p, 64, 17) < math.log2(17)


def test_sampling_is_seeded_and_shaped_like_the_data():
    model = RealNVP(3, n_layers=2, hidden=(4,), seed=0)
    first, again, other = model.sample(5, seed=1), model.sample(5, seed=1), model.sample(5, seed=2)
    assert first.shape == (5, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_forward_and_inverse_on_arrays_give_arrays():
    model = float64_flow(3, n_layers=3)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    z, log_det = model.forward(x)
    assert isinstance(z, np.ndarray) and z.shape == (4, 3) and log_det.shape == (4,)
    np.testing.assert_allclose(model.log_prob(x), (-0.5 * (z.astype(np.float64) ** 2).sum(axis=1)
                                                  - 1.5 * math.log(2 * math.pi) + log_det), rtol=1e-5)
    np.testing.assert_allclose(model.inverse(z), x, atol=1e-4)


def test_bad_arguments_and_data_are_refused():
    with pytest.raises(ValueError, match="RealNVP: .*data_dim"):
        RealNVP(1)
    with pytest.raises(ValueError, match="RealNVP: n_layers"):
        RealNVP(2, n_layers=0)
    with pytest.raises(ValueError, match="RealNVP.forward"):
        RealNVP(2).forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="RealNVP.inverse"):
        RealNVP(2).inverse(np.full((3, 2), np.nan))
