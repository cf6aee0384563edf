"""Choosing a backend: names, errors, the environment variable, nothing compiled at import, and
the numpy and numba backends training the same VAE to the same parameters."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd
from autograd import backend, nn, optim

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_unknown_backend_names_the_choices():
    with pytest.raises(backend.BackendError, match="unknown backend 'jax'.*numpy, numba, cupy"):
        autograd.set_backend("jax")
    assert autograd.get_backend() == "numpy"


@pytest.mark.skipif(backend.cupy_or_none() is not None, reason="this machine has CuPy and a GPU")
def test_cupy_without_a_gpu_says_what_to_install_in_one_line():
    with pytest.raises(backend.BackendError) as error:
        autograd.set_backend("cupy")
    message = str(error.value)
    assert "\n" not in message and "pip install" in message and "cupy" in message
    assert autograd.get_backend() == "numpy"


def test_use_backend_restores_the_previous_one_even_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with autograd.use_backend("numba"):
            assert autograd.get_backend() == "numba"
            assert backend.kernel("adam_update").__module__ == "autograd.kernels.numba_kernels"
            raise ZeroDivisionError
    assert autograd.get_backend() == "numpy"
    assert backend.kernel("adam_update").__module__ == "autograd.kernels.reference"


def test_numba_table_falls_back_to_the_reference_for_kernels_it_does_not_speed_up():
    with autograd.use_backend("numba"):
        assert backend.kernel("logsumexp").__module__ == "autograd.kernels.reference"


def test_environment_variable_picks_the_backend_and_nothing_is_compiled_at_import():
    code = ("import autograd; from autograd.kernels import numba_kernels as k; "
            "print(autograd.get_backend(), sum(len(f.signatures) for f in "
            "(k._adam, k._sgd, k._sgd_momentum, k._rmsprop, k._col2im)))")
    env = {**os.environ, "MINIGEN_BACKEND": "numba", "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["numba", "0"]


def build_model(seed):
    """The VAE of minigen.models when it is there, else the same encoder/decoder from autograd.nn."""
    autograd.manual_seed(seed)
    try:
        from minigen.models import VAE
    except ImportError:
        return TinyVAE(16, 2, 12)
    return VAE(16, 2, hidden=(12,), seed=seed)


class TinyVAE(nn.Module):
    def __init__(self, n_input, n_latent, hidden):
        super().__init__()
        self.n_latent = n_latent
        self.encoder = nn.Sequential(nn.Linear(n_input, hidden), nn.Tanh(), nn.Linear(hidden, 2 * n_latent))
        self.decoder = nn.Sequential(nn.Linear(n_latent, hidden), nn.Tanh(), nn.Linear(hidden, n_input))

    def loss(self, x):
        out = self.encoder(x)                                           # (B, 2Z)
        mu, logvar = out[:, :self.n_latent], out[:, self.n_latent:]
        z = mu + autograd.exp(0.5 * logvar) * autograd.randn(*mu.shape)  # (B, Z)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(
            self.decoder(z), x, reduction="none").sum(axis=-1).mean()
        kl = (0.5 * (mu * mu + autograd.exp(logvar) - 1 - logvar)).sum(axis=-1).mean()
        return reconstruction + kl, reconstruction, kl


def train_50_adam_steps(backend_name):
    with autograd.use_backend(backend_name):
        model = build_model(seed=3)
        data = (np.random.default_rng(1).random((64, 16)) < 0.3).astype(np.float32)
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        autograd.manual_seed(5)
        for step in range(50):
            optimizer.zero_grad()
            loss = model.loss(autograd.tensor(data[(step % 4) * 16:(step % 4 + 1) * 16]))[0]
            loss.backward()
            optimizer.step()
        return {name: p.data.copy() for name, p in model.named_parameters()}, float(loss.item())


def test_numpy_and_numba_train_the_vae_to_the_same_parameters():
    numpy_params, numpy_loss = train_50_adam_steps("numpy")
    numba_params, numba_loss = train_50_adam_steps("numba")
    assert numpy_params.keys() == numba_params.keys() and numpy_params
    start = build_model(seed=3)
    moved = [not np.allclose(p.data, numpy_params[name]) for name, p in start.named_parameters()]
    assert all(moved)
    for name, value in numpy_params.items():
        np.testing.assert_allclose(numba_params[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    assert numba_loss == pytest.approx(numpy_loss, rel=1e-5)
