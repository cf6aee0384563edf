"""Every differentiable function of API.md passes a float64 gradcheck on drawn shapes (mutually
broadcastable, size-1 axes, 0-d scalars), values inside its domain and a random upstream gradient;
and no op mutates its inputs."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from strategies import (away_from, float64_arrays, mutually_broadcastable, positive_arrays, seeds,
                        separated_arrays, shapes)


def assert_inputs_unchanged(fn, arrays, seed=0):
    """Run fn forward and backward on Tensors of `arrays`; the arrays must come out untouched."""
    copies = [a.copy() for a in arrays]
    tensors = [ag.tensor(a, requires_grad=True) for a in arrays]
    datas = [t.data for t in tensors]
    before = [d.copy() for d in datas]
    out = fn(*tensors)
    out.backward(np.random.default_rng(seed).standard_normal(out.shape))
    for a, c, d, b in zip(arrays, copies, datas, before):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(d, b)


def check(fn, arrays, seed):
    assert ag.gradcheck(fn, arrays, seed=seed)
    assert_inputs_unchanged(fn, arrays, seed)


# -- binary, broadcasting --------------------------------------------------------------------

BINARY = {
    "add": (ag.add, None), "sub": (ag.sub, None), "mul": (ag.mul, None),
    "div": (ag.div, "positive_b"), "pow": (ag.pow, "positive_a"),
    "maximum": (ag.maximum, "unique"), "minimum": (ag.minimum, "unique"),
    "operator+": (lambda a, b: a + b, None), "operator-": (lambda a, b: a - b, None),
    "operator*": (lambda a, b: a * b, None), "operator/": (lambda a, b: a / b, "positive_b"),
    "operator**": (lambda a, b: a ** b, "positive_a"),
}


@pytest.mark.parametrize("name", BINARY)
@given(shapes=mutually_broadcastable(2), data=st.data(), seed=seeds)
def test_binary_gradient(name, shapes, data, seed):
    fn, domain = BINARY[name]
    a_shape, b_shape = shapes
    if domain == "unique":  # a on the grid 0.1 k, b on the grid 0.1 k + 0.05: they never tie
        a = data.draw(separated_arrays(a_shape, unique=False))
        b = data.draw(separated_arrays(b_shape, offset=0.05, unique=False))
    else:
        a = data.draw(positive_arrays(a_shape) if domain == "positive_a" else float64_arrays(a_shape))
        b = data.draw(positive_arrays(b_shape) if domain == "positive_b" else float64_arrays(b_shape))
    check(fn, (a, b), seed)


@given(shapes=mutually_broadcastable(3), data=st.data(), seed=seeds)
def test_where_gradient(shapes, data, seed):
    c_shape, a_shape, b_shape = shapes
    condition = data.draw(float64_arrays(c_shape)) > 0
    a, b = data.draw(float64_arrays(a_shape)), data.draw(float64_arrays(b_shape))
    check(lambda x, y: ag.where(condition, x, y), (a, b), seed)


@given(data=st.data(), seed=seeds)
def test_matmul_gradient(data, seed):
    """matmul with PyTorch's rules: 1-D operands promoted, batch axes broadcast."""
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    batch_a, batch_b = data.draw(mutually_broadcastable(2, max_dims=2, max_side=2))
    a_shape = data.draw(st.sampled_from([(k,), (n, k), batch_a + (n, k)]))
    b_shape = data.draw(st.sampled_from([(k,), (k, m), batch_b + (k, m)]))
    a, b = data.draw(float64_arrays(a_shape)), data.draw(float64_arrays(b_shape))
    assert (ag.tensor(a) @ ag.tensor(b)).shape == np.matmul(a, b).shape
    check(ag.matmul, (a, b), seed)


@given(data=st.data(), seed=seeds)
def test_linear_gradient(data, seed):
    lead = data.draw(shapes(min_dims=1, max_dims=2, max_side=3))
    n_in, n_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    x = data.draw(float64_arrays(lead + (n_in,)))
    w, b = data.draw(float64_arrays((n_out, n_in))), data.draw(float64_arrays((n_out,)))
    np.testing.assert_allclose(ag.linear(ag.tensor(x), ag.tensor(w), ag.tensor(b)).data, x @ w.T + b)
    check(ag.linear, (x, w, b), seed)
    check(ag.linear, (x, w), seed)


# -- unary -------------------------------------------------------------------------------------

UNARY = {
    "neg": (ag.neg, float64_arrays), "exp": (ag.exp, float64_arrays),
    "log": (ag.log, positive_arrays), "log1p": (ag.log1p, lambda s: float64_arrays(s, -0.5, 3.0)),
    "sqrt": (ag.sqrt, positive_arrays), "sin": (ag.sin, float64_arrays), "cos": (ag.cos, float64_arrays),
    "tanh": (ag.tanh, float64_arrays), "sigmoid": (ag.sigmoid, float64_arrays),
    "softplus": (ag.softplus, float64_arrays), "logsigmoid": (ag.logsigmoid, float64_arrays),
    "abs": (ag.abs, lambda s: away_from(s, [0.0])), "relu": (ag.relu, lambda s: away_from(s, [0.0])),
    "leaky_relu": (lambda x: ag.leaky_relu(x, 0.2), lambda s: away_from(s, [0.0])),
    "clip": (lambda x: ag.clip(x, -1.0, 1.5), lambda s: away_from(s, [-1.0, 1.5])),
    "pow_scalar": (lambda x: x ** 3, float64_arrays), "pow_half": (lambda x: x ** 0.5, positive_arrays),
    "rpow": (lambda x: 2.0 ** x, float64_arrays), "rsub": (lambda x: 1.0 - x, float64_arrays),
    "rdiv": (lambda x: 1.0 / x, positive_arrays),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes(), data=st.data(), seed=seeds)
def test_unary_gradient(name, shape, data, seed):
    fn, domain = UNARY[name]
    check(fn, (data.draw(domain(shape)),), seed)


# -- reductions --------------------------------------------------------------------------------

def axes_for(ndim):
    """None, one axis (possibly negative) or a tuple of axes of an ndim-array."""
    if ndim == 0:
        return st.just(None)
    single = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return st.one_of(st.just(None), single, several)


REDUCTIONS = {"sum": ag.sum, "mean": ag.mean, "var": ag.var, "max": ag.max, "min": ag.min,
              "logsumexp": ag.logsumexp}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(shape=shapes(), data=st.data(), keepdims=st.booleans(), seed=seeds)
def test_reduction_gradient(name, shape, data, keepdims, seed):
    axis = data.draw(axes_for(len(shape)))
    x = data.draw(separated_arrays(shape) if name in ("max", "min") else float64_arrays(shape))
    reference = getattr(np, name if name != "logsumexp" else "sum")
    expected = (np.log(np.exp(x).sum(axis=axis, keepdims=keepdims)) if name == "logsumexp"
                else reference(x, axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(REDUCTIONS[name](ag.tensor(x), axis=axis, keepdims=keepdims).data,
                               expected, rtol=1e-10, atol=1e-12)
    check(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), (x,), seed)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_softmax_gradient(name, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(float64_arrays(shape))
    fn = getattr(ag, name)
    log_p = x - np.log(np.exp(x).sum(axis=axis, keepdims=True))
    expected = log_p if name == "log_softmax" else np.exp(log_p)
    np.testing.assert_allclose(fn(ag.tensor(x), axis=axis).data, expected, rtol=1e-10, atol=1e-12)
    check(lambda t: fn(t, axis=axis), (x,), seed)


# -- shape -------------------------------------------------------------------------------------

@given(shape=shapes(), data=st.data(), seed=seeds)
def test_reshape_and_transpose_gradient(shape, data, seed):
    x = data.draw(float64_arrays(shape))
    axes = tuple(data.draw(st.permutations(range(len(shape)))))
    check(lambda t: ag.reshape(t, (-1,)), (x,), seed)
    check(lambda t: ag.transpose(t, *axes) if axes else ag.transpose(t), (x,), seed)
    np.testing.assert_array_equal(ag.tensor(x).transpose(*axes).data, np.transpose(x, axes or None))
    check(lambda t: t.T, (x,), seed)


@given(shapes=mutually_broadcastable(2), data=st.data(), seed=seeds)
def test_broadcast_to_gradient(shapes, data, seed):
    target = np.broadcast_shapes(*shapes)
    x = data.draw(float64_arrays(shapes[0]))
    check(lambda t: ag.broadcast_to(t, target), (x,), seed)


@given(shape=shapes(min_dims=1), data=st.data(), n=st.integers(1, 3), seed=seeds)
def test_concatenate_and_stack_gradient(shape, data, n, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = [data.draw(float64_arrays(shape)) for _ in range(n)]
    np.testing.assert_array_equal(ag.concatenate([ag.tensor(a) for a in arrays], axis=axis).data,
                                  np.concatenate(arrays, axis=axis))
    np.testing.assert_array_equal(ag.stack([ag.tensor(a) for a in arrays], axis=axis).data,
                                  np.stack(arrays, axis=axis))
    check(lambda *ts: ag.concatenate(ts, axis=axis), arrays, seed)
    check(lambda *ts: ag.stack(ts, axis=axis), arrays, seed)


@given(shape=shapes(), data=st.data(), n=st.integers(1, 3), seed=seeds)
def test_stack_gradient_on_every_new_axis(shape, data, n, seed):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [data.draw(float64_arrays(shape)) for _ in range(n)]
    np.testing.assert_array_equal(ag.stack([ag.tensor(a) for a in arrays], axis=axis).data,
                                  np.stack(arrays, axis=axis))
    check(lambda *ts: ag.stack(ts, axis=axis), arrays, seed)
    assert ag.gradgradcheck(lambda *ts: ag.stack(ts, axis=axis) ** 2, arrays, seed=seed)


# -- indexing ----------------------------------------------------------------------------------

@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_basic_indexing_gradient(shape, data, seed):
    x = data.draw(float64_arrays(shape))
    index = data.draw(st.one_of(
        st.integers(-shape[0], shape[0] - 1),
        hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)))
    np.testing.assert_array_equal(ag.tensor(x)[index].data, x[index])
    check(lambda t: t[index] * 1.0, (x,), seed)


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_integer_array_indexing_with_repeats(shape, data, seed):
    """Repeated indices must add their gradients (scatter-add, not assignment)."""
    x = data.draw(float64_arrays(shape))
    rows = np.asarray(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6)))
    np.testing.assert_array_equal(ag.tensor(x)[rows].data, x[rows])
    check(lambda t: t[rows], (x,), seed)
    if len(shape) >= 2:
        cols = np.asarray(data.draw(st.lists(st.integers(0, shape[1] - 1), min_size=len(rows),
                                             max_size=len(rows))))
        check(lambda t: t[rows, cols], (x,), seed)


def test_repeated_index_gradient_counts_each_read():
    x = ag.tensor(np.arange(4.0), requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0, 0.0])


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_boolean_indexing_gradient(shape, data, seed):
    x = data.draw(float64_arrays(shape))
    mask = data.draw(hnp.arrays(np.bool_, shape))
    np.testing.assert_array_equal(ag.tensor(x)[mask].data, x[mask])
    check(lambda t: t[ag.tensor(mask)] * 1.0, (x,), seed)


