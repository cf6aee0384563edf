"""Hostile input to the engine: each case fails at once with an error that names the op (or the
checkpoint key) and what is wrong, instead of a wrong answer, a warning, or a library's IndexError."""
import json
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd import nn
from autograd.nn import functional as F


# -- cross_entropy targets -----------------------------------------------------------------

@pytest.mark.parametrize("bad", [-1, 4, 100])
def test_cross_entropy_rejects_a_class_index_out_of_range(bad):
    logits = ag.zeros(3, 4)
    with pytest.raises(ValueError, match=rf"cross_entropy: index {bad} is out of range.*\[0, 4\)"):
        F.cross_entropy(logits, np.array([0, bad, 2]))


def test_cross_entropy_rejects_float_targets():
    with pytest.raises(TypeError, match="cross_entropy: indices must be integers, got dtype float"):
        F.cross_entropy(ag.zeros(2, 3), np.array([0.0, 1.0]))


def test_cross_entropy_accepts_every_class_on_the_edge():
    logits = ag.tensor(np.random.default_rng(0).standard_normal((4, 4)))
    loss = F.cross_entropy(logits, np.array([0, 1, 2, 3]), reduction="none")
    log_probs = logits.data - np.log(np.exp(logits.data).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(loss.data, -np.diag(log_probs), rtol=1e-6)


# -- matmul, stack, concatenate -------------------------------------------------------------

@pytest.mark.parametrize("a, b", [((3,), (4,)), ((3,), (4, 2)), ((2, 3), (4,)), ((2, 5, 3), (4,))])
def test_matmul_of_vectors_reports_matmul_with_the_given_shapes(a, b):
    with pytest.raises(ValueError, match=rf"^MatMul: shapes {re_shape(a)} and {re_shape(b)} do not align$"):
        ag.ones(*a) @ ag.ones(*b)


def test_matmul_of_a_scalar_is_refused():
    with pytest.raises(ValueError, match=r"MatMul: operands need at least 1 axis"):
        ag.matmul(ag.ones(()), ag.ones(3))


def test_matmul_of_matching_vectors_is_their_dot_product():
    a, b = np.arange(3.0), np.arange(3.0, 6.0)
    assert (ag.tensor(a) @ ag.tensor(b)).item() == a @ b


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_stack_errors_name_stack():
    with pytest.raises(ValueError, match=r"^Stack: shapes \(2,\) and \(3,\) differ"):
        ag.stack([ag.ones(2), ag.ones(3)])
    with pytest.raises(ValueError, match=r"^Stack: axis 3 is out of range for a result of 2 axes"):
        ag.stack([ag.ones(2), ag.ones(2)], axis=3)


def test_concatenate_axis_out_of_range_names_concatenate():
    with pytest.raises(ValueError, match=r"^Concatenate: axis -3 is out of range for a result of 2 axes"):
        ag.concatenate([ag.ones(2, 2), ag.ones(2, 2)], axis=-3)


@pytest.mark.parametrize("join, name", [(ag.concatenate, "Concatenate"), (ag.stack, "Stack")])
def test_joining_nothing_is_a_clear_value_error(join, name):
    with pytest.raises(ValueError, match=rf"^{name}: needs at least one tensor"):
        join([])


def test_stack_gradient_reaches_each_input_once():
    a = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = ag.tensor(np.ones((2, 3)), requires_grad=True)
    weights = np.arange(12.0).reshape(2, 2, 3)
    (ag.stack([a, b], axis=1) * ag.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, weights[:, 0])
    np.testing.assert_array_equal(b.grad.data, weights[:, 1])


# -- complex and other non-real values ------------------------------------------------------

@pytest.mark.parametrize("value", [[1j, 2.0], np.array([1 + 2j]), 3j, ["a"], [None]])
def test_tensor_refuses_values_that_are_not_real_numbers(value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # no ComplexWarning on the way
        with pytest.raises(TypeError, match="tensor: cannot hold values of dtype"):
            ag.tensor(value)


def test_a_complex_dtype_or_cast_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="complex128"):
            ag.tensor(np.array([1 + 2j]), dtype=np.float32)
        with pytest.raises(TypeError, match="complex64"):
            ag.tensor([1.0], dtype=np.complex64)
        with pytest.raises(TypeError, match="complex"):
            ag.ones(2) * np.array([1j, 2j])


# -- checkpoints ------------------------------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.register_buffer("log_weights", np.zeros(3, dtype=np.float32))


def state_with(key, value):
    state = {k: np.array(v) for k, v in Net().state_dict().items()}
    state[key] = value
    return state


@pytest.mark.parametrize("value, error, problem", [
    (np.ones((3, 2), dtype=np.int64), TypeError, "holds int64 values; a parameter needs floats"),
    (np.ones((3, 2), dtype=np.complex64), TypeError, "holds complex64 values"),
    (np.full((3, 2), np.nan, dtype=np.float32), ValueError, "holds NaN or infinite values"),
    (np.full((3, 2), -np.inf), ValueError, "holds NaN or infinite values"),
    (np.ones((2, 3), dtype=np.float32), ValueError, r"has shape \(2, 3\), the model expects \(3, 2\)"),
])
def test_load_state_dict_refuses_a_bad_parameter_and_names_it(value, error, problem):
    net = Net()
    before = net.fc.weight.data.copy()
    with pytest.raises(error, match=rf"Net.load_state_dict: fc.weight {problem}"):
        net.load_state_dict(state_with("fc.weight", value))
    np.testing.assert_array_equal(net.fc.weight.data, before)         # nothing was half loaded


def test_load_state_dict_names_missing_and_unexpected_keys():
    state = state_with("extra.weight", np.ones(2, dtype=np.float32))
    del state["fc.bias"]
    with pytest.raises(KeyError, match=r"missing keys \['fc.bias'\]; unexpected keys \['extra.weight'\]"):
        Net().load_state_dict(state)


def test_buffers_refuse_nan_and_complex_but_keep_minus_infinity():
    with pytest.raises(ValueError, match="buffer log_weights holds NaN"):
        Net().load_state_dict(state_with("log_weights", np.array([0.0, np.nan, 0.0], dtype=np.float32)))
    with pytest.raises(TypeError, match="buffer log_weights holds complex128"):
        Net().load_state_dict(state_with("log_weights", np.zeros(3, dtype=np.complex128)))
    net = Net().load_state_dict(state_with("log_weights", np.array([0.0, -np.inf, 1.0])))
    assert net.log_weights.dtype == np.float32 and net.log_weights[1] == -np.inf


def test_string_buffers_still_load():
    net = Net()
    net.register_buffer("classes", np.array(["cat", "dog"]))
    state = {k: np.array(v) for k, v in net.state_dict().items()}
    state["classes"] = np.array(["ant", "bee"])
    assert net.load_state_dict(state).classes.tolist() == ["ant", "bee"]


def test_save_refuses_complex_arrays_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot store complex128 values at '/model/w'"):
        ag.save({"model": {"w": np.ones(2, dtype=complex)}}, tmp_path / "c.npz")


def test_load_refuses_a_complex_array_naming_the_key(tmp_path):
    manifest = {"dict": [["model", {"dict": [["fc.weight", {"array": "a0", "path": "/model/fc.weight"}]]}]]}
    path = tmp_path / "complex.npz"
    np.savez(path, __minigen_manifest__=np.frombuffer(json.dumps(manifest).encode(), np.uint8),
             a0=np.ones((3, 2), dtype=np.complex64))
    with pytest.raises(ag.CheckpointError, match=r"complex.npz: 'model/fc.weight' holds complex64 values"):
        ag.load(path)


def test_a_checkpoint_with_an_integer_parameter_fails_on_load_naming_the_key(tmp_path):
    ag.save(state_with("fc.bias", np.arange(3)), tmp_path / "int.npz")
    with pytest.raises(TypeError, match="fc.bias holds int64 values"):
        Net().load_state_dict(ag.load(tmp_path / "int.npz"))


def test_load_state_dict_takes_tensors_and_lists():
    net = Net()
    state = {k: ag.tensor(v) for k, v in Net().state_dict().items()}
    state["fc.bias"] = [1.0, 2.0, 3.0]
    net.load_state_dict(state)
    np.testing.assert_array_equal(net.fc.bias.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(net.fc.weight.data, state["fc.weight"].data)
