"""The graph walk has PyTorch's semantics: accumulation, retain_graph, freed graphs, create_graph,
autograd.grad, no_grad, deep graphs; dtype rules; comparisons; max/min ties."""
import numpy as np
import pytest

import autograd as ag


def leaf(values, dtype=np.float64):
    return ag.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.0, 2.0]) + 3)


def test_second_backward_through_freed_graph_says_so():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_create_graph_gives_differentiable_gradients():
    x = leaf([0.5, -1.0])
    y = (x ** 3).sum()
    (g,) = ag.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    assert g.requires_grad
    (h,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    y2 = (x.sin()).sum()
    y2.backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = ag.grad(x.grad.sum(), x)
    np.testing.assert_allclose(gg.data, -np.sin(x.data))


def test_grad_returns_tuple_none_for_unused_and_leaves_grad_alone():
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    hidden = x * 2                       # a non-leaf input
    y = (hidden * hidden).sum()
    result = ag.grad(y, [x, hidden, unused])
    assert isinstance(result, tuple) and len(result) == 3
    np.testing.assert_allclose(result[0].data, 8 * x.data)
    np.testing.assert_allclose(result[1].data, 2 * hidden.data)
    assert result[2] is None
    assert x.grad is None and unused.grad is None
    single = ag.grad((x * 3).sum(), x)
    assert isinstance(single, tuple) and len(single) == 1


def test_grad_with_grad_outputs():
    x = leaf([1.0, 2.0, 3.0])
    (g,) = ag.grad(x * x, x, grad_outputs=ag.tensor(np.array([1.0, 0.0, 2.0])))
    np.testing.assert_allclose(g.data, [2.0, 0.0, 12.0])


def test_backward_needs_a_scalar_or_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with ag.no_grad():
        y = (x * x).exp().sum()
    assert not y.requires_grad and y.creator is None
    assert ag.is_grad_enabled()


def test_backward_of_a_100000_op_chain():
    x = ag.tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_runs_without_recording_by_default():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.creator is None


def test_dtype_rules_of_tensor_and_creation():
    assert ag.tensor(1.5).dtype == np.float32
    assert ag.tensor([1.0, 2.0]).dtype == np.float32
    assert ag.tensor([[1, 2]]).dtype == np.float32
    assert ag.tensor(np.zeros(2)).dtype == np.float64
    assert ag.tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32
    assert ag.tensor(np.arange(3)).dtype == np.int64
    assert ag.tensor([1.0], dtype=np.float64).dtype == np.float64
    for make in (ag.zeros, ag.ones, ag.randn, ag.rand):
        assert make(2, 3).dtype == np.float32
        assert make((2, 3), dtype=np.float64).dtype == np.float64
        assert make(2, 3).shape == (2, 3)
    assert ag.zeros_like(ag.tensor(np.zeros(2))).dtype == np.float64
    assert ag.ones_like(ag.ones(2)).dtype == np.float32
    assert ag.arange(3).dtype == np.int64 and ag.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert (ag.ones(2) * 2).dtype == np.float32 and (ag.ones(2) / 3).dtype == np.float32


def test_tensor_copies_its_input():
    array = np.zeros(3)
    t = ag.tensor(array)
    t.data[0] = 1.0
    assert array[0] == 0.0


def test_manual_seed_fixes_random_numbers():
    ag.manual_seed(3)
    a = ag.randn(4).data
    ag.manual_seed(3)
    np.testing.assert_array_equal(ag.randn(4).data, a)


def test_comparisons_return_non_differentiable_tensors():
    x = leaf([1.0, 2.0, 3.0])
    for result in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x < ag.tensor(np.array([3.0, 0.0, 3.0]))):
        assert isinstance(result, ag.Tensor) and not result.requires_grad
        assert result.dtype == np.bool_
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])


@pytest.mark.parametrize("reduce", [ag.max, ag.min])
def test_max_min_return_values_and_split_ties_evenly(reduce):
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]] if reduce is ag.max else [[1.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    y = reduce(x, axis=1)
    assert isinstance(y, ag.Tensor) and y.shape == (2,)
    y.sum().backward()
    expected = ([[0, 0.5, 0.5], [1 / 3] * 3] if reduce is ag.max else [[0.5, 0.5, 0], [1 / 3] * 3])
    np.testing.assert_allclose(x.grad.data, expected)


def test_maximum_splits_ties_evenly():
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    ag.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 0.0])
    np.testing.assert_allclose(b.grad.data, [0.5, 1.0])


def test_gradient_dtype_follows_the_input():
    x = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (x * ag.tensor(np.ones(3))).sum().backward()
    assert x.grad.dtype == np.float32


def test_shared_subgraph_gradients_add_up():
    x = leaf([2.0])
    y = x * x
    (y + y * y).sum().backward()   # d/dx (x^2 + x^4) = 2x + 4x^3
    np.testing.assert_allclose(x.grad.data, [4.0 + 32.0])


def test_detect_anomaly_names_the_first_op_that_made_a_nan():
    x = ag.tensor([1.0, -1.0], requires_grad=True)
    with ag.detect_anomaly(), np.errstate(invalid="ignore"):
        y = x.exp()
        with pytest.raises(FloatingPointError, match="Sqrt.forward"):
            (y - 2).sqrt()
    with np.errstate(invalid="ignore"):
        assert np.isnan((y - 2).sqrt().data[1])      # outside the context nothing is checked


def test_detect_anomaly_checks_backward_too():
    x = ag.tensor([0.0], requires_grad=True)
    y = x.sqrt()                       # forward is finite (0); its backward divides by 2 sqrt(0)
    with ag.detect_anomaly(), np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match="Sqrt.backward"):
        y.sum().backward()
