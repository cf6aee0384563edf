"""autograd.costs counts what a step costs: graph nodes, Function calls, array-library calls (what a
GPU launches) and reads back to the host (what makes a GPU wait).  The counts of a small graph are
known by hand; a training step reads nothing back to the host."""
import numpy as np
import pytest

import autograd as ag
from autograd import costs, nn, optim


def small_graph_step(x, w):
    """y = sum(x * w) for x (3, 4), w (4,), and its backward."""
    def step():
        ag.sum(x * w).backward()
    return step


def test_counts_of_a_small_graph_are_exact():
    x = ag.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    w = ag.tensor(np.arange(4, dtype=np.float32), requires_grad=True)
    cost = costs.count_step(small_graph_step(x, w))
    # forward: Mul, Sum (2 nodes, 2 calls: multiply, add.reduce)
    # backward: the root gradient (ones_like: 1 call); Sum's: a BroadcastTo of the 0-d gradient (a
    # view, no call); Mul's: gy * w and gy * x (2 calls); w's gradient summed over the broadcast
    # axis by SumTo (1 call)
    assert (cost.nodes, cost.functions, cost.calls, cost.host_reads) == (2, 6, 6, 0)
    np.testing.assert_array_equal(w.grad.data, [3, 3, 3, 3])


def test_counts_do_not_depend_on_what_came_before_and_cost_nothing_after():
    x = ag.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    w = ag.tensor(np.arange(4, dtype=np.float32), requires_grad=True)
    first = costs.count_step(small_graph_step(x, w))
    accumulating = costs.count_step(small_graph_step(x, w))
    assert accumulating.calls == first.calls + 2     # x.grad and w.grad: one addition each
    x.grad = w.grad = None
    assert costs.count_step(small_graph_step(x, w)) == first
    assert costs.tally is None
    y = x * w                                        # after counting: plain arrays again
    assert type(y.data) is np.ndarray


def test_host_reads_are_counted():
    x = ag.tensor(np.ones(3, np.float32), requires_grad=True)

    def step():
        loss = (x * x).sum()
        loss.backward()
        float(loss)                                  # one read back to the host
        loss.item()                                  # two
        x.grad.numpy()                               # three (backend.to_numpy)
    assert costs.count_step(step).host_reads == 3


def test_a_compiled_kernel_counts_once():
    pytest.importorskip("numba")
    p = ag.tensor(np.ones(5, np.float32), requires_grad=True)

    def step():
        (p * p).sum().backward()
        optim.Adam([p]).step()
    on_numpy = costs.count_step(step)
    ag.set_backend("numba")
    p.grad = None
    on_numba = costs.count_step(step)
    assert on_numba.nodes == on_numpy.nodes and on_numba.functions == on_numpy.functions
    assert on_numba.calls < on_numpy.calls                  # the reference Adam makes several calls
    adam_reference_calls = on_numpy.calls - on_numba.calls + 1
    assert adam_reference_calls > 5


def vae_training_step(backend_name):
    """One VAE training step of the engine (encoder, reparameterization, Bernoulli decoder, KL,
    backward, AdamW), without reading anything back."""
    ag.set_backend(backend_name)
    device = ag.backend.default_device()
    encoder = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4)).to(device)
    decoder = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 16)).to(device)
    optimizer = optim.AdamW(encoder.parameters() + decoder.parameters(), lr=1e-3)
    x = ag.Tensor(ag.backend.to_device(
        (np.random.default_rng(0).random((8, 16)) < 0.5).astype(np.float32), device))

    def step():
        optimizer.zero_grad()
        out = encoder(x)
        mu, logvar = out[:, :2], out[:, 2:]
        z = mu + ag.exp(0.5 * logvar) * ag.randn(8, 2, device=device)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(decoder(z), x, reduction="none")
        kl = 0.5 * (mu * mu + ag.exp(logvar) - 1 - logvar).sum(axis=1)
        (reconstruction.sum(axis=1) + kl).mean().backward()
        optimizer.step()
    return step


@pytest.mark.parametrize("backend_name", ["numpy", "numba"])
def test_a_training_step_reads_nothing_back_to_the_host(backend_name):
    pytest.importorskip(backend_name)
    step = vae_training_step(backend_name)
    cost = costs.count_step(step)
    assert cost.host_reads == 0
    assert cost.nodes > 20 and cost.calls > cost.nodes


@pytest.mark.gpu
def test_a_cupy_training_step_does_not_synchronize():
    step = vae_training_step("cupy")
    step()                                             # kernels compile (and may sync) on first use
    with costs.forbid_host_sync():
        step()
    cost = costs.count_step(step)
    assert cost.nodes > 20 and cost.calls is None and cost.host_reads is None
