"""Every optimizer updates a parameter group in one call over flat buffers.  The result is bit for bit
the per-parameter update on numpy (the arithmetic is elementwise), and agrees with it on numba; a
parameter whose array is replaced between steps is flattened again."""
import numpy as np
import pytest

import autograd as ag
from autograd import costs, optim

SHAPES = [(4, 3), (3,), (2, 5, 2), (1,)]
SETTINGS = {
    optim.Adam: {"lr": 0.01, "weight_decay": 0.1},
    optim.AdamW: {"lr": 0.01, "weight_decay": 0.1},
    optim.SGD: {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
    optim.RMSprop: {"lr": 0.01, "weight_decay": 0.01},
}


def gradients(step):
    rng = np.random.default_rng(step)
    return [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]


def initial_values():
    rng = np.random.default_rng(100)
    return [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]


def per_parameter_reference(kind, steps):
    """The same steps, one kernel call per parameter on separate arrays (the update before flattening)."""
    params = [ag.tensor(v, requires_grad=True) for v in initial_values()]
    optimizer = kind(params, **SETTINGS[kind])
    for t in range(steps):
        optimizer.step_count += 1
        for p, g, state in zip(params, gradients(t), optimizer.state):
            optimizer.update(p.data, g, state, optimizer.param_groups[0])
    return [p.data for p in params]


def flat_steps(kind, steps, replace_at=None):
    params = [ag.tensor(v, requires_grad=True) for v in initial_values()]
    optimizer = kind(params, **SETTINGS[kind])
    for t in range(steps):
        if t == replace_at:
            params[0].data = params[0].data.copy()        # as .to(device) or a user would
        for p, g in zip(params, gradients(t)):
            p.grad = ag.Tensor(g)
        optimizer.step()
    return params, optimizer


@pytest.mark.parametrize("kind", list(SETTINGS))
def test_flat_update_is_bit_identical_to_the_per_parameter_update_on_numpy(kind):
    params, optimizer = flat_steps(kind, 4)
    for p, expected in zip(params, per_parameter_reference(kind, 4)):
        np.testing.assert_array_equal(p.data, expected)
    flat = optimizer._flat_groups[0]
    assert all(np.shares_memory(p.data, flat.param) for p in params)


@pytest.mark.parametrize("kind", list(SETTINGS))
def test_a_replaced_parameter_array_is_flattened_again(kind):
    params, _ = flat_steps(kind, 4, replace_at=2)
    for p, expected in zip(params, per_parameter_reference(kind, 4)):
        np.testing.assert_array_equal(p.data, expected)


@pytest.mark.parametrize("kind", [optim.AdamW, optim.SGD])
def test_flat_update_agrees_on_numba(kind):
    pytest.importorskip("numba")
    expected = per_parameter_reference(kind, 4)
    ag.set_backend("numba")
    params, _ = flat_steps(kind, 4)
    for p, reference in zip(params, expected):
        np.testing.assert_allclose(p.data, reference, rtol=1e-5, atol=1e-6)


def test_loaded_state_continues_identically():
    params, optimizer = flat_steps(optim.AdamW, 2)
    saved = optimizer.state_dict()
    twin_params = [ag.tensor(p.data.copy(), requires_grad=True) for p in params]
    twin = optim.AdamW(twin_params, **SETTINGS[optim.AdamW])
    twin.load_state_dict(saved)
    for group in (params, twin_params):
        for p, g in zip(group, gradients(9)):
            p.grad = ag.Tensor(g)
    optimizer.step()
    twin.step()
    for p, q in zip(params, twin_params):
        np.testing.assert_array_equal(p.data, q.data)


def test_a_numba_step_is_two_calls_whatever_the_number_of_parameters():
    pytest.importorskip("numba")
    ag.set_backend("numba")
    params, optimizer = flat_steps(optim.AdamW, 1)

    def backward():
        optimizer.zero_grad()
        ag.stack([(p * p).sum() for p in params]).sum().backward()

    def training_step():
        backward()
        optimizer.step()
    assert costs.count_step(training_step).calls - costs.count_step(backward).calls == 2   # gather, Adam
