"""Every compiled kernel agrees with its NumPy reference on Hypothesis-drawn inputs.

The same uniforms / noise go into both where sampling is involved, so the numba samples must be
equal, not just equally distributed.  The cupy table is checked the same way in test_gpu.py.
"""
import importlib

import numpy as np
from hypothesis import given, strategies as st

from autograd.kernels import reference

numba_kernels = importlib.import_module("autograd.kernels.numba_kernels")

shapes = st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple)
dtypes = st.sampled_from([np.float32, np.float64])
TOL = {np.float32: dict(rtol=2e-6, atol=1e-7), np.float64: dict(rtol=1e-12, atol=1e-14)}


def draw_array(seed, shape, dtype, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def run_both(kernel_name, arrays, scalars, steps=3):
    """Apply the reference and the numba kernel `steps` times to copies of the same state;
    `scalars(step)` gives the kernel's scalar arguments at each step."""
    results = []
    for table in (reference.KERNELS, numba_kernels.KERNELS):
        state = [a.copy() for a in arrays]
        for step in range(1, steps + 1):
            table[kernel_name](*state, *scalars(step))
        results.append(state)
    return results


def assert_states_close(ref_state, numba_state, dtype):
    for ref, got in zip(ref_state, numba_state):
        assert got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, **TOL[dtype])


@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**16), decoupled=st.booleans(),
       weight_decay=st.sampled_from([0.0, 0.05]), lr=st.floats(1e-4, 1e-1))
def test_adam_update_matches_reference(shape, dtype, seed, decoupled, weight_decay, lr):
    param, grad, exp_avg = (draw_array(seed + k, shape, dtype) for k in range(3))
    exp_avg_sq = np.abs(draw_array(seed + 3, shape, dtype))
    ref, got = run_both("adam_update", [param, grad, exp_avg, exp_avg_sq],
                        lambda step: (lr, 0.9, 0.999, 1e-8, step, weight_decay, decoupled))
    assert_states_close(ref, got, dtype)
    assert not np.array_equal(got[0], param)


@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**16),
       momentum=st.sampled_from([0.0, 0.9]), weight_decay=st.sampled_from([0.0, 0.01]))
def test_sgd_update_matches_reference(shape, dtype, seed, momentum, weight_decay):
    param, grad = draw_array(seed, shape, dtype), draw_array(seed + 1, shape, dtype)
    velocity = np.zeros_like(param)
    results = []
    for table in (reference.KERNELS, numba_kernels.KERNELS):
        p, v = param.copy(), velocity.copy()
        for _ in range(3):
            table["sgd_update"](p, grad, v if momentum else None, 0.1, momentum, weight_decay)
        results.append([p, v])
    assert_states_close(*results, dtype)


@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**16), weight_decay=st.sampled_from([0.0, 0.01]))
def test_rmsprop_update_matches_reference(shape, dtype, seed, weight_decay):
    param, grad = draw_array(seed, shape, dtype), draw_array(seed + 1, shape, dtype)
    ref, got = run_both("rmsprop_update", [param, grad, np.zeros_like(param)],
                        lambda step: (0.01, 0.99, 1e-8, weight_decay))
    assert_states_close(ref, got, dtype)


def test_optimizer_kernels_accept_a_transposed_gradient():
    param = draw_array(0, (3, 4), np.float32)
    grad = draw_array(1, (4, 3), np.float32).T                  # a non-contiguous view
    ref, got = run_both("adam_update", [param, grad, np.zeros_like(param), np.zeros_like(param)],
                        lambda step: (1e-2, 0.9, 0.999, 1e-8, step, 0.0, False))
    assert_states_close(ref, got, np.float32)


conv_geometry = st.fixed_dictionaries({
    "n": st.integers(1, 2), "c": st.integers(1, 3), "h": st.integers(3, 9), "w": st.integers(3, 9),
    "kernel_size": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
    "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
})


@given(geometry=conv_geometry, dtype=dtypes, seed=st.integers(0, 2**16))
def test_col2im_matches_reference(geometry, dtype, seed):
    g = dict(geometry)
    shape = (g.pop("n"), g.pop("c"), g.pop("h"), g.pop("w"))
    args = (g["kernel_size"], g["stride"], g["padding"], g["dilation"])
    if any(reference.conv_output_size(shape[2 + a], args[0][a], args[1][a], args[2][a], args[3][a]) < 1
           for a in (0, 1)):
        return                                                  # the kernel does not fit
    x = draw_array(seed, shape, dtype)
    cols = reference.im2col(x, *args)
    upstream = draw_array(seed + 1, cols.shape, dtype)
    back = numba_kernels.col2im(upstream, shape, *args)
    assert back.shape == shape and back.dtype == dtype
    np.testing.assert_allclose(back, reference.col2im(upstream, shape, *args), **TOL[dtype])
    # col2im is im2col's adjoint: <im2col(x), u> = <x, col2im(u)>
    np.testing.assert_allclose((cols * upstream).sum(), (x * back).sum(), rtol=1e-4, atol=1e-4)


def test_numba_cache_dir_goes_to_a_user_directory_when_the_package_is_read_only(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/tmp/xdg-test")
    monkeypatch.setattr(numba_kernels.os, "access", lambda path, mode: False)
    numba_kernels._default_cache_dir()
    assert numba_kernels.os.environ["NUMBA_CACHE_DIR"] == "/tmp/xdg-test/minigen/numba"


def test_every_numba_kernel_has_a_reference_with_the_same_signature():
    import inspect
    for name, fn in numba_kernels.KERNELS.items():
        assert name in reference.KERNELS
        assert inspect.signature(fn) == inspect.signature(reference.KERNELS[name])


finite_or_extreme = st.one_of(st.floats(-1e4, 1e4), st.sampled_from([0.0, -0.0, 88.7, -88.7, -745.0, 1e30,
                                                                       -1e30, np.inf, -np.inf]))


@given(st.lists(finite_or_extreme, min_size=1, max_size=40), dtypes)
def test_sigmoid_reference_equals_the_two_branch_formula_bit_for_bit(values, dtype):
    x = np.array(values).astype(dtype)
    e = np.exp(-np.abs(x))
    with np.errstate(over="ignore"):
        branches = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(dtype)
    got = reference.sigmoid(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, branches)
