"""Latent diffusion (Rombach, Blattmann, Lorenz, Esser and Ommer, 2022), at toy scale.

An autoencoder compresses x to a small latent z; a diffusion model learns the latents; samples are
decoded.  The diffusion runs where the data are few-dimensional and smooth, so it is cheaper.

Encoder    z = E(x)   (a VAE's posterior mean, or a deterministic autoencoder's code)          (1)
Scaling    z' = (z - m) / s,  m and s the per-dimension mean and standard deviation of the
           training latents, so the diffusion sees unit variance (its noise schedule assumes it)  (2)
Prior      a DDPM on z' (minigen.models.diffusion, its equations (1)-(9))                     (3)
Sampling   z' ~ DDPM,  z = m + s z',  x = D(z)   (the decoder's mean)                          (4)

Any autoencoder with `encode(X)` (an array, or a tuple whose first entry is the mean) and
`decode(Z)` works; `fit` trains it first when it has a `fit` and `fit_autoencoder` is true.
"""
import numpy as np

from autograd.backend import to_numpy

from .base import GenerativeModel


def _as_array(values):
    """A NumPy array from an array, a Tensor or a tuple (mean, ...) returned by encode."""
    if isinstance(values, tuple):
        values = values[0]
    values = values.data if hasattr(values, "creator") else values
    return np.asarray(to_numpy(values), dtype=np.float32)


class LatentDiffusion(GenerativeModel):
    """A DDPM over the standardized codes of an autoencoder."""

    def __init__(self, autoencoder, ddpm):
        for method in ("encode", "decode"):
            if not callable(getattr(autoencoder, method, None)):
                raise TypeError(f"LatentDiffusion: the autoencoder needs an {method}() method, "
                                f"{type(autoencoder).__name__} has none")
        super().__init__()
        self.autoencoder, self.ddpm = autoencoder, ddpm
        n_latent = int(np.prod(ddpm.data_shape))
        self.register_buffer("latent_mean", np.zeros(n_latent, dtype=np.float32))
        self.register_buffer("latent_std", np.ones(n_latent, dtype=np.float32))

    def encode(self, X):
        """(1), (2): standardized latents (n, Z)."""
        return (_as_array(self.autoencoder.encode(X)) - self.latent_mean) / self.latent_std

    def decode(self, Z):
        """(4): the decoder's means for standardized latents (n, Z)."""
        return _as_array(self.autoencoder.decode((Z * self.latent_std + self.latent_mean).astype(np.float32)))

    def fit(self, X, steps=None, epochs=None, batch_size=None, lr=None, seed=None, progress=True,
            fit_autoencoder=True, autoencoder_kwargs=None):
        """Train the autoencoder (if asked and it can be), then the DDPM on its standardized codes."""
        X = np.asarray(X, dtype=np.float32)
        if fit_autoencoder and callable(getattr(self.autoencoder, "fit", None)):
            self.autoencoder.fit(X, progress=progress, **(autoencoder_kwargs or {}))
        codes = _as_array(self.autoencoder.encode(X))                                # (n, Z)
        if codes.shape[1:] != self.ddpm.data_shape:
            raise ValueError(f"LatentDiffusion: the autoencoder gives codes of shape {codes.shape[1:]}, "
                             f"the DDPM expects {self.ddpm.data_shape}")
        self.latent_mean = codes.mean(axis=0)
        self.latent_std = np.maximum(codes.std(axis=0), 1e-6).astype(np.float32)
        self.ddpm.fit(self.encode(X), steps=steps, epochs=epochs, batch_size=batch_size, lr=lr,
                      seed=seed, progress=progress)
        return self

    def sample(self, n, seed=None, **sample_kwargs):
        """(4): n decoded samples (n, D); sample_kwargs go to DDPM.sample (method, steps, ...)."""
        return self.decode(self.ddpm.sample(n, seed=seed, **sample_kwargs))
