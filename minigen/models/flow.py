"""Real NVP: density estimation with affine coupling layers (Dinh, Sohl-Dickstein and Bengio, ICLR 2017).

A normalizing flow is an invertible map f from data x to a latent z under a simple base density:
    z = f(x) = f_L o ... o f_1 o f_0 (x),        p_Z(z) = N(z; 0, I)                            (1)
    log p_Z(z) = -1/2 ||z||^2 - D/2 log(2 pi)
Change of variables: the likelihood is exact,
    log p(x) = log p_Z(f(x)) + sum_l log |det d f_l / d x_{l-1}|                                (2)
Standardization f_0 (mu, sigma set from the training data; it counts in (2) like any layer):
    f_0(x) = (x - mu) / sigma,        log |det| = -D log sigma                                  (3)
Affine coupling with a fixed binary mask b (b_d = 1: coordinate d passes through unchanged):
    y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x))                                        (4)
    [h, t] = MLP(b * x),     s = a * tanh(h)   (a learned per dimension; tanh bounds the scale) (5)
    log |det dy/dx| = sum_d (1 - b_d) s_d(b * x)           (dy/dx is triangular)                (6)
    x = b * y + (1 - b) * (y - t(b * y)) * exp(-s(b * y))   (b * y = b * x, so s, t are known)  (7)
The masks alternate, so the coordinates one layer passes through, the next one transforms: in
2-D the two coordinates take turns; in D dimensions the layers cycle through the even/odd
coordinates, then the first/second half, each followed by its complement.
Training maximizes (2), averaged over a batch.  Sampling: z ~ N(0, I), then (7) through the
layers in reverse order and the inverse of (3).
Dequantized discrete data (Theis, van den Oord and Bethge 2016): pixel levels k in {0, ..., L-1}
become y = (k + u) / L with u ~ U[0, 1)^D, and the continuous likelihood bounds the discrete one:
    -log2 P(k) / D <= (-E_u log p(y) + D log L) / (D log 2)      bits per dimension             (8)
"""
import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

import autograd
from autograd import nn
from autograd.backend import default_device, to_numpy
from autograd.tensor import Array, Tensor

from ..train import objective_step, train
from .base import GenerativeModel
from .common import as_sizes, cosine_decay, layers_of, mlp, seeded_generator, standardization

DEFAULT_LAYERS = 16
DEFAULT_HIDDEN = (128, 128)
LOG_2PI = math.log(2 * math.pi)


@dataclass
class RealNVPDefaults:
    """Adam with a cosine-decayed learning rate on -mean log p(x); tuned on the 8-Gaussian ring."""
    steps: int = 8000
    batch_size: int = 256
    lr: float = 1e-3
    clip_grad_norm: float = 10.0


def coupling_masks(data_dim: int, n_layers: int) -> np.ndarray:
    """The masks b of (4), one per layer (n_layers, data_dim): even/odd coordinates for two layers,
    then first/second half for two, and so on; each mask's complement comes next."""
    index = np.arange(data_dim)
    patterns = (index % 2 == 0, index < data_dim // 2)
    masks = [patterns[(layer // 2) % 2] ^ bool(layer % 2) for layer in range(n_layers)]
    return np.stack(masks).astype(np.float32)


def standard_normal_log_density(z: Tensor) -> Tensor:
    """(1): log N(z; 0, I) per row, (B, D) -> (B,)."""
    return -0.5 * (z * z).sum(axis=1) - 0.5 * z.shape[1] * LOG_2PI


class AffineCoupling(nn.Module):
    """One coupling layer, (4) to (7), with the fixed binary mask b."""

    mask: Array                                            # buffer: b, (D,) of 0s and 1s

    def __init__(self, mask: np.ndarray, hidden: Sequence[int]):
        super().__init__()
        data_dim = len(mask)
        self.register_buffer("mask", np.asarray(mask, dtype=np.float32))
        self.conditioner = mlp([data_dim, *hidden, 2 * data_dim], activation="relu")
        for parameter in self.conditioner[-1].parameters():
            parameter.data[...] = 0                        # s = t = 0: the flow starts as the identity
        self.scale_factor = nn.Parameter(np.ones(data_dim, dtype=np.float32))

    def log_scale_and_shift(self, passed: Tensor) -> Tuple[Tensor, Tensor]:
        """(5): s and t from the passed coordinates b * x, both zero where b = 1: (B, D) each."""
        data_dim = passed.shape[1]
        out = self.conditioner(passed)                                           # (B, 2D)
        transformed = 1 - self.mask
        log_scale = self.scale_factor * autograd.tanh(out[:, :data_dim]) * transformed   # (5)
        return log_scale, out[:, data_dim:] * transformed

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """(4) and (6): y (B, D) and log |det dy/dx| (B,)."""
        passed = x * self.mask
        log_scale, shift = self.log_scale_and_shift(passed)
        y = passed + (1 - self.mask) * (x * autograd.exp(log_scale) + shift)     # (4)
        return y, log_scale.sum(axis=1)                                           # (6)

    def inverse(self, y: Tensor) -> Tensor:
        """(7): x (B, D) from y."""
        passed = y * self.mask
        log_scale, shift = self.log_scale_and_shift(passed)
        return passed + (1 - self.mask) * (y - shift) * autograd.exp(-log_scale)  # (7)


class RealNVP(GenerativeModel):
    """A stack of affine coupling layers over standardized data, with an exact likelihood (2)."""

    likelihood_kind = "exact"
    size_argument = "data_dim"
    Defaults = RealNVPDefaults

    def __init__(self, data_dim: int, n_layers: Optional[int] = None,
                 hidden: Union[None, int, Sequence[int]] = None, seed: int = 0):
        n_layers = DEFAULT_LAYERS if n_layers is None else int(n_layers)
        hidden = DEFAULT_HIDDEN if hidden is None else as_sizes(hidden)
        if int(data_dim) < 2:
            raise ValueError(f"RealNVP: a coupling layer splits the coordinates, so data_dim must be at "
                             f"least 2, got {data_dim}")
        if n_layers < 1:
            raise ValueError(f"RealNVP: n_layers must be at least 1, got {n_layers}")
        super().__init__(data_dim=int(data_dim), n_layers=n_layers, hidden=list(hidden), seed=int(seed))
        self.data_dim, self.seed = int(data_dim), int(seed)
        autograd.manual_seed(self.seed)
        self.layers = nn.Sequential(*[AffineCoupling(mask, hidden)
                                      for mask in coupling_masks(self.data_dim, n_layers)])
        self.register_buffer("shift", np.zeros(self.data_dim, dtype=np.float32))     # mu of (3)
        self.register_buffer("scale", np.ones((), dtype=np.float32))                 # sigma of (3)

    # -- the map and its inverse ---------------------------------------------------------------
    def data_to_latent(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """(1), (3), (4): z = f(x) (B, D) and log |det df/dx| (B,) by (2), (3), (6)."""
        z = (x - self.shift) / self.scale                                          # (3)
        log_det = autograd.zeros_like(z[:, 0]) - self.data_dim * math.log(float(self.scale))   # (3), (B,)
        for layer in self.couplings():
            z, layer_log_det = layer(z)                                            # (4), (6)
            log_det = layer_log_det + log_det                                      # (2)
        return z, log_det

    def latent_to_data(self, z: Tensor) -> Tensor:
        """f^-1(z): (7) through the layers in reverse order, then the inverse of (3): (B, D)."""
        x = z
        for layer in reversed(self.couplings()):
            x = layer.inverse(x)                                                   # (7)
        return x * self.scale + self.shift                                         # (3) undone

    def couplings(self) -> List[AffineCoupling]:
        return layers_of(self.layers, AffineCoupling)

    def forward(self, X: Any) -> Tuple[Any, Any]:
        """Z = f(X) (n, D) and log |det df/dx| (n,).  A Tensor goes through differentiably in its
        own dtype; anything else is checked as data and gives float32 arrays."""
        return self._map(self.data_to_latent, X, "forward")

    def inverse(self, Z: Any) -> Any:
        """X = f^-1(Z) (n, D): Tensors in and out, or checked arrays in and arrays out."""
        return self._map(self.latent_to_data, Z, "inverse")

    def _map(self, transform, X, where):
        if isinstance(X, Tensor):
            return transform(X)
        with autograd.no_grad():
            out = transform(Tensor(self.check_data(X, where=where)))
        return tuple(t.numpy() for t in out) if isinstance(out, tuple) else out.numpy()

    # -- likelihood, training, sampling ----------------------------------------------------------
    def log_prob_tensor(self, x: Tensor) -> Tensor:
        """(2): log p(x) per row of a batch, (B, D) -> (B,)."""
        z, log_det = self.data_to_latent(x)
        return standard_normal_log_density(z) + log_det                           # (2)

    def log_prob(self, X: Any, batch_size: int = 4096) -> np.ndarray:
        """Exact log p(x) in nats, (n,) float64, by (2)."""
        X = self.check_data(X, where="log_prob")
        with autograd.no_grad():
            chunks = [self.log_prob_tensor(Tensor(X[i:i + batch_size])).numpy()
                      for i in range(0, len(X), batch_size)]
        return np.concatenate(chunks).astype(np.float64)

    def loss(self, x: Any) -> Tensor:
        """-mean log p(x) over a batch, in nats per example (scalar Tensor)."""
        return -self.log_prob_tensor(x if isinstance(x, Tensor) else Tensor(x)).mean()

    def fit(self, X: Any, *, steps: Optional[int] = None, epochs: Optional[int] = None,
            batch_size: Optional[int] = None, lr: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True) -> "RealNVP":
        """Maximize (2) with Adam, the learning rate cosine-decayed to 0, gradients clipped; `epochs`
        (if given) replaces the default number of steps.  Sets the standardization (3) from X."""
        X = self.check_data(X, where="fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr)
        seed = self.seed if seed is None else int(seed)
        shift, spread = standardization(to_numpy(X))
        self.shift, self.scale = shift, np.asarray(spread, dtype=np.float32)
        autograd.manual_seed(seed)
        optimizer = autograd.optim.Adam(self.parameters(), lr=s.lr)
        total = s.steps if epochs is None else int(epochs) * math.ceil(len(X) / s.batch_size)
        step = cosine_decay(objective_step(self.loss, optimizer, clip_grad_norm=s.clip_grad_norm), optimizer, total)
        self.history = train(self, X, step, optimizer, steps=total, batch_size=s.batch_size, seed=seed,
                             progress=progress, description="RealNVP")
        return self

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """z ~ N(0, I), x = f^-1(z): n samples (n, D) float32."""
        generator = seeded_generator(seed, default_device())
        z = generator.standard_normal((n, self.data_dim), dtype=np.float32)
        with autograd.no_grad():
            return self.latent_to_data(Tensor(z)).numpy()


def dequantize(levels: np.ndarray, n_levels: int, generator: np.random.Generator) -> np.ndarray:
    """(8): integer levels k in {0, ..., L-1} -> y = (k + u) / L, u ~ U[0, 1), float32 in [0, 1)."""
    levels = np.asarray(levels)
    if levels.min() < 0 or levels.max() > n_levels - 1 or not np.array_equal(levels, np.round(levels)):
        raise ValueError(f"dequantize: expected integer levels in 0..{n_levels - 1}")
    return ((levels + generator.random(levels.shape)) / n_levels).astype(np.float32)


def bits_per_dim(log_prob_dequantized: np.ndarray, data_dim: int, n_levels: int) -> float:
    """(8): the bound on -log2 P(k) / D from log p(y) of dequantized examples (n,)."""
    nats = -float(np.mean(log_prob_dequantized)) + data_dim * math.log(n_levels)
    return nats / (data_dim * math.log(2))
