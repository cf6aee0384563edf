"""Batch normalization: the training and eval formulas, running statistics against NumPy,
buffers in the state dict, gradients in training mode, and errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import gradcheck, nn
from autograd.nn import functional as F


def numpy_batch_norm(x, mean, var, weight, bias, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)                                # (1, C, 1, 1)
    normalized = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return normalized * weight.reshape(shape) + bias.reshape(shape)


def reduced_axes(x):
    return (0,) + tuple(range(2, x.ndim))


input_shapes = st.one_of(
    st.tuples(st.integers(2, 4), st.integers(1, 3)),                                   # (N, C)
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4)),                # (N, C, L)
    st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(2, 3)),  # (N, C, H, W)
)


@given(input_shapes, st.integers(0, 2 ** 16))
def test_training_normalizes_with_biased_batch_statistics(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 1
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    y = F.batch_norm(autograd.tensor(x), None, None, autograd.tensor(weight), autograd.tensor(bias),
                     training=True)
    axes = reduced_axes(x)
    expected = numpy_batch_norm(x, x.mean(axis=axes), x.var(axis=axes), weight, bias)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-9, atol=1e-9)


@given(input_shapes, st.integers(0, 2 ** 16))
def test_batch_norm_gradcheck_in_training_mode(shape, seed):
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    running_mean, running_var = np.zeros(shape[1]), np.ones(shape[1])

    def fn(x, weight, bias):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training=True)

    assert gradcheck(fn, (x, weight, bias), atol=1e-5, rtol=1e-3)


def test_batch_norm_gradcheck_in_eval_mode():
    rng = np.random.default_rng(1)
    x, weight, bias = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(2), rng.standard_normal(2)
    running_mean, running_var = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, running_mean, running_var, w, b), (x, weight, bias))


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                          (nn.BatchNorm2d, (4, 3, 2, 5))])
def test_running_statistics_follow_the_numpy_formula(layer, shape):
    rng = np.random.default_rng(2)
    norm = layer(3, momentum=0.2)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        norm(autograd.tensor(x))
        axes = reduced_axes(x)
        count = x.size // 3
        mean = 0.8 * mean + 0.2 * x.mean(axis=axes, dtype=np.float64)
        var = 0.8 * var + 0.2 * x.var(axis=axes, dtype=np.float64) * count / (count - 1)   # unbiased
    np.testing.assert_allclose(norm.running_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm.running_var, var, rtol=1e-5, atol=1e-6)
    assert int(norm.num_batches_tracked) == 4

    norm.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    before = norm.running_mean.copy(), norm.running_var.copy()
    y = norm(autograd.tensor(x))
    expected = numpy_batch_norm(x, mean, var, norm.weight.numpy(), norm.bias.numpy())
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)   # eval uses the running stats
    assert np.array_equal(norm.running_mean, before[0]) and np.array_equal(norm.running_var, before[1])


def test_cumulative_average_when_momentum_is_none():
    norm = nn.BatchNorm1d(2, momentum=None)
    batches = [np.random.default_rng(k).standard_normal((5, 2)).astype(np.float32) + k for k in range(3)]
    for x in batches:
        norm(autograd.tensor(x))
    expected = np.mean([x.mean(axis=0) for x in batches], axis=0)          # batch k weighs 1/k
    np.testing.assert_allclose(norm.running_mean, expected, rtol=1e-5)


def test_train_and_eval_switch_the_statistics():
    norm = nn.BatchNorm2d(2)
    x = autograd.tensor(np.random.default_rng(3).standard_normal((4, 2, 3, 3)).astype(np.float32) * 5 + 2)
    trained = norm(x).numpy()
    assert np.allclose(trained.mean(axis=(0, 2, 3)), 0, atol=1e-5)       # batch statistics
    evaluated = norm.eval()(x).numpy()
    assert not np.allclose(evaluated, trained, atol=1e-2)                # running statistics instead
    assert not norm.training and norm.train().training


def test_state_dict_round_trip_keeps_the_running_statistics(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    for seed in range(3):
        model(autograd.tensor(np.random.default_rng(seed).standard_normal((4, 1, 5, 5)).astype(np.float32)))
    state = model.state_dict()
    assert {"1.running_mean", "1.running_var", "1.num_batches_tracked"} <= set(state)
    autograd.save(state, tmp_path / "model.npz")
    fresh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    fresh.load_state_dict(autograd.load(tmp_path / "model.npz"))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert np.array_equal(getattr(fresh[1], name), getattr(model[1], name))
    x = autograd.randn(2, 1, 5, 5)
    assert np.array_equal(fresh.eval()(x).numpy(), model.eval()(x).numpy())


def test_buffers_move_with_to_and_are_not_parameters():
    norm = nn.BatchNorm1d(3).to("cpu")
    assert isinstance(norm.running_mean, np.ndarray) and norm.running_mean.dtype == np.float32
    assert [name for name, _ in norm.named_parameters()] == ["weight", "bias"]
    assert nn.BatchNorm1d(3, affine=False).parameters() == []


def test_inputs_are_not_mutated():
    x = np.random.default_rng(4).standard_normal((4, 3, 2, 2)).astype(np.float32)
    copy = x.copy()
    norm = nn.BatchNorm2d(3)
    norm(autograd.tensor(x, requires_grad=True)).sum().backward()
    assert np.array_equal(x, copy)
    assert norm.weight.grad is not None and norm.bias.grad is not None


def test_gradient_matches_the_closed_form():
    """d/dx of sum(w * y) for y = BN(x): (w / sigma) (g - mean(g) - y mean(g y)) with g = w upstream."""
    rng = np.random.default_rng(5)
    x = autograd.tensor(rng.standard_normal((6, 2)), requires_grad=True)
    upstream = rng.standard_normal((6, 2))
    y = F.batch_norm(x, None, None, training=True, eps=0.0)
    (y * autograd.tensor(upstream)).sum().backward()
    sigma = x.numpy().std(axis=0)
    normalized = y.numpy()
    expected = (upstream - upstream.mean(axis=0) - normalized * (upstream * normalized).mean(axis=0)) / sigma
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-8, atol=1e-10)


def test_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d.*\(N, C, H, W\).*\(4, 3\)"):
        nn.BatchNorm2d(3)(autograd.randn(4, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(4, 3, 2, 2\)"):
        nn.BatchNorm1d(3)(autograd.randn(4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"batch_norm.*\(4, 2, 5\).*running_mean.*\(3,\)"):
        nn.BatchNorm1d(3)(autograd.randn(4, 2, 5))
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        nn.BatchNorm1d(3)(autograd.randn(1, 3))
