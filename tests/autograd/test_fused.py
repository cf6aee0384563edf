"""Fused GELU and layer norm (autograd/ops/fused.py) against their formulas in NumPy, and their
first and second derivatives against finite differences."""
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import nn
from autograd.nn import functional as F
from autograd.ops.fused import gelu_reference
from tests.strategies import float64_arrays, shapes


@given(data=st.data())
def test_gelu_matches_its_formula_and_is_twice_differentiable(data):
    x = data.draw(float64_arrays(data.draw(shapes(min_dims=0, max_dims=3))))
    expected = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(F.gelu(autograd.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nn.GELU()(autograd.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    leaf = autograd.tensor(x, requires_grad=True)
    assert autograd.gradcheck(F.gelu, (leaf,))
    assert autograd.gradgradcheck(F.gelu, (leaf,))
    upstream = autograd.tensor(data.draw(float64_arrays(x.shape)))
    fused, = autograd.grad((F.gelu(leaf) * upstream).sum(), [leaf])
    readable, = autograd.grad((gelu_reference(leaf) * upstream).sum(), [leaf])
    np.testing.assert_allclose(gelu_reference(leaf).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused.data, readable.data, rtol=1e-10, atol=1e-12)


@given(data=st.data(), width=st.integers(2, 5))
def test_fused_layer_norm_matches_its_formula_and_is_twice_differentiable(data, width):
    lead = data.draw(shapes(min_dims=0, max_dims=2))
    x, weight, bias = (data.draw(float64_arrays(shape)) for shape in (lead + (width,), (width,), (width,)))
    x = x + np.linspace(0, 1, width)                                   # never a constant row
    centred = x - x.mean(axis=-1, keepdims=True)
    expected = centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + 1e-5) * weight + bias
    fused = F.layer_norm(autograd.tensor(x), width, autograd.tensor(weight), autograd.tensor(bias))
    np.testing.assert_allclose(fused.data, expected, rtol=1e-10, atol=1e-10)
    leaves = tuple(autograd.tensor(a, requires_grad=True) for a in (x, weight, bias))
    assert autograd.gradcheck(lambda *t: F.layer_norm(t[0], width, t[1], t[2]), leaves)
    assert autograd.gradgradcheck(lambda *t: F.layer_norm(t[0], width, t[1], t[2]), leaves)
