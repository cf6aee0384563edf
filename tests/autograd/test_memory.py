"""Memory: after backward no intermediate of the step stays referenced (Functions hold their output
only by weak reference, so the graph has no cycles and dies without the garbage collector), and a
long training loop keeps a flat memory."""
import gc
import os
import resource
import tracemalloc
import weakref


import autograd as ag
import autograd.nn.functional as F
from autograd import nn, optim


def test_intermediates_die_after_backward_without_gc():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    x = ag.randn(5, 4)
    gc.disable()
    try:
        hidden = model[1](model[0](x))
        out = model[2](hidden)
        loss = F.mse_loss(out, ag.zeros(5, 1))
        hidden_ref, out_ref, function_ref = weakref.ref(hidden), weakref.ref(out), weakref.ref(out.creator)
        array_ref = weakref.ref(hidden.data)
        del hidden, out
        assert hidden_ref() is not None          # the graph still needs it before backward
        loss.backward()
        assert hidden_ref() is None and out_ref() is None and array_ref() is None
        assert function_ref() is None
        del loss
    finally:
        gc.enable()


def test_retained_graph_keeps_intermediates_until_released():
    x = ag.randn(3, requires_grad=True)
    gc.disable()
    try:
        hidden = x.exp()
        ref = weakref.ref(hidden)
        loss = (hidden * 2).sum()
        del hidden
        loss.backward(retain_graph=True)
        assert ref() is not None
        del loss
        assert ref() is None
    finally:
        gc.enable()


def resident_bytes():
    """Current resident set size (Linux), or the peak where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def small_training_step():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = ag.randn(8, 2), ag.randn(8, 1)

    def step():
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def test_long_training_loop_keeps_flat_memory():
    """10,000 steps: resident memory after step 10,000 is that after step 1,000 (within 2 MiB), and
    tracemalloc sees no Python allocation survive a window of traced steps."""
    step = small_training_step()
    for _ in range(1_000):
        step()
    resident_1000 = resident_bytes()
    tracemalloc.start()
    try:
        for _ in range(20):
            step()
        gc.collect()                       # a full collection also empties CPython's free lists
        traced_start = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            step()
        gc.collect()                       # (freed tuples wait there, up to 2,000 of each size)
        traced_growth = tracemalloc.get_traced_memory()[0] - traced_start
    finally:
        tracemalloc.stop()
    for _ in range(8_480):
        step()
    assert traced_growth < 16 * 1024, traced_growth
    assert resident_bytes() - resident_1000 < 2 * 1024 * 1024
