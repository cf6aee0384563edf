"""The model kernels (minigen.kernels): their references follow their equations, the numba and cupy
versions agree with the references, and they are registered into the engine's kernel table."""
import importlib
import inspect

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from autograd import backend
from minigen.kernels import reference

dtypes = st.sampled_from([np.float32, np.float64])
sizes = st.integers(1, 9)
seeds = st.integers(0, 2**16)


def draw_array(seed, shape, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def sigmoid64(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


def gibbs_arguments(seed, n, n_visible, n_hidden, dtype, sample_hidden=True, gaussian=False):
    """(h, W, b, c, visible noise, hidden uniforms) of a random RBM.  W, b and c are multiples of 1/8
    below 4 in size, so every product and bias sum is exact in float32 whatever the summation order,
    and every backend's logits agree to the bit."""
    rng = np.random.default_rng(seed)
    hidden = (rng.random((n, n_hidden)) < 0.5).astype(dtype)
    W, vbias, hbias = (np.round(8 * rng.standard_normal(shape)).clip(-24, 24).astype(dtype) / 8
                       for shape in ((n_visible, n_hidden), (n_visible,), (n_hidden,)))
    noise = (rng.standard_normal if gaussian else rng.random)((n, n_visible)).astype(dtype)
    uniforms = rng.random((n, n_hidden)).astype(dtype) if sample_hidden else None
    return hidden, W, vbias, hbias, noise, uniforms


def test_sample_bernoulli_reference_is_sigmoid_then_threshold():
    logits = np.array([-800.0, -1.0, 0.0, 2.0, 800.0], dtype=np.float32)
    uniforms = np.array([0.5, 0.2, 0.5, 0.9, 0.999], dtype=np.float32)
    probs, samples = reference.sample_bernoulli(logits, uniforms)
    np.testing.assert_allclose(probs, [0.0, 0.26894142, 0.5, 0.88079708, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(samples, [0, 1, 0, 0, 1])


def test_bernoulli_layer_reference_adds_the_bias_then_samples():
    inputs = np.array([[0.5, -3.0], [2.0, 0.0]], dtype=np.float32)
    bias = np.array([-0.5, 1.0], dtype=np.float32)
    uniforms = np.array([[0.4, 0.2], [0.95, 0.7]], dtype=np.float32)
    logits, probs, samples = reference.bernoulli_layer(inputs, bias, uniforms)
    np.testing.assert_array_equal(logits, [[0.0, -2.0], [1.5, 1.0]])
    np.testing.assert_allclose(probs, sigmoid64(logits), rtol=1e-6)
    np.testing.assert_array_equal(samples, [[1, 0], [0, 1]])           # 1[u < p], p = .5 .12 .82 .73
    assert logits.dtype == probs.dtype == samples.dtype == np.float32
    no_samples = reference.bernoulli_layer(inputs, bias)
    assert no_samples[2] is None and np.array_equal(no_samples[1], probs)


@pytest.mark.parametrize("gaussian", [False, True])
def test_gibbs_step_reference_follows_its_equations(gaussian):
    h, W, b, c, noise, uniforms = gibbs_arguments(0, 6, 5, 4, np.float64, gaussian=gaussian)
    visible, logits, probs, h_next = reference.gibbs_step(h, W, b, c, noise, uniforms, gaussian)
    field = h @ W.T + b                                                              # (5)
    expected_visible = field + noise if gaussian else (noise < sigmoid64(field)).astype(np.float64)
    np.testing.assert_array_equal(visible, expected_visible)
    np.testing.assert_allclose(logits, visible @ W + c, rtol=1e-12)                 # (4)
    np.testing.assert_allclose(probs, sigmoid64(visible @ W + c), rtol=1e-12)
    np.testing.assert_array_equal(h_next, (uniforms < probs).astype(np.float64))
    last = reference.gibbs_step(h, W, b, c, noise, None, gaussian)
    assert last[3] is None and all(np.array_equal(a, e) for a, e in zip(last[:3], (visible, logits, probs)))


def test_langevin_and_ddpm_references_follow_their_equations():
    x, score, noise = (draw_array(k, (4, 5), np.float32) for k in range(3))
    out = reference.langevin_step(x, score, noise, np.float64(0.01))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x + 0.01 * score + np.sqrt(0.02) * noise, rtol=1e-6)
    alpha, alphabar = 0.98, 0.5
    out = reference.ddpm_step(x, score, noise, 1 / np.sqrt(alpha), (1 - alpha) / np.sqrt(1 - alphabar), 0.1)
    expected = (x - (1 - alpha) / np.sqrt(1 - alphabar) * score) / np.sqrt(alpha) + 0.1 * noise
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def numba_kernels():
    pytest.importorskip("numba")
    return importlib.import_module("minigen.kernels.numba_kernels").KERNELS


def assert_same(got, expected):
    for g, e in zip(got, expected):
        if e is None:
            assert g is None
        else:
            assert type(g) is np.ndarray and g.dtype == e.dtype
            np.testing.assert_array_equal(g, e)


@given(n=sizes, width=sizes, dtype=dtypes, seed=seeds, scale=st.sampled_from([0.1, 3.0, 300.0]),
       sample=st.booleans())
def test_numba_bernoulli_layer_equals_the_reference_bit_for_bit(n, width, dtype, seed, scale, sample):
    inputs = scale * draw_array(seed, (n, width), dtype)
    bias = draw_array(seed + 1, (width,), dtype)
    uniforms = np.random.default_rng(seed + 2).random((n, width)).astype(dtype) if sample else None
    before = inputs.copy()
    assert_same(numba_kernels()["bernoulli_layer"](inputs, bias, uniforms),
                reference.bernoulli_layer(inputs, bias, uniforms))
    np.testing.assert_array_equal(inputs, before)


@given(n=sizes, n_visible=sizes, n_hidden=sizes, dtype=dtypes, seed=seeds, sample=st.booleans(),
       gaussian=st.booleans())
def test_numba_gibbs_step_equals_the_reference_bit_for_bit(n, n_visible, n_hidden, dtype, seed, sample, gaussian):
    args = gibbs_arguments(seed, n, n_visible, n_hidden, dtype, sample, gaussian)
    assert_same(numba_kernels()["gibbs_step"](*args, gaussian), reference.gibbs_step(*args, gaussian))


def test_numba_bernoulli_layer_equals_the_reference_at_extreme_logits():
    inputs = np.array([[np.inf, -np.inf, 1e30, -1e30, -745.0, 88.7, 0.0, -0.0]])
    uniforms = np.full_like(inputs, 0.5)
    for dtype in (np.float32, np.float64):
        with np.errstate(over="ignore"):
            args = (inputs.astype(dtype), np.zeros(8, dtype=dtype), uniforms.astype(dtype))
        assert_same(numba_kernels()["bernoulli_layer"](*args), reference.bernoulli_layer(*args))


def test_every_compiled_model_kernel_keeps_its_reference_signature():
    for name, fn in numba_kernels().items():
        assert inspect.signature(fn) == inspect.signature(reference.KERNELS[name]), name


def test_numba_bernoulli_layer_hands_what_its_loops_do_not_take_to_the_reference():
    inputs = draw_array(0, (5, 4), np.float32).T                        # not C-contiguous
    bias, uniforms = draw_array(1, (5,), np.float32), np.full((4, 5), 0.5, dtype=np.float64)
    assert_same(numba_kernels()["bernoulli_layer"](inputs, bias, uniforms),
                reference.bernoulli_layer(inputs, bias, uniforms))


def test_the_model_kernels_are_in_every_backend_table():
    compiled = numba_kernels()
    for name in ("numpy", "numba"):
        with backend.use_backend(name):
            for kernel_name, fn in reference.KERNELS.items():
                expected = compiled[kernel_name] if name == "numba" and kernel_name in compiled else fn
                assert backend.kernel(kernel_name) is expected, (name, kernel_name)


def near_a_threshold(args, gaussian):
    """Whether a uniform of gibbs_step lies within float32 rounding of its probability (where the
    devices, whose sigmoids round differently, may draw different samples)."""
    h, W, b, c, noise, uniforms = args
    visible = reference.gibbs_step(*args, gaussian)[0]
    gaps = ([] if gaussian else [noise - sigmoid64(h @ W.T + b)]) + \
        ([] if uniforms is None else [uniforms - sigmoid64(visible @ W + c)])
    return any((np.abs(gap) < 1e-6).any() for gap in gaps)


@pytest.mark.gpu
@settings(max_examples=20, deadline=None)
@given(n=sizes, n_visible=sizes, n_hidden=sizes, dtype=dtypes, seed=seeds, sample=st.booleans(),
       gaussian=st.booleans())
def test_cupy_gibbs_step_and_bernoulli_layer_agree_with_the_reference(n, n_visible, n_hidden, dtype, seed,
                                                                      sample, gaussian):
    """Logits exact (exact products), probabilities to float rounding (the device's sigmoid is
    float64), samples equal (draws within rounding of their probability are left out)."""
    import cupy
    from minigen.kernels import cupy_kernels
    args = gibbs_arguments(seed, n, n_visible, n_hidden, dtype, sample, gaussian)
    assume(not near_a_threshold(args, gaussian))
    h, W, b, c, noise, uniforms = args
    layer_args = (h @ W.T, b, None if gaussian else noise)
    on_device = [None if a is None else cupy.asarray(a) for a in args]
    on_device_layer = [None if a is None else cupy.asarray(a) for a in layer_args]
    tolerance = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    for expected, got in ((reference.gibbs_step(*args, gaussian),
                           cupy_kernels.KERNELS["gibbs_step"](*on_device, gaussian)),
                          (reference.bernoulli_layer(*layer_args),
                           cupy_kernels.KERNELS["bernoulli_layer"](*on_device_layer))):
        for e, g in zip(expected, got):
            if e is None:
                assert g is None
            else:
                assert isinstance(g, cupy.ndarray) and g.dtype == e.dtype
                np.testing.assert_allclose(cupy.asnumpy(g), e, **tolerance)
