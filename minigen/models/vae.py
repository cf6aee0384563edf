"""Variational autoencoder (Kingma and Welling 2014) and its importance-weighted bound (Burda et al. 2015).

Model       p(z) = N(0, I),   p(x | z) = Bernoulli(sigmoid(f(z)))   or   N(f(z), sigma^2 I)     decoder f
Posterior   q(z | x) = N(mu(x), diag(exp(logvar(x))))                                         encoder
ELBO        log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z))                                (1)
KL          KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))        (analytic)            (2)
Trick       z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)                                      (3)
            (the standard deviation is exp(logvar / 2); the noise eps is drawn outside the graph, so
            gradients reach mu and logvar and never the noise)
Bernoulli   log p(x | z) = -sum_d [max(l_d, 0) - l_d x_d + log(1 + e^-|l_d|)],  l = f(z)          (4)
Gaussian    log p(x | z) = -1/2 sum_d [log 2 pi + log sigma^2 + (x_d - f_d(z))^2 / sigma^2]       (5)
            sigma^2 is LEARNED: one log-variance shared by all pixels, as in probabilistic PCA
            (Tipping and Bishop 1999).  With no hidden layers the model is exactly probabilistic PCA
            and the maximum ELBO equals PCA's maximum likelihood.
IWAE        log p(x) >= log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),  z_i ~ q(z | x)          (6)
            k = 1 is the ELBO; the bound tightens as k grows (Burda et al. 2015, Theorem 1).
Slerp       z(t) = sin((1 - t) w) / sin w  z_a + sin(t w) / sin w  z_b,  cos w = <z_a, z_b> / |z_a||z_b|   (7)
IWAE        maximize (6) itself: L_k = E[log (1/k) sum_i w_i],  w_i = p(x | z_i) p(z_i) / q(z_i | x),  (8)
training    z_i = (3) with k independent eps_i; its gradient is sum_i (w_i / sum_j w_j) grad log w_i.
            A tighter bound than the ELBO: samples that explain x poorly get small normalized weights
            instead of the full penalty they carry in (1), so the model is pushed less toward simple
            posteriors (Burda et al. 2015).  fit(k_train=1) maximizes (1) with the analytic KL (2)
            instead; the default is k_train = 5.
Classes     with n_classes = K the label y of each example is observed, and both networks also read
            its one-hot code c = onehot(y), concatenated to their input (Kingma, Rezende, Mohamed and
            Welling 2014, "Semi-supervised learning with deep generative models", model M2 with y given):
                p(x | y) = int p(z) p(x | z, y) dz,   q(z | x, y) = N(mu(x, c), diag(exp(logvar(x, c))))
                log p(x | y) >= E_q[log p(x | z, y)] - KL(q(z | x, y) || p(z))                    (9)
            and (6), (8) likewise, with q(z | x, y) and p(x | z, y) = (4) or (5) of f(z, c).

Loss scaling: the training loss is -(1) or -(8) (or -(9)), with the reconstruction term summed over
pixels and the KL summed over latent dimensions, per example, then averaged over the batch (so it
reads in nats per image, the unit of the likelihood table).

Sampling: z ~ p(z), then the decoder's mean E[x | z] (or, with mean=False, a draw x ~ p(x | z)); with
classes, y as given (or drawn uniformly from 0..K-1) and E[x | z, y].
Encoder and decoder are MLPs (tanh by default) or small convolutional networks for square images.
"""
import math
import numbers
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import autograd
from autograd import Tensor, nn, optim
from autograd.backend import default_device, to_device, to_numpy
from autograd.nn import functional as F
from minigen.models.autoencoder import check_codes
from minigen.models.base import GenerativeModel, check_sizes
from minigen.models.common import (Activation, activation_layer, as_sizes, check_labels, mlp, seeded_generator,
                                   slerp)
from minigen.train import objective_step, train

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
LOG_2PI = math.log(2 * math.pi)
Labels = Union[None, int, Sequence[int], np.ndarray]                   # class labels y, or None


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """(3): z = mu + exp(logvar / 2) * eps.  eps is a constant, so z is differentiable in mu and logvar only."""
    return mu + autograd.exp(0.5 * logvar) * eps


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """(2): KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over the last axis."""
    return -0.5 * (1 + logvar - mu * mu - autograd.exp(logvar)).sum(axis=-1)


def log_normal(x: Tensor, mean: Any, logvar: Tensor) -> Tensor:
    """log N(x; mean, diag(exp(logvar))), summed over the last axis (broadcasting)."""
    difference = x - mean
    return -0.5 * (LOG_2PI + logvar + difference * difference * autograd.exp(-logvar)).sum(axis=-1)


def with_condition(h: Tensor, c: Optional[Tensor]) -> Tensor:
    """h (B, F) with the one-hot labels c (B, K) appended: (B, F + K); h itself when c is None."""
    return h if c is None else autograd.concatenate([h, c], axis=1)


class MLPCoder(nn.Module):
    """An MLP from n_in inputs (and n_condition label inputs) to n_out (the encoder emits [mu, logvar])."""

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, activation: Activation,
                 n_condition: int = 0) -> None:
        super().__init__()
        self.net = mlp((n_in + n_condition, *hidden, n_out), activation)

    def forward(self, x: Tensor, c: Optional[Tensor] = None) -> Tensor:
        return self.net(with_condition(x, c))                                      # (B, n_out)


class ConvEncoder(nn.Module):
    """(B, side*side) -> conv 3x3 (c), conv 3x3 stride 2 (2c) -> [features, labels] -> linear -> (B, n_out)."""

    def __init__(self, side: int, channels: int, n_out: int, activation: Activation, n_condition: int = 0) -> None:
        super().__init__()
        self.side, self.channels = side, channels
        half = (side + 1) // 2
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1)
        self.act = activation_layer(activation)()
        self.head = nn.Linear(2 * channels * half * half + n_condition, n_out)

    def forward(self, x: Tensor, c: Optional[Tensor] = None) -> Tensor:
        h = self.act(self.conv1(x.reshape(x.shape[0], 1, self.side, self.side)))   # (B, c, s, s)
        h = self.act(self.conv2(h))                                                # (B, 2c, s/2, s/2)
        return self.head(with_condition(h.reshape(h.shape[0], -1), c))             # (B, n_out)


class ConvDecoder(nn.Module):
    """(B, Z) [with labels] -> linear -> (B, 2c, s/2, s/2) -> transposed conv 4x4 stride 2 (c) -> conv 3x3
    -> (B, side*side)."""

    def __init__(self, side: int, channels: int, n_latent: int, activation: Activation,
                 n_condition: int = 0) -> None:
        super().__init__()
        self.side, self.channels, self.half = side, channels, side // 2
        self.stem = nn.Linear(n_latent + n_condition, 2 * channels * self.half * self.half)
        self.up = nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1)
        self.out = nn.Conv2d(channels, 1, 3, padding=1)
        self.act = activation_layer(activation)()

    def forward(self, z: Tensor, c: Optional[Tensor] = None) -> Tensor:
        h = self.act(self.stem(with_condition(z, c)))
        h = h.reshape(z.shape[0], 2 * self.channels, self.half, self.half)                      # (B, 2c, s/2, s/2)
        h = self.act(self.up(h))                                                                # (B, c, s, s)
        return self.out(h).reshape(z.shape[0], self.side * self.side)                          # (B, side*side)


@dataclass
class VAEDefaults:
    """The tuned fit settings: AdamW (decoupled weight decay: the digits are few, and the decoder
    overfits without it) on the IWAE objective (8) with k_train samples per example."""
    epochs: int = 350
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    k_train: int = 5


class VAE(GenerativeModel):
    """A VAE with a diagonal-Gaussian encoder and a Bernoulli or Gaussian decoder.

    n_input       pixels per example (D)
    n_latent      latent dimensions (Z); 2 gives the manifold plot (`manifold`)
    hidden        MLP hidden sizes of the encoder (the decoder mirrors them); () is linear
    likelihood    "bernoulli" (binary data, (4)) or "gaussian" (real data, (5), learned variance)
    architecture  "mlp" or "conv" (square single-channel images; `channels` feature maps)
    n_classes     None, or K: a class-conditional VAE (9) whose methods that take data also take the
                  labels y (integers in [0, K))
    """

    likelihood_kind = "IWAE"
    Defaults = VAEDefaults
    size_argument = "n_input"
    encoder: nn.Module                                  # x (and c) -> [mu, logvar], an MLP or a conv net
    decoder: nn.Module                                  # z (and c) -> f(z)

    def __init__(self, n_input: int, n_latent: int, hidden: Any = (256, 256), likelihood: str = "bernoulli",
                 seed: int = 0, architecture: str = "mlp", activation: str = "tanh", channels: int = 32,
                 n_classes: Optional[int] = None) -> None:
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, not {likelihood!r}")
        if architecture not in ARCHITECTURES:
            raise ValueError(f"VAE: architecture must be one of {ARCHITECTURES}, not {architecture!r}")
        if n_classes is not None and (isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral)
                                      or n_classes < 2):
            raise ValueError(f"VAE: n_classes must be None or an integer of at least 2, not {n_classes!r}")
        check_sizes("VAE", n_latent=n_latent, hidden=list(as_sizes(hidden)) or [1])
        hidden = as_sizes(hidden)
        n_classes = None if n_classes is None else int(n_classes)
        super().__init__(n_input=n_input, n_latent=n_latent, hidden=list(hidden), likelihood=likelihood,
                         seed=seed, architecture=architecture, activation=activation, channels=channels,
                         n_classes=n_classes)
        autograd.manual_seed(seed)
        self.n_input, self.n_latent, self.likelihood, self.n_classes = n_input, n_latent, likelihood, n_classes
        n_condition = n_classes or 0
        if architecture == "mlp":
            self.encoder = MLPCoder(n_input, hidden, 2 * n_latent, activation, n_condition)
            self.decoder = MLPCoder(n_latent, hidden[::-1], n_input, activation, n_condition)
        else:
            side = _image_side(n_input)
            self.encoder = ConvEncoder(side, channels, 2 * n_latent, activation, n_condition)
            self.decoder = ConvDecoder(side, channels, n_latent, activation, n_condition)
        if likelihood == "gaussian":
            self.obs_logvar = nn.Parameter(to_device(np.zeros(1, np.float32), default_device()))
        self.history: Dict[str, List[float]] = {}

    @property
    def binary(self) -> bool:
        """The Bernoulli likelihood (4) needs 0/1 data."""
        return self.likelihood == "bernoulli"

    # -- the pieces of (1) -------------------------------------------------------------------
    def posterior(self, x: Tensor, c: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """q(z | x) (or q(z | x, y), c the one-hot labels (B, K)): (mu, logvar), each (B, Z)."""
        out = self.encoder(x, c)                                         # (B, 2Z)
        return out[:, :self.n_latent], out[:, self.n_latent:]

    def log_likelihood(self, x: Tensor, decoded: Tensor) -> Tensor:
        """log p(x | z) from the decoder output f(z): (4) or (5), summed over pixels -> (...,)."""
        if self.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(decoded, x, reduction="none").sum(axis=-1)   # (4)
        difference = x - decoded
        return -0.5 * (LOG_2PI + self.obs_logvar
                       + difference * difference * autograd.exp(-self.obs_logvar)).sum(axis=-1)  # (5)

    def terms(self, x: Tensor, eps: Optional[Tensor] = None, c: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Per example: the reconstruction term -log p(x | z) at one z ~ q (3), and the KL (2)."""
        mu, logvar = self.posterior(x, c)                                # (B, Z), (B, Z)
        eps = autograd.randn_like(mu) if eps is None else eps            # noise, outside the graph
        z = reparameterize(mu, logvar, eps)                              # (3)
        reconstruction = -self.log_likelihood(x, self.decoder(z, c))     # (B,)
        return reconstruction, gaussian_kl(mu, logvar)                   # (B,), (B,)

    def loss(self, x: Tensor, eps: Optional[Tensor] = None,
             c: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """-(1) (or -(9)), averaged over the batch; returns (loss, reconstruction, kl) as scalar Tensors."""
        reconstruction, kl = self.terms(x, eps, c)
        reconstruction, kl = reconstruction.mean(), kl.mean()
        return reconstruction + kl, reconstruction, kl

    def iwae_loss(self, x: Tensor, k: int, eps: Optional[Tensor] = None,
                  c: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """-(6) with k reparameterized samples (3) per example, averaged over the batch (8); returns
        (loss, reconstruction, kl): the reconstruction term averaged over the k samples and the KL (2)
        are reported beside it, as in `loss`, though the objective is (6) alone.  eps: (B, k, Z) noise."""
        if eps is None:
            eps = autograd.randn(x.shape[0], k, self.n_latent, dtype=x.dtype, device=x.device)   # outside the graph
        log_px, log_ratio, kl = self.importance_terms(x, eps, c)        # (B, k), (B, k), (B,)
        loss = -(autograd.logsumexp(log_px + log_ratio, axis=1) - math.log(k)).mean()   # (6), (8)
        return loss, -log_px.mean(), kl.mean()

    # -- labels ------------------------------------------------------------------------------
    def one_hot(self, y: Labels, n: int, where: str) -> Optional[Any]:
        """The one-hot codes (n, K) of the labels y on the active device (an int stands for n equal
        labels), or None for a VAE without classes; a ValueError naming VAE.<where> for labels that
        are missing, unexpected, of the wrong length, not integers or outside [0, K)."""
        if y is None and self.n_classes is None:
            return None
        if y is None:
            raise ValueError(f"VAE.{where}: this VAE is class-conditional (n_classes={self.n_classes}); "
                             f"give the labels y")
        labels = check_labels(y, n, self.n_classes, f"VAE.{where}")                           # (n,)
        assert self.n_classes is not None                         # check_labels refuses labels without classes
        return to_device(np.eye(self.n_classes, dtype=np.float32)[labels], default_device())   # (n, K)

    @staticmethod
    def _tensor(c):
        return None if c is None else autograd.Tensor(c)

    # -- training ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Labels = None, *, epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, weight_decay: Optional[float] = None, k_train: Optional[int] = None,
            seed: Optional[int] = None, progress: bool = True, **train_kwargs: Any) -> "VAE":
        """Maximize the ELBO (1) (k_train=1) or the IWAE bound (6) with k_train samples per example (8)
        (with classes, y the labels of X: the bounds of log p(x | y), (9)), with AdamW; None means the
        value in VAE.Defaults.  The history holds "loss" (the objective) and its "reconstruction" and
        "kl" terms (batch means, nats per image)."""
        X = self.check_data(X, where="fit")
        c = self.one_hot(y, len(X), "fit")
        s = self.settings(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, k_train=k_train)
        k = int(s.k_train)
        if k < 1:
            raise ValueError(f"VAE.fit: k_train must be at least 1, got {s.k_train}")
        seed = self.config["seed"] if seed is None else seed
        autograd.manual_seed(seed)
        optimizer = optim.AdamW(self.parameters(), lr=s.lr, weight_decay=s.weight_decay)

        def objective(batch):
            x, c_batch = batch if c is not None else (batch, None)
            x, c_batch = autograd.Tensor(x), self._tensor(c_batch)
            loss, reconstruction, kl = self.loss(x, c=c_batch) if k == 1 else self.iwae_loss(x, k, c=c_batch)
            return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

        self.history = train(self, X if c is None else (X, c), objective_step(objective, optimizer), optimizer,
                             epochs=s.epochs, batch_size=s.batch_size, seed=seed, progress=progress,
                             **train_kwargs)
        return self

    # -- evaluation --------------------------------------------------------------------------
    def _estimate_generator(self, seed):
        """The noise of the Monte Carlo estimates: seed None is the model's seed, so that an estimate
        of the same data is the same number every time it is asked for."""
        return seeded_generator(self.config["seed"] if seed is None else seed, default_device())

    def elbo(self, X: Any, y: Labels = None, seed: Optional[int] = None) -> np.ndarray:
        """(1) (or (9)) per example, with one z ~ q(z | x) each and the analytic KL (2): shape (n,).
        seed None is the model's seed, so the estimate is the same at every call."""
        X = self.check_data(X, where="elbo")
        c = self.one_hot(y, len(X), "elbo")
        rng = self._estimate_generator(seed)
        eps = autograd.Tensor(rng.standard_normal((len(X), self.n_latent), dtype=np.float32))
        with autograd.no_grad():
            reconstruction, kl = self.terms(autograd.Tensor(X), eps, self._tensor(c))
        return to_numpy((-reconstruction - kl).data)                     # (1)

    def log_prob(self, X: Any, y: Labels = None, k: int = 1000, seed: Optional[int] = None,
                 max_rows: int = 65536) -> np.ndarray:
        """The IWAE estimate (6) of log p(x) (with classes, of log p(x | y)) with k samples per
        example: shape (n,).

        Examples and samples are processed in chunks of at most `max_rows` decoded rows, so k = 5000
        on the digits fits in a few hundred MB.  seed None is the model's seed, so the estimate is the
        same at every call.
        """
        X = self.check_data(X, where="log_prob")
        c = self.one_hot(y, len(X), "log_prob")
        if int(k) < 1:
            raise ValueError(f"VAE.log_prob: k must be at least 1, got {k}")
        rng = self._estimate_generator(seed)
        xp = autograd.backend.array_module(X)
        samples_per_chunk = max(1, min(int(k), max_rows))
        examples_per_chunk = max(1, max_rows // samples_per_chunk)
        out = []
        with autograd.no_grad():
            for start in range(0, len(X), examples_per_chunk):
                rows = slice(start, start + examples_per_chunk)
                c_rows = None if c is None else c[rows]
                log_w_parts = [self._log_weights(X[rows], c_rows, rng, min(samples_per_chunk, k - done))
                               for done in range(0, k, samples_per_chunk)]
                log_w = autograd.Tensor(xp.concatenate(log_w_parts, axis=1))       # (b, k)
                out.append((autograd.logsumexp(log_w, axis=1) - math.log(k)).data)   # (6)
        return to_numpy(xp.concatenate(out))

    def importance_terms(self, x: Tensor, eps: Tensor,
                         c: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """For z_i = (3) with noise eps (b, k, Z): log p(x | z_i) and log p(z_i) - log q(z_i | x), each
        (b, k), whose sum is the log importance weight log w_i of (6); and the KL (2), (b,)."""
        mu, logvar = self.posterior(x, c)                                 # (b, Z)
        b, k = eps.shape[0], eps.shape[1]
        kl = gaussian_kl(mu, logvar)                                      # (b,)
        mu, logvar = mu.reshape(b, 1, -1), logvar.reshape(b, 1, -1)       # (b, 1, Z)
        z = reparameterize(mu, logvar, eps)                               # (b, k, Z)
        if c is not None:
            c = autograd.broadcast_to(c.reshape(b, 1, -1), (b, k, c.shape[1])).reshape(b * k, -1)   # (b k, K)
        decoded = self.decoder(z.reshape(-1, self.n_latent), c).reshape(b, k, self.n_input)  # (b, k, D)
        targets = autograd.broadcast_to(x.reshape(b, 1, -1), decoded.shape)  # (b, k, D)
        log_px = self.log_likelihood(targets, decoded)                    # (b, k)
        log_ratio = log_normal(z, 0.0, autograd.zeros_like(z)) - log_normal(z, mu, logvar)
        return log_px, log_ratio, kl

    def _log_weights(self, x, c, rng, k):
        """log w_i of (6) for k draws z_i ~ q(z | x), noise from `rng`: (b, k) device array."""
        eps = autograd.Tensor(rng.standard_normal((len(x), k, self.n_latent), dtype=np.float32))
        log_px, log_ratio, _ = self.importance_terms(autograd.Tensor(x), eps, self._tensor(c))
        return (log_px + log_ratio).data

    # -- encoding, decoding, sampling --------------------------------------------------------
    def encode(self, X: Any, y: Labels = None) -> Tuple[np.ndarray, np.ndarray]:
        """The posterior q(z | x) (or q(z | x, y)): (mu, logvar), numpy arrays (n, Z) each.  Any real
        X of the right width is encoded (also gray images under a Bernoulli likelihood)."""
        X = self.check_data(X, where="encode", binary=False)
        c = self.one_hot(y, len(X), "encode")
        with autograd.no_grad():
            mu, logvar = self.posterior(autograd.Tensor(X), self._tensor(c))
        return to_numpy(mu.data), to_numpy(logvar.data)

    def decode(self, Z: Any, y: Labels = None) -> np.ndarray:
        """The decoder's means E[x | z] (or E[x | z, y]): sigmoid(f(z)) (Bernoulli) or f(z) (Gaussian), (n, D)."""
        Z = check_codes(Z, self.n_latent, "VAE.decode")
        return to_numpy(self._decoded_means(Z, self.one_hot(y, len(Z), "decode")))

    def _decoded_means(self, Z, c):
        with autograd.no_grad():
            decoded = self.decoder(autograd.Tensor(Z), self._tensor(c))
            means = autograd.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded
        return means.data                                                 # (n, D) device array

    def sample(self, n: int, y: Labels = None, seed: Optional[int] = None, mean: bool = True) -> np.ndarray:
        """n samples: z ~ N(0, I), then E[x | z] (mean=True) or a draw x ~ p(x | z): (n, D).  With
        classes, y gives the labels (an int, or n of them; drawn uniformly when None) and x | z, y."""
        rng = seeded_generator(seed, default_device())
        z = rng.standard_normal((n, self.n_latent), dtype=np.float32)     # (n, Z)
        if self.n_classes is not None and y is None:
            y = rng.integers(0, self.n_classes, n)
        means = self._decoded_means(z, self.one_hot(y, n, "sample"))      # (n, D)
        if mean:
            return to_numpy(means)
        if self.likelihood == "bernoulli":
            return to_numpy((rng.random(means.shape, dtype=np.float32) < means).astype(np.float32))
        std = autograd.exp(0.5 * self.obs_logvar).data                    # sigma of (5)
        return to_numpy(means + std * rng.standard_normal(means.shape, dtype=np.float32))

    def interpolate(self, x_a: Any, x_b: Any, steps: int, method: str = "linear",
                    y: Optional[int] = None) -> np.ndarray:
        """Decoded means along a path between the posterior means of x_a and x_b: (steps, D).

        method "linear" (z_a + t (z_b - z_a)) or "spherical" (slerp (7), for Gaussian latents); with
        classes, y is the one label of both ends and of the path.
        """
        if method not in ("linear", "spherical"):
            raise ValueError(f"VAE.interpolate: method must be 'linear' or 'spherical', not {method!r}")
        ends = np.stack([np.asarray(x_a, np.float32).reshape(-1), np.asarray(x_b, np.float32).reshape(-1)])
        z_a, z_b = self.encode(ends, y)[0]                                # (Z,), (Z,)
        t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]           # (steps, 1)
        path = slerp(z_a, z_b, t) if method == "spherical" else z_a + t * (z_b - z_a)
        return self.decode(path.astype(np.float32), y)

    def manifold(self, n: int = 15, quantile: float = 0.05, y: Optional[int] = None) -> np.ndarray:
        """For a 2-D latent: decoded means on an n x n grid of N(0, 1) quantiles (Kingma and Welling,
        fig. 4), rows from top to bottom: (n * n, D); with classes, all of label y."""
        if self.n_latent != 2:
            raise ValueError(f"VAE.manifold needs n_latent == 2, this model has {self.n_latent}")
        values = [NormalDist().inv_cdf(p) for p in np.linspace(quantile, 1 - quantile, n)]
        grid = np.array([(across, down) for down in values[::-1] for across in values], dtype=np.float32)   # (n*n, 2)
        return self.decode(grid, y)


def _image_side(n_input):
    side = math.isqrt(n_input)
    if side * side != n_input:
        raise ValueError(f"VAE: architecture='conv' needs square images; n_input={n_input} is not a square")
    return side
