"""The VAE training step (issue 2, item 9): the engine on each backend against the same step
written by hand in NumPy and in PyTorch eager (CPU, and CUDA when there is one).

One step: encoder D -> H -> 2Z (tanh), reparameterize, decoder Z -> H -> D (tanh), Bernoulli
reconstruction summed over pixels plus the analytic KL, averaged over the batch; backward; Adam.
"""
import numpy as np

import autograd
from autograd import backend, nn, optim

SIZES = {"digits": (64, 256, 8, 128), "mnist": (784, 512, 32, 128), "wide": (784, 2048, 64, 8192)}


def binary_batch(D, B, xp=np):
    return xp.asarray((np.random.default_rng(0).random((B, D)) < 0.3).astype(np.float32))


def engine_step(backend_name, D, H, Z, B):
    """A function doing one engine VAE step on `backend_name`, and a device synchronizer."""
    autograd.set_backend(backend_name)
    device = backend.default_device()
    autograd.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(D, H), nn.Tanh(), nn.Linear(H, 2 * Z)).to(device)
    decoder = nn.Sequential(nn.Linear(Z, H), nn.Tanh(), nn.Linear(H, D)).to(device)
    optimizer = optim.Adam(encoder.parameters() + decoder.parameters(), lr=1e-3)
    x = autograd.Tensor(binary_batch(D, B, backend.module_for_device(device)))

    def step():
        optimizer.zero_grad()
        out = encoder(x)                                                    # (B, 2Z)
        mu, logvar = out[:, :Z], out[:, Z:]
        z = mu + autograd.exp(0.5 * logvar) * autograd.randn(B, Z, device=device)   # (B, Z)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(
            decoder(z), x, reduction="none").sum(axis=1)
        kl = 0.5 * (mu * mu + autograd.exp(logvar) - 1 - logvar).sum(axis=1)
        loss = (reconstruction + kl).mean()
        loss.backward()
        optimizer.step()
    return step, synchronizer(device)


def synchronizer(device):
    if device == "cuda":
        cupy = backend.require_cupy()
        return cupy.cuda.get_current_stream().synchronize
    return lambda: None


def numpy_step(D, H, Z, B):
    """The same step by hand: forward, hand-derived backward, Adam, all in float32 NumPy."""
    rng = np.random.default_rng(0)
    shapes = [(D, H), (H,), (H, 2 * Z), (2 * Z,), (Z, H), (H,), (H, D), (D,)]
    params = [(rng.standard_normal(s) * (1 / np.sqrt(s[0]) if len(s) == 2 else 0)).astype(np.float32)
              for s in shapes]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    x = binary_batch(D, B)
    count = [0]

    def step():
        W1, b1, W2, b2, W3, b3, W4, b4 = params
        h1 = np.tanh(x @ W1 + b1)
        out = h1 @ W2 + b2
        mu, logvar = out[:, :Z], out[:, Z:]
        eps = rng.standard_normal((B, Z), dtype=np.float32)
        std = np.exp(0.5 * logvar)
        z = mu + std * eps
        h2 = np.tanh(z @ W3 + b3)
        logits = h2 @ W4 + b4
        d_logits = (1 / (1 + np.exp(-logits)) - x) / B
        d_h2 = (d_logits @ W4.T) * (1 - h2 * h2)
        d_z = d_h2 @ W3.T
        d_mu = d_z + mu / B
        d_logvar = d_z * eps * 0.5 * std + 0.5 * (np.exp(logvar) - 1) / B
        d_out = np.concatenate([d_mu, d_logvar], axis=1)
        d_h1 = (d_out @ W2.T) * (1 - h1 * h1)
        grads = [x.T @ d_h1, d_h1.sum(0), h1.T @ d_out, d_out.sum(0),
                 z.T @ d_h2, d_h2.sum(0), h2.T @ d_logits, d_logits.sum(0)]
        count[0] += 1
        for p, g, mi, vi in zip(params, grads, m, v):
            autograd.kernels.reference.adam_update(p, g, mi, vi, 1e-3, 0.9, 0.999, 1e-8, count[0], 0.0, False)
    return step, lambda: None


def torch_step(D, H, Z, B, device):
    """The same step in PyTorch eager, or None when torch (or its CUDA) is not there."""
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.Tanh(), torch.nn.Linear(H, 2 * Z)).to(device)
    decoder = torch.nn.Sequential(torch.nn.Linear(Z, H), torch.nn.Tanh(), torch.nn.Linear(H, D)).to(device)
    optimizer = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=1e-3)
    x = torch.as_tensor(binary_batch(D, B), device=device)

    def step():
        optimizer.zero_grad()
        out = encoder(x)
        mu, logvar = out[:, :Z], out[:, Z:]
        z = mu + torch.exp(0.5 * logvar) * torch.randn(B, Z, device=device)
        reconstruction = torch.nn.functional.binary_cross_entropy_with_logits(
            decoder(z), x, reduction="none").sum(1)
        kl = 0.5 * (mu * mu + torch.exp(logvar) - 1 - logvar).sum(1)
        (reconstruction + kl).mean().backward()
        optimizer.step()
    return step, (torch.cuda.synchronize if device == "cuda" else (lambda: None))
