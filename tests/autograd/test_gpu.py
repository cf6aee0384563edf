"""The cupy backend: kernels agree with their references, and a training step stays on the device.

Each device test is parametrized over "cpu" and "cuda": the cuda case carries the gpu marker and
skips itself without CuPy and a GPU (tests/conftest.py), the cpu case runs the same logic on NumPy.
"""
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import seeds, shapes

import autograd
from autograd import backend, nn, optim
from autograd.kernels import reference

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def backend_for(device):
    return "cupy" if device == "cuda" else "numpy"


def host_args(name, rng, shape=(7, 5)):
    """Arguments (float32 arrays of `shape` and scalars) of each cupy kernel, drawn on the host."""
    a, b, c = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    square = np.abs(c)
    return {
        "adam_update": (a, b, c, square, 1e-2, 0.9, 0.999, 1e-8, 3, 0.01, True),
        "sgd_update": (a, b, c, 0.1, 0.9, 0.01),
        "rmsprop_update": (a, b, square, 1e-2, 0.99, 1e-8, 0.0),
        "sample_bernoulli": (3 * a, rng.random(shape, dtype=np.float32)),
        "bernoulli_layer": (3 * a, b, rng.random(shape, dtype=np.float32)),
        "langevin_step": (a, b, c, 0.01),
        "ddpm_step": (a, b, c, 1.01, 0.02, 0.1),
        "sigmoid": (30 * a,),
        "softplus": (30 * a,),
        "bce_with_logits": (30 * a, (b > 0).astype(np.float32)),
        "gelu": (5 * a,),
        "gelu_grad": (b, 5 * a),
    }[name]


def as_host(value):
    return tuple(as_host(v) for v in value) if isinstance(value, tuple) else backend.to_numpy(value)


@pytest.mark.gpu
@settings(max_examples=20, deadline=None)
@given(shapes(min_dims=1), seeds)
def test_every_cupy_kernel_agrees_with_its_reference(shape, seed):
    import cupy
    from autograd.kernels import cupy_kernels
    from minigen.kernels import cupy_kernels as model_cupy_kernels, reference as model_reference
    rng = np.random.default_rng(seed)
    references = {**reference.KERNELS, **model_reference.KERNELS}
    for name, kernel in {**cupy_kernels.KERNELS, **model_cupy_kernels.KERNELS}.items():
        if name == "gibbs_step":                    # matrices, not elementwise: test_model_kernels.py
            continue
        args = host_args(name, rng, shape)
        host = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        device = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        expected, got = references[name](*host), kernel(*device)
        if expected is None:                                    # in-place updates: compare the state
            expected, got = tuple(host[:4]), tuple(d for d in device[:4] if hasattr(d, "shape"))
            expected = expected[:len(got)]
        for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                        as_host(got) if isinstance(got, tuple) else (as_host(got),)):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_a_training_step_keeps_everything_on_the_device(device):
    with autograd.use_backend(backend_for(device)):
        autograd.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        x = autograd.randn(64, 6, device=device)
        y = (x * x).sum(axis=1, keepdims=True)
        losses = []
        for _ in range(30):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss)
        assert all(p.device == device and p.grad.device == device for p in model.parameters())
        assert all(backend.device_of(s) == device for state in optimizer.state for s in state.values())
        first, last = float(losses[0].item()), float(losses[-1].item())
        assert np.isfinite(last) and last < 0.7 * first


@pytest.mark.parametrize("device", DEVICES)
def test_bernoulli_samples_from_device_uniforms_follow_the_probabilities(device):
    importlib.import_module("minigen.kernels")          # registers sample_bernoulli in the engine's table
    with autograd.use_backend(backend_for(device)):
        xp = backend.module_for_device(device)
        logits = xp.asarray(np.linspace(-3, 3, 7, dtype=np.float32))
        uniforms = autograd.random.generator(device).random((20000, 7), dtype=np.float32)
        probs, samples = backend.kernel("sample_bernoulli")(xp.broadcast_to(logits, (20000, 7)), uniforms)
        assert backend.device_of(samples) == device and samples.dtype == np.float32
        frequencies = backend.to_numpy(samples.mean(axis=0))
        np.testing.assert_allclose(frequencies, backend.to_numpy(probs[0]), atol=0.015)


@pytest.mark.parametrize("device", DEVICES)
def test_optimizer_state_moves_to_the_device_of_the_parameters_it_is_loaded_into(device):
    with autograd.use_backend(backend_for(device)):
        w = autograd.tensor(np.ones(3, dtype=np.float32), requires_grad=True, device=device)
        source = optim.Adam([w], lr=0.1)
        w.grad = autograd.tensor(np.full(3, 0.5, dtype=np.float32), device=device)
        source.step()
        state = source.state_dict()
    host = optim.Adam([autograd.tensor(np.ones(3, dtype=np.float32), requires_grad=True)], lr=0.1)
    host.load_state_dict(state)
    assert all(type(v) is np.ndarray for v in host.state[0].values() if hasattr(v, "shape"))
    np.testing.assert_allclose(host.state[0]["exp_avg"], np.full(3, 0.05), rtol=1e-6)
