"""Autoencoders and denoising autoencoders (Vincent et al. 2008; Bengio et al. 2013).

Autoencoder   h = f(x) = encoder(x),  r(x) = g(f(x)) = decoder(h)                          (1)
              trained to minimize a reconstruction loss L(x, r(x)), per example summed over the
              D inputs, averaged over the batch:
                  "bce":  L = sum_d [max(l_d, 0) - l_d x_d + log(1 + e^-|l_d|)],  r(x) = sigmoid(l)   (2)
                  "mse":  L = sum_d (r_d(x) - x_d)^2,  r(x) = the decoder's linear output      (3)

Denoising     corrupt x~ ~ C(x~ | x), then reconstruct the clean x: minimize L(x, r(x~))       (4)
autoencoder   C is one of three corruption processes (the objects below):
                  gaussian  x~ = x + noise * eps,  eps ~ N(0, I)
                  masking   x~ = x * m,            m_d ~ Bernoulli(1 - noise)   (pixels set to 0)
                  flip      x~ = x xor f,          f_d ~ Bernoulli(noise)       (binary data)

For Gaussian data N(mu, S) and Gaussian corruption of variance sigma^2, the best denoiser under
(3) is the posterior mean  r*(x~) = mu + S (S + sigma^2 I)^-1 (x~ - mu),                       (5)
which a linear denoising autoencoder learns; in general r(x~) - x~ ~ sigma^2 grad log p(x~).

Sampling an autoencoder (ex-post density estimation, Ghosh et al. 2020, "From variational to
deterministic autoencoders"): a Gaussian fitted to the training codes, then decoded,
    m = mean_i f(x_i),  L L^T = cov_i f(x_i),   z = m + L eps,  eps ~ N(0, I),   x = g(z)      (6)

Sampling a denoising autoencoder (Bengio et al. 2013, "Generalized denoising auto-encoders as
generative models"): the Markov chain that re-corrupts at every step and draws from the
reconstruction distribution P(x | x~), whose mean the network computes,
    x~_t ~ C(x~ | x_t),   x_{t+1} ~ P(x | x~_t)                                                 (7)
    "bce":  P(x | x~) = Bernoulli(r(x~))                   (binary states)
    "mse":  P(x | x~) = N(r(x~), s^2 I),  s^2 = mean_{i,d} (x_id - r_d(x~_i))^2                 (8)
            (s^2 is the maximum-likelihood variance of that Gaussian given its mean, estimated on
            the training data after fitting: the model's own noise level)
When P(x | x~) is the true posterior of the clean x, (7) is Gibbs sampling of p(x) C(x~ | x), so the
data distribution is stationary (Bengio et al. 2013, Theorem 1).  The mean-field variant
    x~_t ~ C(x~ | x_t),   x_{t+1} = r(x~_t)                                                     (9)
keeps only the mean: frames stay clean, but the chain is not sampling p(x) (for Gaussian data its
stationary variance falls below the data's, the spread of P(x | x~) being left out at every step).
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import numpy as np

import autograd
from autograd import Tensor, optim
from autograd.backend import array_module, default_device, device_of, to_device, to_numpy
from autograd.nn import functional as F
from autograd.tensor import Array
from minigen.models.base import GenerativeModel
from minigen.models.common import as_sizes, mlp, seeded_generator
from minigen.train import objective_step, train

LOSSES = ("bce", "mse")


def _generator(x, rng):
    """`rng`, or the library's seeded generator on the device of x."""
    return autograd.random.generator(device_of(x)) if rng is None else rng


# -- corruption processes C(x~ | x) ---------------------------------------------------------------
class GaussianCorruption:
    """x~ = x + std * eps, eps ~ N(0, I)."""

    def __init__(self, std: float) -> None:
        self.std = float(std)

    def __call__(self, x: Any, rng: Any = None) -> Any:
        eps = _generator(x, rng).standard_normal(x.shape, dtype=np.float32)
        return x + self.std * eps


class MaskingCorruption:
    """Each input is set to 0 with probability p (masking noise, Vincent et al. 2008)."""

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def __call__(self, x: Any, rng: Any = None) -> Any:
        keep = _generator(x, rng).random(x.shape, dtype=np.float32) >= self.p
        return x * keep


class FlipCorruption:
    """Each binary input is flipped (x -> 1 - x) with probability p."""

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def __call__(self, x: Any, rng: Any = None) -> Any:
        flip = _generator(x, rng).random(x.shape, dtype=np.float32) < self.p
        return array_module(x).where(flip, 1 - x, x)


Corruption = Callable[[Any, Any], Any]                  # corruption(x, rng) -> x~
CORRUPTIONS: Dict[str, Callable[[float], Corruption]] = {
    "gaussian": GaussianCorruption, "masking": MaskingCorruption, "flip": FlipCorruption}


# -- models ---------------------------------------------------------------------------------------
@dataclass
class AutoencoderDefaults:
    """The tuned fit settings of Autoencoder and DenoisingAutoencoder (Adam on (2)-(4))."""
    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3


class Autoencoder(GenerativeModel):
    """x -> encoder -> h (n_latent) -> decoder -> r(x), trained by reconstruction (1)-(3), sampled by (6).

    hidden      sizes of the hidden layers of the encoder (the decoder mirrors them); () is linear
    loss        "bce" for data in [0, 1] (sigmoid outputs) or "mse" (linear outputs)
    """

    Defaults = AutoencoderDefaults
    size_argument = "n_input"

    def __init__(self, n_input: int, hidden: Any = (128,), n_latent: int = 16, loss: str = "bce",
                 activation: str = "tanh", seed: int = 0) -> None:
        if loss not in LOSSES:
            raise ValueError(f"{type(self).__name__}: loss must be one of {LOSSES}, not {loss!r}")
        hidden = as_sizes(hidden)
        super().__init__(n_input=n_input, hidden=list(hidden), n_latent=n_latent, loss=loss,
                         activation=activation, seed=seed)
        autograd.manual_seed(seed)
        self.n_input, self.n_latent, self.loss_name = n_input, n_latent, loss
        self.encoder = mlp((n_input, *hidden, n_latent), activation)
        self.decoder = mlp((n_latent, *hidden[::-1], n_input), activation)
        device = default_device()
        self.register_buffer("code_mean", to_device(np.zeros(n_latent, np.float32), device))       # m of (6)
        self.register_buffer("code_scale_tril", to_device(np.eye(n_latent, dtype=np.float32), device))  # L of (6)
        self.history: Dict[str, List[float]] = {}

    def forward(self, x: Tensor) -> Tensor:
        """The decoder's output (logits for "bce", the reconstruction for "mse")."""
        return self.decoder(self.encoder(x))                           # (B, D)

    def output_mean(self, out: Tensor) -> Tensor:
        """The reconstruction r from the decoder's output: sigmoid(l) (2) or the output itself (3)."""
        return autograd.sigmoid(out) if self.loss_name == "bce" else out

    def reconstruction_loss(self, x_in: Tensor, x_target: Tensor) -> Tensor:
        """(2) or (3): summed over inputs, averaged over the batch."""
        out = self.forward(x_in)
        if self.loss_name == "bce":
            per_input = F.binary_cross_entropy_with_logits(out, x_target, reduction="none")   # (2)
        else:
            difference = out - x_target                                                     # (3)
            per_input = difference * difference
        return per_input.sum(axis=1).mean()

    def corrupt(self, x: Any, rng: Any = None) -> Any:
        """The plain autoencoder does not corrupt its input."""
        return x

    def loss(self, x: Any, x_tilde: Any = None) -> Tensor:
        """The objective on a clean batch x (B, D) array: L(x, r(x~)), with x~ = x for the plain
        autoencoder (1) and x~ ~ C(x~ | x) drawn here when not given for the denoising one (4)."""
        x_tilde = self.corrupt(x) if x_tilde is None else x_tilde
        return self.reconstruction_loss(autograd.Tensor(x_tilde), autograd.Tensor(x))

    def fit(self, X: Any, *, epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, seed: Optional[int] = None, progress: bool = True,
            **train_kwargs: Any) -> "Autoencoder":
        """Adam on the reconstruction loss, then the sampler's statistics from X; None means the
        class's Defaults.  Returns self."""
        X = self.check_data(X, where="fit")
        s = self.settings(epochs=epochs, batch_size=batch_size, lr=lr)
        seed = self.config["seed"] if seed is None else seed
        autograd.manual_seed(seed)
        optimizer = optim.Adam(self.parameters(), lr=s.lr)
        step = objective_step(self.loss, optimizer)
        self.history = train(self, X, step, optimizer, epochs=s.epochs, batch_size=s.batch_size, seed=seed,
                             progress=progress, **train_kwargs)
        self.fit_sampler(X)
        return self

    def fit_sampler(self, X: Any) -> None:
        """(6): the mean and Cholesky factor of the covariance of the codes f(X) (float64, then float32)."""
        codes = self._codes(X).astype(np.float64)                      # (n, Z)
        xp = array_module(codes)
        centred = codes - codes.mean(axis=0)
        covariance = centred.T @ centred / max(len(codes) - 1, 1)        # (Z, Z)
        jitter = 1e-6 * xp.eye(self.n_latent)                            # keeps a flat direction factorable
        self.code_mean = codes.mean(axis=0).astype(np.float32)
        self.code_scale_tril = xp.linalg.cholesky(covariance + jitter).astype(np.float32)

    def _codes(self, X):
        with autograd.no_grad():
            return self.encoder(autograd.Tensor(X)).data               # (n, Z) device array

    def encode(self, X: Any) -> np.ndarray:
        """The codes h = f(x) (1), shape (n, n_latent)."""
        return to_numpy(self._codes(self.check_data(X, where="encode")))

    def decode(self, Z: Any) -> np.ndarray:
        """g(z) (1) as a reconstruction, shape (n, n_input): probabilities for "bce", values for "mse"."""
        Z = check_codes(Z, self.n_latent, f"{self.name}.decode")
        with autograd.no_grad():
            return to_numpy(self.output_mean(self.decoder(autograd.Tensor(Z))).data)

    def reconstruct(self, X: Any) -> np.ndarray:
        """r(x) (1), shape (n, n_input): the probabilities for "bce", the values for "mse"."""
        X = self.check_data(X, where="reconstruct")
        with autograd.no_grad():
            return to_numpy(self.output_mean(self.forward(autograd.Tensor(X))).data)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """(6): n decoded draws from the Gaussian fitted to the training codes, (n, n_input)."""
        eps = seeded_generator(seed, default_device()).standard_normal((n, self.n_latent), dtype=np.float32)
        return self.decode(self.code_mean + eps @ self.code_scale_tril.T)   # (6): z = m + L eps


class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained to undo a corruption process (4); `sample` runs the chain (7).

    corruption  "gaussian" (noise = its std), "masking" or "flip" (noise = the probability per input)
    """

    def __init__(self, n_input: int, hidden: Any = (128,), n_latent: int = 16, corruption: str = "gaussian",
                 noise: float = 0.3, loss: str = "bce", activation: str = "tanh", seed: int = 0) -> None:
        if corruption not in CORRUPTIONS:
            raise ValueError(f"DenoisingAutoencoder: corruption must be one of {sorted(CORRUPTIONS)}, "
                             f"not {corruption!r}")
        super().__init__(n_input, hidden, n_latent, loss, activation, seed)
        self.config.update(corruption=corruption, noise=noise)
        self.corruption = CORRUPTIONS[corruption](noise)
        self.register_buffer("reconstruction_std", to_device(np.ones((), np.float32), default_device()))  # s of (8)

    def corrupt(self, x: Any, rng: Any = None) -> Any:
        """x~ ~ C(x~ | x), an array; noise from `rng` (the library's generator when None)."""
        return self.corruption(x, rng)

    def fit_sampler(self, X: Any) -> None:
        """(6) as for any autoencoder, and (8): s^2, the mean squared error of reconstructions of
        corrupted training data (one corruption per example)."""
        super().fit_sampler(X)
        with autograd.no_grad():
            reconstruction = self.output_mean(self.forward(autograd.Tensor(self.corrupt(X)))).data   # (n, D)
        xp = array_module(reconstruction)
        mean_squared_error = ((X - reconstruction) ** 2).mean(dtype=np.float64)
        self.reconstruction_std = xp.asarray(xp.sqrt(mean_squared_error), dtype=np.float32)   # s of (8)

    def reconstruction_draw(self, mean: Any, rng: Any) -> Any:
        """x ~ P(x | x~) (7) from its mean r(x~) (an array): Bernoulli for "bce", N(r, s^2 I) (8) for "mse"."""
        if self.loss_name == "bce":
            return (rng.random(mean.shape, dtype=np.float32) < mean).astype(np.float32)
        return mean + self.reconstruction_std * rng.standard_normal(mean.shape, dtype=np.float32)

    def sample_chain(self, x0: Any, steps: int, mean_field: bool = False, seed: Optional[int] = None) -> np.ndarray:
        """The chain (7) from x0 (n, D), or with mean_field=True the chain (9): returns
        (steps + 1, n, D), frame 0 being x0.  Corruptions and draws come from `seed`'s generator."""
        x = self.check_data(x0, where="sample_chain")
        states = self._chain(x, steps, mean_field, seeded_generator(seed, device_of(x)))
        return np.stack([to_numpy(state) for state in states])                # (steps + 1, n, D)

    def sample(self, n: int, seed: Optional[int] = None, steps: int = 100, mean_field: bool = False) -> np.ndarray:
        """n samples: the last states of chains (7) (or (9)) of `steps` steps started from uniform noise."""
        rng = seeded_generator(seed, default_device())
        x0 = rng.random((n, self.n_input), dtype=np.float32)                  # (n, D)
        return to_numpy(self._chain(x0, steps, mean_field, rng)[-1])

    def _chain(self, x, steps, mean_field, rng):
        """The states x_0 .. x_steps of (7) (or (9)), device arrays (n, D) each."""
        states = [x]
        with autograd.no_grad():
            for _ in range(steps):
                mean = self.output_mean(self.forward(autograd.Tensor(self.corrupt(x, rng)))).data   # r(x~_t)
                x = mean if mean_field else self.reconstruction_draw(mean, rng)                   # (9) or (7)
                states.append(x)
        return states


def check_codes(Z: Any, n_latent: int, who: str) -> Array:
    """Latent codes as float32 (n, n_latent) on the active device, or an error naming `who`."""
    Z = np.asarray(Z) if not hasattr(Z, "shape") else Z
    if np.dtype(Z.dtype).kind not in "fiub":
        raise TypeError(f"{who}: expected real numbers, got an array of dtype {Z.dtype}")
    if Z.ndim != 2 or Z.shape[1] != n_latent:
        raise ValueError(f"{who}: expected codes of shape (n, {n_latent}), got {tuple(Z.shape)}")
    Z = to_device(Z.astype(np.float32, copy=False), default_device())
    if not bool(array_module(Z).isfinite(Z).all()):
        raise ValueError(f"{who}: the codes contain NaN or infinite values")
    return Z
