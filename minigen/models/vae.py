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
            instead; the default is k_train = 5 (chosen on a validation split).

Loss scaling: the training loss is -(1) or -(8), with the reconstruction term summed over pixels and
the KL summed over latent dimensions, per example, then averaged over the batch (so it reads in nats
per image, the unit of the likelihood table).

Sampling: z ~ p(z), then the decoder's mean E[x | z] (or, with mean=False, a draw x ~ p(x | z)).
Encoder and decoder are MLPs (tanh by default) or small convolutional networks for square images.
"""
import math
from statistics import NormalDist

import numpy as np

import autograd
from autograd import nn, optim
from autograd.backend import default_device, module_for_device, to_device, to_numpy
from autograd.nn import functional as F
from minigen.models.autoencoder import ACTIVATIONS, as_sizes, check_input, mlp
from minigen.models.base import GenerativeModel
from minigen.train import train

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
LOG_2PI = math.log(2 * math.pi)


def reparameterize(mu, logvar, eps):
    """(3): z = mu + exp(logvar / 2) * eps.  eps is a constant, so z is differentiable in mu and logvar only."""
    return mu + autograd.exp(0.5 * logvar) * eps


def gaussian_kl(mu, logvar):
    """(2): KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over the last axis."""
    return -0.5 * (1 + logvar - mu * mu - autograd.exp(logvar)).sum(axis=-1)


def log_normal(x, mean, logvar):
    """log N(x; mean, diag(exp(logvar))), summed over the last axis (broadcasting)."""
    difference = x - mean
    return -0.5 * (LOG_2PI + logvar + difference * difference * autograd.exp(-logvar)).sum(axis=-1)


class MLPCoder(nn.Module):
    """An MLP from n_in to n_out inputs (the encoder emits [mu, logvar] as 2 Z outputs)."""

    def __init__(self, n_in, hidden, n_out, activation):
        super().__init__()
        self.net = mlp((n_in, *hidden, n_out), activation)

    def forward(self, x):
        return self.net(x)


class ConvEncoder(nn.Module):
    """(B, side*side) -> conv 3x3 (c), conv 3x3 stride 2 (2c) -> linear -> (B, n_out)."""

    def __init__(self, side, channels, n_out, activation):
        super().__init__()
        self.side, self.channels = side, channels
        half = (side + 1) // 2
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1)
        self.act = ACTIVATIONS[activation]()
        self.head = nn.Linear(2 * channels * half * half, n_out)

    def forward(self, x):
        h = self.act(self.conv1(x.reshape(x.shape[0], 1, self.side, self.side)))   # (B, c, s, s)
        h = self.act(self.conv2(h))                                                # (B, 2c, s/2, s/2)
        return self.head(h.reshape(h.shape[0], -1))                                # (B, n_out)


class ConvDecoder(nn.Module):
    """(B, Z) -> linear -> (B, 2c, s/2, s/2) -> transposed conv 4x4 stride 2 (c) -> conv 3x3 -> (B, side*side)."""

    def __init__(self, side, channels, n_latent, activation):
        super().__init__()
        self.side, self.channels, self.half = side, channels, side // 2
        self.stem = nn.Linear(n_latent, 2 * channels * self.half * self.half)
        self.up = nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1)
        self.out = nn.Conv2d(channels, 1, 3, padding=1)
        self.act = ACTIVATIONS[activation]()

    def forward(self, z):
        h = self.act(self.stem(z)).reshape(z.shape[0], 2 * self.channels, self.half, self.half)  # (B, 2c, s/2, s/2)
        h = self.act(self.up(h))                                                                # (B, c, s, s)
        return self.out(h).reshape(z.shape[0], self.side * self.side)                          # (B, side*side)



class VAE(GenerativeModel):
    """A VAE with a diagonal-Gaussian encoder and a Bernoulli or Gaussian decoder.

    n_input       pixels per example (D)
    n_latent      latent dimensions (Z); 2 gives the manifold plot (`manifold`)
    hidden        MLP hidden sizes of the encoder (the decoder mirrors them); () is linear
    likelihood    "bernoulli" (binary data, (4)) or "gaussian" (real data, (5), learned variance)
    architecture  "mlp" or "conv" (square single-channel images; `channels` feature maps)
    """

    default_epochs, default_batch_size, default_lr, default_weight_decay = 350, 128, 1e-3, 0.05
    default_k_train = 5                                                  # samples in the objective (8)

    def __init__(self, n_input, n_latent, hidden=(256, 256), likelihood="bernoulli", seed=0,
                 architecture="mlp", activation="tanh", channels=32):
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, not {likelihood!r}")
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, not {architecture!r}")
        hidden = as_sizes(hidden)
        super().__init__(n_input=n_input, n_latent=n_latent, hidden=list(hidden), likelihood=likelihood,
                         seed=seed, architecture=architecture, activation=activation, channels=channels)
        autograd.manual_seed(seed)
        self.n_input, self.n_latent, self.likelihood = n_input, n_latent, likelihood
        if architecture == "mlp":
            self.encoder = MLPCoder(n_input, hidden, 2 * n_latent, activation)
            self.decoder = MLPCoder(n_latent, hidden[::-1], n_input, activation)
        else:
            side = _image_side(n_input)
            self.encoder = ConvEncoder(side, channels, 2 * n_latent, activation)
            self.decoder = ConvDecoder(side, channels, n_latent, activation)
        if likelihood == "gaussian":
            self.obs_logvar = nn.Parameter(to_device(np.zeros(1, np.float32), default_device()))
        self.history = {}

    # -- the pieces of (1) -------------------------------------------------------------------
    def posterior(self, x):
        """q(z | x): (mu, logvar), each (B, Z)."""
        out = self.encoder(x)                                            # (B, 2Z)
        return out[:, :self.n_latent], out[:, self.n_latent:]

    def log_likelihood(self, x, decoded):
        """log p(x | z) from the decoder output f(z): (4) or (5), summed over pixels -> (...,)."""
        if self.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(decoded, x, reduction="none").sum(axis=-1)   # (4)
        difference = x - decoded
        return -0.5 * (LOG_2PI + self.obs_logvar
                       + difference * difference * autograd.exp(-self.obs_logvar)).sum(axis=-1)  # (5)

    def terms(self, x, eps=None):
        """Per example: the reconstruction term -log p(x | z) at one z ~ q (3), and the KL (2)."""
        mu, logvar = self.posterior(x)                                   # (B, Z), (B, Z)
        eps = autograd.randn_like(mu) if eps is None else eps            # noise, outside the graph
        z = reparameterize(mu, logvar, eps)                              # (3)
        reconstruction = -self.log_likelihood(x, self.decoder(z))        # (B,)
        return reconstruction, gaussian_kl(mu, logvar)                   # (B,), (B,)

    def loss(self, x):
        """-(1), averaged over the batch; returns (loss, reconstruction, kl) as scalar Tensors."""
        reconstruction, kl = self.terms(x)
        reconstruction, kl = reconstruction.mean(), kl.mean()
        return reconstruction + kl, reconstruction, kl

    def iwae_loss(self, x, k):
        """-(6) with k reparameterized samples (3) per example, averaged over the batch (8); returns
        (loss, reconstruction, kl): the reconstruction term averaged over the k samples and the KL (2)
        are reported beside it, as in `loss`, though the objective is (6) alone."""
        eps = autograd.randn(x.shape[0], k, self.n_latent, dtype=x.dtype, device=x.device)   # outside the graph
        log_px, log_ratio, kl = self.importance_terms(x, eps)            # (B, k), (B, k), (B,)
        loss = -(autograd.logsumexp(log_px + log_ratio, axis=1) - math.log(k)).mean()   # (6), (8)
        return loss, -log_px.mean(), kl.mean()

    # -- training ----------------------------------------------------------------------------
    def fit(self, X, *, epochs=None, batch_size=None, lr=None, weight_decay=None, k_train=None, seed=None,
            progress=True, **train_kwargs):
        """Maximize the ELBO (1) (k_train=1) or the IWAE bound (6) with k_train samples per example (8),
        with AdamW (decoupled weight decay: the digits are few, and the decoder overfits without it).
        None means the tuned default, which reaches the issue's target.  The history holds "loss" (the
        objective) and its "reconstruction" and "kl" terms (batch means, nats per image)."""
        X = check_input("VAE.fit", X, self.n_input)
        seed = self.config["seed"] if seed is None else seed
        autograd.manual_seed(seed)
        weight_decay = self.default_weight_decay if weight_decay is None else weight_decay
        k_train = self.default_k_train if k_train is None else int(k_train)
        if k_train < 1:
            raise ValueError(f"VAE.fit: k_train must be at least 1, got {k_train}")
        optimizer = optim.AdamW(self.parameters(), lr=lr or self.default_lr, weight_decay=weight_decay)

        def step(batch):
            optimizer.zero_grad()
            x = autograd.Tensor(batch)
            loss, reconstruction, kl = self.loss(x) if k_train == 1 else self.iwae_loss(x, k_train)
            loss.backward()
            optimizer.step()
            return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

        self.history = train(self, X, step, optimizer, epochs=epochs or self.default_epochs,
                             batch_size=batch_size or self.default_batch_size, seed=seed,
                             progress=progress, **train_kwargs)
        return self

    # -- evaluation --------------------------------------------------------------------------
    def _generator(self, seed):
        return module_for_device(default_device()).random.default_rng(self.config["seed"] if seed is None else seed)

    def elbo(self, X, seed=None):
        """(1) per example, with one z ~ q(z | x) each and the analytic KL (2): shape (n,)."""
        X = check_input("VAE.elbo", X, self.n_input)
        eps = autograd.Tensor(self._generator(seed).standard_normal((len(X), self.n_latent), dtype=np.float32))
        with autograd.no_grad():
            reconstruction, kl = self.terms(autograd.Tensor(X), eps)
        return to_numpy((-reconstruction - kl).data)                     # (1)

    def log_prob(self, X, k=1000, seed=None, max_rows=65536):
        """The IWAE estimate (6) of log p(x) with k samples per example: shape (n,).

        Examples and samples are processed in chunks of at most `max_rows` decoded rows, so k = 5000
        on the digits fits in a few hundred MB.
        """
        X = check_input("VAE.log_prob", X, self.n_input)
        if int(k) < 1:
            raise ValueError(f"VAE.log_prob: k must be at least 1, got {k}")
        rng, xp = self._generator(seed), module_for_device(default_device())
        samples_per_chunk = max(1, min(int(k), max_rows))
        examples_per_chunk = max(1, max_rows // samples_per_chunk)
        out = []
        with autograd.no_grad():
            for start in range(0, len(X), examples_per_chunk):
                x = X[start:start + examples_per_chunk]
                log_w = [self._log_weights(x, rng, min(samples_per_chunk, k - done))
                         for done in range(0, k, samples_per_chunk)]
                log_w = autograd.Tensor(xp.concatenate(log_w, axis=1))       # (b, k)
                out.append((autograd.logsumexp(log_w, axis=1) - math.log(k)).data)   # (6)
        return to_numpy(xp.concatenate(out))

    def importance_terms(self, x, eps):
        """For z_i = (3) with noise eps (b, k, Z): log p(x | z_i) and log p(z_i) - log q(z_i | x), each
        (b, k), whose sum is the log importance weight log w_i of (6); and the KL (2), (b,)."""
        mu, logvar = self.posterior(x)                                    # (b, Z)
        b, k = eps.shape[0], eps.shape[1]
        kl = gaussian_kl(mu, logvar)                                      # (b,)
        mu, logvar = mu.reshape(b, 1, -1), logvar.reshape(b, 1, -1)       # (b, 1, Z)
        z = reparameterize(mu, logvar, eps)                               # (b, k, Z)
        decoded = self.decoder(z.reshape(-1, self.n_latent)).reshape(b, k, self.n_input)  # (b, k, D)
        targets = autograd.broadcast_to(x.reshape(b, 1, -1), decoded.shape)  # (b, k, D)
        log_px = self.log_likelihood(targets, decoded)                    # (b, k)
        log_ratio = log_normal(z, 0.0, autograd.zeros_like(z)) - log_normal(z, mu, logvar)
        return log_px, log_ratio, kl

    def _log_weights(self, x, rng, k):
        """log w_i of (6) for k draws z_i ~ q(z | x), noise from `rng`: (b, k) device array."""
        eps = autograd.Tensor(rng.standard_normal((len(x), k, self.n_latent), dtype=np.float32))
        log_px, log_ratio, _ = self.importance_terms(autograd.Tensor(x), eps)
        return (log_px + log_ratio).data

    # -- encoding, decoding, sampling --------------------------------------------------------
    def encode(self, X):
        """The posterior q(z | x): (mu, logvar), numpy arrays (n, Z) each."""
        X = check_input("VAE.encode", X, self.n_input)
        with autograd.no_grad():
            mu, logvar = self.posterior(autograd.Tensor(X))
        return to_numpy(mu.data), to_numpy(logvar.data)

    def decode(self, Z):
        """The decoder's means E[x | z]: sigmoid(f(z)) (Bernoulli) or f(z) (Gaussian), shape (n, D)."""
        Z = check_input("VAE.decode", Z, self.n_latent)
        with autograd.no_grad():
            decoded = self.decoder(autograd.Tensor(Z))
            means = autograd.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded
        return to_numpy(means.data)

    def sample(self, n, seed=None, mean=True):
        """n samples: z ~ N(0, I), then E[x | z] (mean=True) or a draw x ~ p(x | z): (n, D)."""
        rng = self._generator(seed)
        means = self.decode(rng.standard_normal((n, self.n_latent), dtype=np.float32))
        if mean:
            return means
        if self.likelihood == "bernoulli":
            return (np.random.default_rng(seed).random(means.shape) < means).astype(np.float32)
        std = float(np.exp(0.5 * to_numpy(self.obs_logvar.data)[0]))
        return means + std * np.random.default_rng(seed).standard_normal(means.shape).astype(np.float32)

    def interpolate(self, x_a, x_b, steps, method="linear"):
        """Decoded means along a path between the posterior means of x_a and x_b: (steps, D).

        method "linear" (z_a + t (z_b - z_a)) or "spherical" (slerp (7), for Gaussian latents).
        """
        if method not in ("linear", "spherical"):
            raise ValueError(f"method must be 'linear' or 'spherical', not {method!r}")
        ends = np.stack([np.asarray(x_a, np.float32).reshape(-1), np.asarray(x_b, np.float32).reshape(-1)])
        z_a, z_b = self.encode(ends)[0]                                   # (Z,), (Z,)
        t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]           # (steps, 1)
        path = slerp(z_a, z_b, t) if method == "spherical" else z_a + t * (z_b - z_a)
        return self.decode(path.astype(np.float32))

    def manifold(self, n=15, quantile=0.05):
        """For a 2-D latent: decoded means on an n x n grid of N(0, 1) quantiles (Kingma and Welling,
        fig. 4), rows from top to bottom: (n * n, D)."""
        if self.n_latent != 2:
            raise ValueError(f"VAE.manifold needs n_latent == 2, this model has {self.n_latent}")
        values = [NormalDist().inv_cdf(p) for p in np.linspace(quantile, 1 - quantile, n)]
        grid = np.array([(x, y) for y in values[::-1] for x in values], dtype=np.float32)   # (n*n, 2)
        return self.decode(grid)


def slerp(z_a, z_b, t):
    """(7): spherical interpolation between z_a and z_b at fractions t (steps, 1) -> (steps, Z)."""
    cos_angle = np.dot(z_a, z_b) / (np.linalg.norm(z_a) * np.linalg.norm(z_b) + 1e-12)
    angle = np.arccos(np.clip(cos_angle, -1.0, 1.0))
    if angle < 1e-6:
        return z_a + t * (z_b - z_a)
    return (np.sin((1 - t) * angle) * z_a + np.sin(t * angle) * z_b) / np.sin(angle)


def _image_side(n_input):
    side = math.isqrt(n_input)
    if side * side != n_input:
        raise ValueError(f"architecture='conv' needs square images; n_input={n_input} is not a square")
    return side
