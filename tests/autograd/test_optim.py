"""Optimizer steps against updates computed by hand, 3 steps each; state_dict round trips through
autograd.save / load and the restored optimizer continues identically."""
import numpy as np
import pytest

import autograd as ag
from autograd import optim

W0 = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.1, -0.3, 0.2]), np.array([-0.2, 0.4, 0.1]), np.array([0.3, 0.1, -0.5])]


def run(make, steps=3):
    w = ag.tensor(W0.copy(), requires_grad=True)
    opt = make([w])
    for g in GRADS[:steps]:
        w.grad = ag.tensor(g)
        opt.step()
    return w.data


def sgd_by_hand(lr, momentum, wd):
    w, v = W0.copy(), np.zeros(3)
    for t, g in enumerate(GRADS):
        g = g + wd * w
        v = g if t == 0 else momentum * v + g
        w = w - lr * v
    return w


def adam_by_hand(lr, b1, b2, eps, wd, decoupled):
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            w = w * (1 - lr * wd)
        else:
            g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


def rmsprop_by_hand(lr, alpha, eps, wd):
    w, s = W0.copy(), np.zeros(3)
    for g in GRADS:
        g = g + wd * w
        s = alpha * s + (1 - alpha) * g * g
        w = w - lr * g / (np.sqrt(s) + eps)
    return w


@pytest.mark.parametrize("momentum, wd", [(0.0, 0.0), (0.9, 0.0), (0.9, 0.1), (0.0, 0.1)])
def test_sgd(momentum, wd):
    np.testing.assert_allclose(run(lambda p: optim.SGD(p, lr=0.1, momentum=momentum, weight_decay=wd)),
                               sgd_by_hand(0.1, momentum, wd), rtol=1e-12)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam(wd):
    adam = run(lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=wd))
    np.testing.assert_allclose(adam, adam_by_hand(0.01, 0.8, 0.9, 1e-6, wd, False), rtol=1e-10)


def test_adamw():
    np.testing.assert_allclose(run(lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1)),
                               adam_by_hand(0.01, 0.9, 0.999, 1e-8, 0.1, True), rtol=1e-10)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_rmsprop(wd):
    np.testing.assert_allclose(run(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, weight_decay=wd)),
                               rmsprop_by_hand(0.01, 0.9, 1e-8, wd), rtol=1e-10)


def test_zero_grad_and_skipped_parameters():
    w, unused = ag.tensor(W0.copy(), requires_grad=True), ag.tensor(W0.copy(), requires_grad=True)
    opt = optim.SGD([w, unused], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(unused.data, W0)
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: optim.Adam(p, lr=0.01), lambda p: optim.AdamW(p, lr=0.01),
                                  lambda p: optim.RMSprop(p, lr=0.01)],
                         ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_state_dict_round_trip_continues_identically(make, tmp_path):
    w = ag.tensor(W0.copy(), requires_grad=True)
    opt = make([w])
    for g in GRADS[:2]:
        w.grad = ag.tensor(g)
        opt.step()
    ag.save({"w": w.data, "opt": opt.state_dict()}, tmp_path / "ckpt.npz")
    w.grad = ag.tensor(GRADS[2])
    opt.step()
    expected = w.data.copy()

    saved = ag.load(tmp_path / "ckpt.npz")
    w2 = ag.tensor(saved["w"], requires_grad=True)
    opt2 = make([w2])
    opt2.load_state_dict(saved["opt"])
    w2.grad = ag.tensor(GRADS[2])
    opt2.step()
    np.testing.assert_array_equal(w2.data, expected)


def test_loaded_state_is_not_shared_with_the_source():
    w = ag.tensor(W0.copy(), requires_grad=True)
    opt = optim.Adam([w])
    w.grad = ag.tensor(GRADS[0])
    opt.step()
    other = optim.Adam([ag.tensor(W0.copy(), requires_grad=True)])
    other.load_state_dict(opt.state_dict())
    before = other.state[0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(other.state[0]["exp_avg"], before)


def test_bad_optimizer_arguments():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
