"""The kernels that run block by block on the host (GELU, its gradient, layer norm and its gradient)
give, on arrays of many blocks, what their formulas give on the whole array at once."""
import numpy as np
import pytest

import autograd as ag
from autograd.kernels import reference
from autograd.nn import functional as F

C, K = reference.GELU_C, reference.GELU_K


@pytest.fixture
def big(rng):
    """(300, 500) values: more than two blocks, and rows that straddle block boundaries."""
    assert 300 * 500 > 2 * reference.BLOCK
    return rng.standard_normal((300, 500))


def gelu_formula(x):
    return 0.5 * x * (1 + np.tanh(C * (x + K * x ** 3)))


def gelu_slope_formula(x):
    t = np.tanh(C * (x + K * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * K * x * x)


def test_blocked_gelu_and_its_gradient_match_the_formulas(big, rng):
    gy = rng.standard_normal(big.shape)
    np.testing.assert_allclose(reference.gelu(big), gelu_formula(big), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(reference.gelu_grad(gy, big), gy * gelu_slope_formula(big), rtol=1e-12, atol=1e-14)
    broadcast_gy = np.broadcast_to(np.float64(2.0), big.shape)             # a strided input: one piece
    np.testing.assert_allclose(reference.gelu_grad(broadcast_gy, big), 2 * gelu_slope_formula(big), rtol=1e-12, atol=1e-14)


def test_blocked_layer_norm_and_its_gradient_match_the_formulas(big, rng):
    weight, bias, gy = rng.standard_normal(500), rng.standard_normal(500), rng.standard_normal(big.shape)
    centred = big - big.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + 1e-5)
    xhat = centred * rstd
    y, got_xhat, got_rstd = reference.layer_norm(big, weight, bias, 1e-5)
    np.testing.assert_allclose(y, xhat * weight + bias, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_xhat, xhat, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_rstd, rstd, rtol=1e-12)
    g = gy * weight
    expected = rstd * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    np.testing.assert_allclose(reference.layer_norm_grad(gy, xhat, rstd, weight), expected, rtol=1e-9, atol=1e-11)


def test_layer_norm_backward_on_arrays_matches_the_recorded_backward(big, rng):
    """Plain backward computes dx on arrays; create_graph computes it with Tensor ops: they agree."""
    x = ag.tensor(big[:40], requires_grad=True)
    weight = ag.tensor(rng.standard_normal(500), requires_grad=True)
    bias = ag.tensor(rng.standard_normal(500), requires_grad=True)
    upstream = rng.standard_normal((40, 500))
    plain = ag.grad((F.layer_norm(x, 500, weight, bias) * upstream).sum(), [x, weight, bias])
    recorded = ag.grad((F.layer_norm(x, 500, weight, bias) * upstream).sum(), [x, weight, bias], create_graph=True)
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)
