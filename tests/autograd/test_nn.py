"""Layers and functions of autograd.nn pass float64 gradchecks; losses match their definitions;
Module bookkeeping (parameters, state dicts, train/eval) works as in PyTorch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import autograd.nn.functional as F
from autograd import nn
from strategies import float64_arrays, seeds, shapes


@given(n=st.integers(1, 3), d_in=st.integers(1, 3), d_out=st.integers(1, 3), data=st.data(), seed=seeds)
def test_linear_layer_gradient(n, d_in, d_out, data, seed):
    layer = nn.Linear(d_in, d_out)
    assert layer.weight.shape == (d_out, d_in) and layer.bias.shape == (d_out,)
    x = data.draw(float64_arrays((n, d_in)))
    assert ag.gradcheck(lambda t, w, b: F.linear(t, w, b), (x, layer.weight.data, layer.bias.data), seed=seed)


@given(shape=shapes(min_dims=1, max_dims=3, max_side=3), data=st.data(), seed=seeds)
def test_layer_norm_gradient_and_value(shape, data, seed):
    d = shape[-1]
    x = data.draw(float64_arrays(shape))
    w, b = data.draw(float64_arrays((d,))), data.draw(float64_arrays((d,)))
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b
    np.testing.assert_allclose(F.layer_norm(ag.tensor(x), d, ag.tensor(w), ag.tensor(b)).data, expected,
                               rtol=1e-8, atol=1e-10)
    assert ag.gradcheck(lambda t, g, c: F.layer_norm(t, (d,), g, c), (x, w, b), seed=seed, atol=1e-4)


def test_layer_norm_module():
    layer = nn.LayerNorm(4)
    y = layer(ag.randn(3, 4))
    np.testing.assert_allclose(y.data.mean(-1), 0, atol=1e-5)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


@given(vocab=st.integers(1, 5), dim=st.integers(1, 3), data=st.data(), seed=seeds)
def test_embedding_gradient_with_repeats(vocab, dim, data, seed):
    indices = np.asarray(data.draw(st.lists(st.integers(0, vocab - 1), min_size=1, max_size=6)))
    table = data.draw(float64_arrays((vocab, dim)))
    np.testing.assert_array_equal(F.embedding(indices, ag.tensor(table)).data, table[indices])
    assert ag.gradcheck(lambda w: F.embedding(indices.reshape(-1, 1), w), (table,), seed=seed)


def test_embedding_rejects_out_of_range_indices():
    with pytest.raises(IndexError, match="embedding"):
        nn.Embedding(3, 2)(np.array([0, 3]))


ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid(), nn.SiLU(), nn.GELU(), nn.Softplus()]


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=lambda m: type(m).__name__)
@given(shape=shapes(max_dims=2), data=st.data(), seed=seeds)
def test_activation_gradient(layer, shape, data, seed):
    from strategies import away_from
    x = data.draw(away_from(shape, [0.0]))
    assert ag.gradcheck(layer, (x,), seed=seed)


def test_activation_values():
    x = np.linspace(-3, 3, 13)
    t = ag.tensor(x)
    np.testing.assert_allclose(nn.SiLU()(t).data, x / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.Softplus()(t).data, np.log1p(np.exp(x)), rtol=1e-12)
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(t).data, np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(ag.logsigmoid(ag.tensor(np.array([-800.0, 800.0]))).data, [-800.0, 0.0])


def test_dropout_with_a_fixed_seed():
    x = np.linspace(1, 2, 200).reshape(20, 10)
    ag.manual_seed(5)
    first = F.dropout(ag.tensor(x), 0.3).data
    ag.manual_seed(5)
    second = F.dropout(ag.tensor(x), 0.3).data
    np.testing.assert_array_equal(first, second)
    kept = first != 0
    np.testing.assert_allclose(first[kept], x[kept] / 0.7)
    assert 0.5 < kept.mean() < 0.9
    layer = nn.Dropout(0.3).eval()
    np.testing.assert_array_equal(layer(ag.tensor(x)).data, x)

    def fixed_mask_dropout(t):
        ag.manual_seed(5)
        return F.dropout(t, 0.3)
    assert ag.gradcheck(fixed_mask_dropout, (x[:2, :3],))


@given(shape=shapes(max_dims=2), data=st.data(), seed=seeds)
def test_bce_with_logits_gradient_and_value(shape, data, seed):
    logits = data.draw(float64_arrays(shape))
    targets = data.draw(float64_arrays(shape, 0.0, 1.0))
    p = 1 / (1 + np.exp(-logits))
    expected = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    got = F.binary_cross_entropy_with_logits(ag.tensor(logits), ag.tensor(targets), reduction="none")
    np.testing.assert_allclose(got.data, expected, rtol=1e-10)
    for reduction in ("mean", "sum", "none"):
        assert ag.gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction=reduction),
                            (logits, targets), seed=seed)


def test_bce_with_logits_is_stable_for_large_logits():
    loss = F.binary_cross_entropy_with_logits(ag.tensor(np.array([1000.0, -1000.0])),
                                              ag.tensor(np.array([0.0, 1.0])), reduction="none")
    np.testing.assert_allclose(loss.data, [1000.0, 1000.0])


@given(n=st.integers(1, 3), t=st.integers(0, 2), c=st.integers(1, 4), data=st.data(), seed=seeds)
def test_cross_entropy_gradient_and_value(n, t, c, data, seed):
    shape = (n, t) if t else (n,)
    logits = data.draw(float64_arrays(shape + (c,)))
    targets = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=int(np.prod(shape)),
                                            max_size=int(np.prod(shape))))).reshape(shape)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, targets[..., None], -1)[..., 0].mean()
    np.testing.assert_allclose(F.cross_entropy(ag.tensor(logits), targets).data, expected, rtol=1e-10,
                               atol=1e-12)
    assert ag.gradcheck(lambda z: F.cross_entropy(z, targets), (logits,), seed=seed)


@given(shape=shapes(max_dims=2), data=st.data(), seed=seeds)
def test_mse_loss_gradient_and_value(shape, data, seed):
    a, b = data.draw(float64_arrays(shape)), data.draw(float64_arrays(shape))
    np.testing.assert_allclose(F.mse_loss(ag.tensor(a), ag.tensor(b)).data, ((a - b) ** 2).mean())
    assert ag.gradcheck(lambda x, y: F.mse_loss(x, y, reduction="sum"), (a, b), seed=seed)


def test_losses_name_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mse_loss.*\(2, 3\).*\(3,\)"):
        F.mse_loss(ag.zeros(2, 3), ag.zeros(3))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(4, 5\)"):
        F.cross_entropy(ag.zeros(4, 5), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(ag.zeros(2), ag.zeros(2), reduction="avg")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
        self.register_buffer("counter", np.zeros(1, dtype=np.float32))

    def forward(self, x):
        return self.body(x)


def test_module_parameters_state_dict_and_modes():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["body.0.weight", "body.0.bias", "body.2.weight",
                                                        "body.2.bias"]
    state = {k: np.array(v) + 1 for k, v in net.state_dict().items()}
    assert "counter" in state
    other = Net().load_state_dict(state)
    for (_, p), (_, q) in zip(net.named_parameters(), other.named_parameters()):
        np.testing.assert_allclose(q.data, p.data + 1)
    np.testing.assert_array_equal(other.counter, [1.0])
    net.eval()
    assert not net.training and not net.body[1].training
    net.train()
    assert net.body[0].training
    net(ag.ones(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(KeyError, match="missing"):
        net.load_state_dict({})


@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0, 1.5, -0.3])
def test_leaky_relu_values_and_slopes_are_exactly_the_two_branches(slope):
    x = np.array([-3.0, -1e-30, -0.0, 0.0, 1e-30, 2.0], dtype=np.float32)
    t = ag.tensor(x, requires_grad=True)
    y = ag.leaky_relu(t, slope)
    y.backward(np.ones_like(x))
    np.testing.assert_array_equal(y.data, np.where(x > 0, x, x * np.float32(slope)))
    np.testing.assert_array_equal(t.grad.data, np.where(x > 0, 1, np.float32(slope)).astype(np.float32))
