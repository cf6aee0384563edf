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
The two parts are given as models, or as {"class": name, "config": {...}} dicts that rebuild them
(the form the model's own config keeps, so that a saved latent diffusion model loads).
"""
from typing import Any, Dict, List, Optional

import numpy as np

from autograd.backend import to_numpy

from .base import GenerativeModel

PARTS = ("autoencoder", "ddpm")


def _as_array(values):
    """A NumPy array from an array, a Tensor or a tuple (mean, ...) returned by encode."""
    if isinstance(values, tuple):
        values = values[0]
    values = values.data if hasattr(values, "creator") else values
    return np.asarray(to_numpy(values), dtype=np.float32)


def _built(part: Any, role: str) -> Any:
    """The part itself, or the model that a {"class": name, "config": {...}} dict describes."""
    if not isinstance(part, dict):
        return part
    klass = GenerativeModel.by_name.get(part.get("class", ""))
    if klass is None or not isinstance(part.get("config"), dict):
        raise ValueError(f"LatentDiffusion: the {role} must be a model or a dict {{'class': name, 'config': {{...}}}} "
                         f"naming a minigen model class, got {part!r}")
    return klass(**part["config"])


def _description(part: Any) -> Optional[Dict[str, Any]]:
    """{"class": name, "config": {...}} for a minigen model; None for another object (then the
    latent diffusion model cannot be saved)."""
    if not isinstance(part, GenerativeModel):
        return None
    return {"class": part.name, "config": dict(part.config)}


class LatentDiffusion(GenerativeModel):
    """A DDPM over the standardized codes of an autoencoder."""

    def __init__(self, autoencoder: Any, ddpm: Any) -> None:
        autoencoder, ddpm = _built(autoencoder, "autoencoder"), _built(ddpm, "ddpm")
        for method in ("encode", "decode"):
            if not callable(getattr(autoencoder, method, None)):
                raise TypeError(f"LatentDiffusion: the autoencoder needs an {method}() method, "
                                f"{type(autoencoder).__name__} has none")
        super().__init__(autoencoder=_description(autoencoder), ddpm=_description(ddpm))
        self.autoencoder, self.ddpm = autoencoder, ddpm
        self.data_shape = getattr(autoencoder, "data_shape", None)
        n_latent = int(np.prod(ddpm.data_shape))
        self.register_buffer("latent_mean", np.zeros(n_latent, dtype=np.float32))
        self.register_buffer("latent_std", np.ones(n_latent, dtype=np.float32))
        self.history: Dict[str, List[float]] = {}

    def encode(self, X: Any) -> np.ndarray:
        """(1), (2): standardized latents (n, Z)."""
        return (_as_array(self.autoencoder.encode(X)) - self.latent_mean) / self.latent_std

    def decode(self, Z: Any) -> np.ndarray:
        """(4): the decoder's means for standardized latents (n, Z)."""
        return _as_array(self.autoencoder.decode((Z * self.latent_std + self.latent_mean).astype(np.float32)))

    def fit(self, X: Any, steps: Optional[int] = None, epochs: Optional[int] = None,
            batch_size: Optional[int] = None, lr: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True, fit_autoencoder: bool = True,
            autoencoder_kwargs: Optional[Dict[str, Any]] = None) -> "LatentDiffusion":
        """Train the autoencoder (if asked and it can be), then the DDPM on its standardized codes; the
        settings given here go to the DDPM (None: its Defaults).  The history holds both parts'
        histories, their names prefixed by "autoencoder_" and "ddpm_"."""
        X = self.check_data(X, where="fit")
        if fit_autoencoder and callable(getattr(self.autoencoder, "fit", None)):
            self.autoencoder.fit(X, progress=progress, **(autoencoder_kwargs or {}))
        codes = _as_array(self.autoencoder.encode(X))                                # (n, Z)
        if codes.shape[1:] != tuple(self.ddpm.data_shape):
            raise ValueError(f"LatentDiffusion.fit: the autoencoder gives codes of shape {codes.shape[1:]}, "
                             f"the DDPM expects {tuple(self.ddpm.data_shape)}")
        self.latent_mean = codes.mean(axis=0)
        self.latent_std = np.maximum(codes.std(axis=0), 1e-6).astype(np.float32)
        self.ddpm.fit(self.encode(X), steps=steps, epochs=epochs, batch_size=batch_size, lr=lr,
                      seed=seed, progress=progress)
        self.history = {f"{role}_{name}": values for role in PARTS
                        for name, values in getattr(getattr(self, role), "history", {}).items()}
        return self

    def sample(self, n: int, seed: Optional[int] = None, **sample_kwargs: Any) -> np.ndarray:
        """(4): n decoded samples (n, D); sample_kwargs go to DDPM.sample (method, steps, ...)."""
        return self.decode(self.ddpm.sample(n, seed=seed, **sample_kwargs))

    def save(self, path: Any) -> None:
        """Write the model to one .npz (see GenerativeModel.save); both parts must be minigen models."""
        for role in PARTS:
            if self.config[role] is None:
                raise TypeError(f"LatentDiffusion.save: the {role} is a {type(getattr(self, role)).__name__}, "
                                f"not a minigen model, so a file could not rebuild it")
        super().save(path)
