"""The backward walk visits Functions in an order fixed by the program, not by memory addresses.

Gradients that meet at one tensor are summed in the order their Functions are visited; in float32
that order changes the value.  So the same computation, run twice with its objects at different
addresses (a resumed training run), must visit the same Functions in the same order and produce
bit-identical gradients.
"""
import random

import numpy as np
import pytest

import autograd as ag
from autograd import Function
from autograd.ops.elementwise import Mul


def scramble_memory(seed, count=300):
    """Allocate objects of a Function's size and free them in a shuffled order, so that the next
    Functions created land at addresses in an order unrelated to their creation order."""
    junk = [Mul() for _ in range(count)]
    random.Random(seed).shuffle(junk)
    del junk


class Logged(Function):
    """y = x, and backward appends `label` to `log` (to observe the order of the walk)."""

    def __init__(self, label, log):
        self.label, self.log = label, log

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        self.log.append(self.label)
        return gy


@pytest.mark.parametrize("seed", range(8))
def test_functions_of_one_generation_run_latest_recorded_first(seed):
    x = ag.tensor(np.ones(3), requires_grad=True)
    log = []
    branches = []
    for label in range(6):                           # six Functions of generation 0
        scramble_memory(seed * 10 + label)
        branches.append(Logged(label, log)(x))
    total = branches[0]
    for branch in branches[1:]:
        total = total + branch
    total.sum().backward()
    assert log == [5, 4, 3, 2, 1, 0]


def sum_of_branches(constants, seed):
    """d/dx of sum_k c_k x at x = 0: the constants, summed by the walk into x.grad (float32)."""
    x = ag.tensor(np.float32(0.0), requires_grad=True)
    branches = []
    for k, c in enumerate(constants):
        scramble_memory(seed + k)
        branches.append(x * c)
    total = branches[0]
    for branch in branches[1:]:
        total = total + branch
    total.backward()
    return x.grad.data


def test_float32_sum_order_is_the_walk_order_at_every_memory_layout():
    constants = [np.float32(1.0), np.float32(1e8), np.float32(-1e8)]
    walk_order = (constants[2] + constants[1]) + constants[0]        # latest recorded first
    creation_order = (constants[0] + constants[1]) + constants[2]
    assert walk_order != creation_order                               # the order does matter here
    for seed in range(20):
        assert sum_of_branches(constants, seed) == walk_order


def shared_weight_network_gradients(data, seed):
    """Gradients of a float32 network whose weight is used by several branches of one generation."""
    rng = np.random.default_rng(0)
    weight = ag.tensor(rng.standard_normal((5, 5)).astype(np.float32), requires_grad=True)
    bias = ag.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    x = ag.tensor(data)
    outputs = []
    for k in range(6):
        scramble_memory(seed + k)
        scale = (-3.0) ** k                          # terms of unlike size: their sum's rounding shows
        outputs.append(ag.tanh(x @ weight / (k + 1) + bias).sum(axis=1) * scale)     # (N,)
    loss = ag.stack(outputs).sum()
    loss.backward()
    return weight.grad.numpy().tobytes(), bias.grad.numpy().tobytes()


def test_the_same_graph_at_different_addresses_gives_bit_identical_gradients():
    data = np.random.default_rng(1).standard_normal((64, 5)).astype(np.float32)
    first = shared_weight_network_gradients(data, seed=0)
    for seed in range(100, 1000, 100):
        assert shared_weight_network_gradients(data, seed) == first
