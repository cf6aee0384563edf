"""Second derivatives (create_graph=True) of every op a critic or a penalty uses match finite
differences of the first derivative: gradgradcheck on drawn shapes and domains."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import autograd.nn.functional as F
from strategies import away_from, float64_arrays, mutually_broadcastable, positive_arrays, seeds, shapes

small = dict(max_dims=2, max_side=3)

UNARY = {
    "tanh": (ag.tanh, float64_arrays), "sigmoid": (ag.sigmoid, float64_arrays),
    "softplus": (ag.softplus, float64_arrays), "logsigmoid": (ag.logsigmoid, float64_arrays),
    "exp": (ag.exp, float64_arrays), "log": (ag.log, positive_arrays),
    "sqrt": (ag.sqrt, positive_arrays), "sin": (ag.sin, float64_arrays), "cos": (ag.cos, float64_arrays),
    "relu": (ag.relu, lambda s: away_from(s, [0.0])),
    "leaky_relu": (lambda x: ag.leaky_relu(x, 0.2), lambda s: away_from(s, [0.0])),
    "abs": (ag.abs, lambda s: away_from(s, [0.0])),
    "pow_scalar": (lambda x: x ** 3, float64_arrays), "pow_half": (lambda x: x ** 0.5, positive_arrays),
    "silu": (ag.nn.SiLU(), float64_arrays), "gelu": (ag.nn.GELU(), float64_arrays),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=5)
@given(shape=shapes(**small), data=st.data(), seed=seeds)
def test_unary_second_derivative(name, shape, data, seed):
    fn, domain = UNARY[name]
    assert ag.gradgradcheck(fn, (data.draw(domain(shape)),), seed=seed)


@pytest.mark.parametrize("fn", [ag.mul, ag.div, ag.pow, ag.add, ag.sub], ids=lambda f: f.__name__)
@settings(max_examples=5)
@given(shapes=mutually_broadcastable(2, **small), data=st.data(), seed=seeds)
def test_binary_second_derivative(fn, shapes, data, seed):
    a = data.draw(positive_arrays(shapes[0]))
    b = data.draw(positive_arrays(shapes[1]))
    assert ag.gradgradcheck(fn, (a, b), seed=seed)


@settings(max_examples=5)
@given(data=st.data(), seed=seeds)
def test_matmul_and_linear_second_derivative(data, seed):
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    a, b = data.draw(float64_arrays((n, k))), data.draw(float64_arrays((k, m)))
    assert ag.gradgradcheck(ag.matmul, (a, b), seed=seed)
    bias = data.draw(float64_arrays((m,)))
    assert ag.gradgradcheck(lambda x, w, c: ag.linear(x, w, c), (a, b.T.copy(), bias), seed=seed)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "logsumexp", "max", "min"])
@settings(max_examples=5)
@given(shape=shapes(min_dims=1, **small), data=st.data(), seed=seeds)
def test_reduction_second_derivative(name, shape, data, seed):
    from strategies import separated_arrays
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    x = data.draw(separated_arrays(shape) if name in ("max", "min") else float64_arrays(shape))
    reduce = getattr(ag, name)
    assert ag.gradgradcheck(lambda t: reduce(t, axis=axis) ** 2, (x,), seed=seed)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=5)
@given(shape=shapes(min_dims=1, **small), data=st.data(), seed=seeds)
def test_softmax_second_derivative(name, shape, data, seed):
    x = data.draw(float64_arrays(shape))
    assert ag.gradgradcheck(getattr(ag, name), (x,), seed=seed)


@settings(max_examples=5)
@given(n=st.integers(1, 3), d=st.integers(2, 4), data=st.data(), seed=seeds)
def test_layer_norm_second_derivative(n, d, data, seed):
    x = data.draw(float64_arrays((n, d)))
    w, b = data.draw(float64_arrays((d,))), data.draw(float64_arrays((d,)))
    assert ag.gradgradcheck(lambda t, g, c: F.layer_norm(t, (d,), g, c), (x, w, b), seed=seed, atol=1e-4)


def test_gradient_penalty_of_a_small_critic():
    """WGAN-GP's use: the norm of d critic / d x, differentiated with respect to the weights."""
    rng = np.random.default_rng(0)
    x, w1, w2 = rng.standard_normal((3, 2)), rng.standard_normal((4, 2)), rng.standard_normal((1, 4))

    def penalty(x, w1, w2):
        xi = ag.tensor(x.data, requires_grad=True) if not x.requires_grad else x
        score = ag.linear(ag.leaky_relu(ag.linear(xi, w1), 0.2), w2).sum()
        (g,) = ag.grad(score, xi, create_graph=True)
        return ((g * g).sum(axis=1).sqrt() - 1) ** 2

    assert ag.gradcheck(penalty, (x, w1, w2))
