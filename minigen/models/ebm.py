"""Energy-based model trained by contrastive divergence with short-run Langevin dynamics and a
replay buffer (Du and Mordatch, "Implicit generation and modeling with energy-based models", 2019).

Model       p(x) = exp(-E(x) / T) / Z(theta),   Z = int exp(-E(x) / T) dx intractable           (1)
            E: an MLP with smooth (SiLU) activations, so that grad_x E is smooth too.
Gradient    -d/dtheta E_data[log p(x)] = (E_data[dE/dtheta] - E_p[dE/dtheta]) / T                  (2)
            the second expectation over samples of the model itself: "negatives" x-.
Loss        L = mean E(x+) - mean E(x-) + alpha (mean E(x+)^2 + mean E(x-)^2)                      (3)
            x+ a batch of data, x- negatives held fixed (no gradient flows through the sampler);
            its gradient is (2) times T, plus a penalty that keeps the energies near 0.
Langevin    x <- x - clip(lambda grad_x E(x), -c, c) + sigma z,   z ~ N(0, I),  then x kept in the
            box of the training data (each coordinate clipped to its range in the data)           (4)
            step size lambda and noise scale sigma chosen separately, as in the paper, and each
            coordinate's move clipped to [-c, c] (c = None: no clipping).  Unclipped, (4) is
            unadjusted Langevin dynamics for exp(-E / T) at the temperature
            T = sigma^2 / (2 lambda)                                                              (5)
            sigma = sqrt(2 lambda) samples exp(-E).  The defaults, lambda = 1, sigma = 0.01,
            c = 0.04 (standardized units), make T = 5e-5: far from the data the clip sets the pace
            (0.04 per coordinate and step), near a minimum the chain settles into it with a little
            noise, as in the paper (lambda = 10, sigma = 0.005, clipped steps, for images).
Replay      a batch of distinct stored negatives; each chain starts from its stored negative with
            probability 1 - rho and from uniform noise over the box of the training data with
            probability rho (rho = 0.05); after K steps of (4) it is stored back in its place.     (6)
Quadratic   hidden=(): E(x) = 1/2 (x - m)^T A A^T (x - m), so (1) is the Gaussian
            N(m, T (A A^T)^-1), and training by (3) with alpha = 0 and T = 1 fits the data's mean and
            covariance.                                                                           (7)
Sampling    uniform noise over the box of the training data, then `steps` steps of (4).

The model works on standardized data (x - shift) / scale, with a per-dimension shift and one scale
set by `fit` so that the data have standard deviation `data_std`; E, the box and (4) live in those
coordinates.  By default data_std is 4 for data of fewer than 16 dimensions (the tight modes of a
2-D toy are then wide enough for a small MLP to carve out) and 1 otherwise (images).  There is no
likelihood: Z is unknown.
"""
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np

import autograd
from autograd import nn
from autograd.backend import array_module, default_device, to_numpy
from autograd.tensor import Tensor

from ..train import objective_step, train
from .base import GenerativeModel
from .common import as_sizes, cosine_decay, input_gradients, mlp, seeded_generator, standardization

DEFAULT_HIDDEN = (128, 128)
LOW_DIMENSIONAL = 16                 # below this many dimensions data_std defaults to 4, else 1


@dataclass
class EnergyModelDefaults:
    """Contrastive divergence (3) with Adam; tuned on the 8-Gaussian ring."""
    steps: int = 3000              # parameter updates
    batch_size: int = 128
    lr: float = 3e-3
    langevin_steps: int = 40       # K steps of (4) per update
    alpha: float = 1.0             # weight of the energy penalty in (3)
    buffer_size: int = 10000       # negatives kept in the replay buffer (6)
    reinit: float = 0.05           # rho of (6)


class QuadraticEnergy(nn.Module):
    """(7): E(x) = 1/2 ||A^T (x - m)||^2, a Gaussian energy with precision A A^T."""

    def __init__(self, data_dim: int):
        super().__init__()
        self.center = nn.Parameter(np.zeros(data_dim, dtype=np.float32))              # m
        self.factor = nn.Parameter(np.eye(data_dim, dtype=np.float32))                # A

    def forward(self, x: Tensor) -> Tensor:
        projected = (x - self.center) @ self.factor                                   # (B, D)
        return 0.5 * (projected * projected).sum(axis=1)                              # (7), (B,)


class MLPEnergy(nn.Module):
    """E(x) = an MLP with SiLU activations and one output, (B, D) -> (B,)."""

    def __init__(self, data_dim: int, hidden: Sequence[int]):
        super().__init__()
        self.net = mlp([data_dim, *hidden, 1], activation="silu")

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).reshape(-1)                                                # (B, 1) -> (B,)


class EnergyModel(GenerativeModel):
    """An energy E(x) trained by (3) with negatives from short-run Langevin (4) and a replay buffer (6)."""

    likelihood_kind = None
    size_argument = "data_dim"
    Defaults = EnergyModelDefaults

    def __init__(self, data_dim: int, hidden: Union[None, int, Sequence[int]] = None, seed: int = 0,
                 data_std: Optional[float] = None, step_size: float = 1.0, noise_scale: float = 0.01,
                 step_clip: Optional[float] = 0.04, sample_steps: int = 500):
        hidden = DEFAULT_HIDDEN if hidden is None else as_sizes(hidden)
        if int(data_dim) < 1:
            raise ValueError(f"EnergyModel: data_dim must be at least 1, got {data_dim}")
        if data_std is None:
            data_std = 4.0 if int(data_dim) < LOW_DIMENSIONAL else 1.0
        step_clip = None if step_clip is None else float(step_clip)
        if not (data_std > 0 and step_size > 0 and noise_scale >= 0 and int(sample_steps) >= 0
                and (step_clip is None or step_clip > 0)):
            raise ValueError(f"EnergyModel: need data_std > 0, step_size > 0, noise_scale >= 0, step_clip > 0 (or "
                             f"None) and sample_steps >= 0, got {data_std}, {step_size}, {noise_scale}, {step_clip}, "
                             f"{sample_steps}")
        super().__init__(data_dim=int(data_dim), hidden=list(hidden), seed=int(seed), data_std=float(data_std),
                         step_size=float(step_size), noise_scale=float(noise_scale), step_clip=step_clip,
                         sample_steps=int(sample_steps))
        self.data_dim, self.seed, self.data_std = int(data_dim), int(seed), float(data_std)
        self.step_size, self.noise_scale, self.step_clip = float(step_size), float(noise_scale), step_clip
        self.sample_steps = int(sample_steps)
        autograd.manual_seed(self.seed)
        self.network = MLPEnergy(self.data_dim, hidden) if hidden else QuadraticEnergy(self.data_dim)
        self.register_buffer("shift", np.zeros(self.data_dim, dtype=np.float32))
        self.register_buffer("scale", np.ones((), dtype=np.float32))
        self.register_buffer("low", -np.ones(self.data_dim, dtype=np.float32))        # the box of (6),
        self.register_buffer("high", np.ones(self.data_dim, dtype=np.float32))        # standardized
        self.register_buffer("replay", np.zeros((0, self.data_dim), dtype=np.float32))  # (6)

    @property
    def temperature(self) -> float:
        """(5): the T at which the sampler (4) samples exp(-E / T)."""
        return self.noise_scale ** 2 / (2 * self.step_size)

    # -- energies -------------------------------------------------------------------------------
    def standardize(self, X):
        xp = array_module(X)
        return (X - xp.asarray(self.shift)) / xp.asarray(self.scale)

    def unstandardize(self, x):
        xp = array_module(x)
        return x * xp.asarray(self.scale) + xp.asarray(self.shift)

    def energy(self, X: Any) -> np.ndarray:
        """E(x) per example, (n,), of data X (standardized inside)."""
        x = self.standardize(self.check_data(X, where="energy"))
        with autograd.no_grad():
            return self.network(Tensor(x)).numpy().astype(np.float64)

    def energy_gradient(self, x):
        """grad_x E(x) of standardized x (B, D), an array like x."""
        inputs = Tensor(x, requires_grad=True)
        (gradient,) = input_gradients(self.network(inputs).sum(), [inputs])
        return gradient.data

    # -- sampling -------------------------------------------------------------------------------
    def langevin(self, x, steps: int, generator):
        """`steps` steps of (4) from standardized x (B, D)."""
        xp = array_module(x)
        for _ in range(steps):
            move = self.step_size * self.energy_gradient(x)
            if self.step_clip is not None:
                move = xp.clip(move, -self.step_clip, self.step_clip)
            x = x - move + self.noise_scale * generator.standard_normal(x.shape, dtype=np.float32)   # (4)
            x = xp.clip(x, xp.asarray(self.low), xp.asarray(self.high))                              # (4)
        return x

    def uniform_noise(self, n: int, generator):
        """n points uniform over the box of the training data (standardized), (n, D)."""
        unit = generator.random((n, self.data_dim), dtype=np.float32)
        xp = array_module(unit)
        return xp.asarray(self.low) + xp.asarray(self.high - self.low) * unit

    def negatives(self, n: int, steps: int, reinit: float, generator):
        """(6): n distinct chains from the replay buffer (some replaced by fresh noise), `steps` steps
        of (4), each stored back in its own place."""
        picked = generator.permutation(len(self.replay))[:n]
        starts = self.replay[picked]
        fresh = generator.random(n) < reinit
        starts[fresh] = self.uniform_noise(int(fresh.sum()), generator)
        x = self.langevin(starts, steps, generator)
        self.replay[picked] = x
        return x

    def sample(self, n: int, steps: Optional[int] = None, seed: Optional[int] = None) -> np.ndarray:
        """n samples: uniform noise over the data's box, then `steps` (default sample_steps) steps of (4)."""
        generator = seeded_generator(seed, default_device())
        steps = self.sample_steps if steps is None else int(steps)
        x = self.langevin(self.uniform_noise(n, generator), steps, generator)
        return to_numpy(self.unstandardize(x))

    # -- training -------------------------------------------------------------------------------
    def loss(self, positives, negatives, alpha: float = 1.0) -> Tensor:
        """(3) for standardized data (B, D) and negatives (B', D) (scalar Tensor)."""
        positive_energy = self.network(Tensor(positives))                            # (B,)
        negative_energy = self.network(Tensor(negatives))                            # (B',)
        penalty = (positive_energy * positive_energy).mean() + (negative_energy * negative_energy).mean()
        return positive_energy.mean() - negative_energy.mean() + alpha * penalty      # (3)

    def fit(self, X: Any, *, steps: Optional[int] = None, epochs: Optional[int] = None,
            batch_size: Optional[int] = None, lr: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True, langevin_steps: Optional[int] = None, alpha: Optional[float] = None,
            buffer_size: Optional[int] = None, reinit: Optional[float] = None) -> "EnergyModel":
        """Minimize (3) with Adam; negatives by (6).  `epochs` (if given) replaces the default number
        of steps.  Sets the standardization and the box from X and fills the replay buffer with noise."""
        X = self.check_data(X, where="fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr, langevin_steps=langevin_steps, alpha=alpha,
                          buffer_size=buffer_size, reinit=reinit)
        if s.buffer_size < s.batch_size:
            raise ValueError(f"EnergyModel.fit: the replay buffer ({s.buffer_size}) must hold at least a batch "
                             f"({s.batch_size})")
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        generator = seeded_generator(None, default_device())
        self._set_box(X, s.buffer_size, generator)
        optimizer = autograd.optim.Adam(self.network.parameters(), lr=s.lr)

        def contrastive_loss(batch):
            negatives = self.negatives(len(batch), s.langevin_steps, s.reinit, generator)
            return self.loss(self.standardize(batch), negatives, s.alpha)

        total = s.steps if epochs is None else int(epochs) * math.ceil(len(X) / s.batch_size)
        step = cosine_decay(objective_step(contrastive_loss, optimizer), optimizer, total)
        self.history = train(self, X, step, optimizer, steps=total,
                             batch_size=s.batch_size, seed=seed, progress=progress, description="EnergyModel")
        return self

    def _set_box(self, X, buffer_size: int, generator) -> None:
        """The standardization, the box of the standardized data and a replay buffer of noise (6)."""
        shift, spread = standardization(to_numpy(X))
        self.shift, self.scale = shift, np.asarray(spread / self.data_std, dtype=np.float32)
        x = to_numpy(self.standardize(to_numpy(X)))
        self.low, self.high = x.min(axis=0).astype(np.float32), x.max(axis=0).astype(np.float32)
        self.replay = self.uniform_noise(int(buffer_size), generator)
