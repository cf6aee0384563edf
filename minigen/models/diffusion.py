"""Denoising diffusion probabilistic models (Ho, Jain and Abbeel, 2020), with DDIM sampling
(Song, Meng and Ermon, 2021) and the cosine schedule (Nichol and Dhariwal, 2021).

Easy to turn data into noise: a fixed linear-Gaussian encoder adds a little noise T times.
Hard to turn noise into data: a network learns to undo one step at a time.  Times are indexed
t = 1..T in the equations and t = 0..T-1 in the arrays (`betas[t - 1]` is beta_t).

Forward    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)                          (1)
Marginal   q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),  abar_t = prod_{s<=t} (1 - beta_s)
           x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   eps ~ N(0, I)                     (2)
Posterior  q(x_{t-1} | x_t, x_0) = N(mu~_t, beta~_t I)                                        (3)
           mu~_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0
                   + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t,        alpha_t = 1 - beta_t
           beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t
Loss       L_simple = E_{t ~ U{1..T}, x_0, eps} || eps - eps_theta(x_t, t) ||^2                (4)
           summed over dimensions per example, averaged over the batch.
Reverse    p(x_{t-1} | x_t) = N(mu_theta(x_t, t), sigma_t^2 I)                                 (5)
           mu_theta = (x_t - beta_t / sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(alpha_t)
           sigma_t^2 = beta_t ("large") or beta~_t ("small"); no noise at the last step.
DDIM       x0^ = (x_t - sqrt(1 - abar_t) eps_theta) / sqrt(abar_t)                              (6)
           x_s = sqrt(abar_s) x0^ + sqrt(1 - abar_s - s_t^2) eps_theta + s_t z,  s < t
           s_t = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s); eta = 0: deterministic
Fewer steps (respacing): on a subsequence tau_1 < ... < tau_S of 1..T, the step from tau_i to
           tau_{i-1} has beta = 1 - abar_{tau_i} / abar_{tau_{i-1}}; (5) and (6) then apply.      (7)
Bound      -log p(x_0) <= L_T + sum_{t=2}^T L_{t-1} + L_0                                      (8)
           L_T = KL(q(x_T | x_0) || N(0, I)),  L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),
           L_0 = -log p(x_0 | x_1), a Gaussian N(x0^(x_1), (1 - abar_1) / abar_1) integrated over
           the bin of each discrete pixel value (Ho et al.'s discretized decoder; x0^ from (6)).
Short bound  the same with the decoder at step k, p(x_0 | x_k), and only the terms t > k: the
           bound of a model whose chain stops at x_k (k = 1 is (8)); the one-step decoder absorbs
           the small-t terms, where eps_theta must snap to the pixel grid and (8) is loosest.   (8')
Schedules  linear: beta_t from 1e-4 to 0.02 at T = 1000, both scaled by 1000 / T, at most 0.999 (9)
           cosine: abar_t = f(t) / f(0),  f(t) = cos((t / T + 0.008) / 1.008 * pi / 2)^2,
                   beta_t = min(1 - abar_t / abar_{t-1}, 0.999)                                (10)

Guidance   classifier-free guidance (Ho and Salimans 2022), with n_classes: eps_theta(x_t, t, y) learns
           the conditional and, through a null label y = 0/ given in place of the true label with
           probability p_uncond during training, the unconditional model; sampling uses         (11)
           eps~ = (1 + w) eps_theta(x_t, t, y) - w eps_theta(x_t, t, 0/)
           in (5) or (6).  w = 0 is the conditional model; a larger w trades diversity for class fidelity.
EMA        with `ema` = d, a twin of eps_theta keeps an exponential moving average of its weights,
           updated after the n-th optimizer step (n = 1, 2, ...) with a warm-up that forgets the
           random initial weights:
           theta_ema <- d_n theta_ema + (1 - d_n) theta,   d_n = min(d, (1 + n) / (10 + n))       (12)
           sampling and the bound use eps_theta with the weights theta_ema.

Sampling: x_T ~ N(0, I), then (5) for t = T..1 ("ddpm"), or (6) on a subsequence ("ddim").
Likelihood: log_prob(X) = -(8'), a lower bound on log P(x) for data on a grid of evenly spaced
levels in [0, 1] (binarized or quantized pixels), the decoder step picked from the grid.
The model works on standardized data, (x - shift) / scale, with a per-dimension shift and one
scale set by `fit` so that the data have standard deviation `data_std`; `q_sample` and
`q_posterior` act on whatever coordinates they are given.
"""
import copy
import dataclasses
import math
from typing import Any, Dict, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
from numpy.typing import ArrayLike

import autograd
from autograd.backend import array_module, default_device, device_of, kernel, to_device, to_numpy
from autograd.tensor import Array, Tensor
from minigen import kernels  # noqa: F401  (registers the model kernels: Gibbs, Langevin, DDPM)

from ..train import objective_step, train
from .base import GenerativeModel, check_sizes
from .common import check_labels, cosine_decay, seeded_generator, standardization
from .denoisers import default_denoiser, large_image
from .sde import VPSDE

SCHEDULES = ("linear", "cosine")
METHODS = ("ddpm", "ddim", "sde", "ode")
VARIANCES = ("small", "large")
GRID_LEVELS = (2, 17, 256)            # binarized pixels, sklearn's digits (0..16), 8-bit images
EMA_WARMUP = 10                       # d_n = min(d, (1 + n) / (EMA_WARMUP + n))  (12)
Labels = Union[None, int, Sequence[int], np.ndarray]


# -- schedules ---------------------------------------------------------------------------------

def linear_betas(T: int, max_beta: float = 0.999) -> np.ndarray:
    """(9): 1e-4 .. 0.02 at T = 1000, scaled by 1000 / T (and kept below 1 for T < 50), float64."""
    scale = 1000.0 / T
    return np.minimum(np.linspace(1e-4 * scale, 0.02 * scale, T, dtype=np.float64), max_beta)


def cosine_betas(T: int, offset: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """(10): Nichol and Dhariwal's schedule, float64."""
    steps = np.arange(T + 1, dtype=np.float64) / T
    f = np.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    return np.minimum(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], max_beta)


def make_betas(T: int, schedule: str) -> np.ndarray:
    if schedule not in SCHEDULES:
        raise ValueError(f"DDPM: schedule must be one of {SCHEDULES}, got {schedule!r}")
    return linear_betas(T) if schedule == "linear" else cosine_betas(T)


def grid_levels(X: Any) -> Optional[int]:
    """The fewest evenly spaced levels in [0, 1] of GRID_LEVELS that every value of X sits on (to
    1e-4), or None for data off every grid (where the discrete bound (8') is undefined)."""
    X = np.asarray(to_numpy(X), dtype=np.float64)
    if X.min() < 0 or X.max() > 1:
        return None
    for levels in GRID_LEVELS:
        if np.abs(np.round(X * (levels - 1)) - X * (levels - 1)).max() < 1e-4:
            return levels
    return None


# -- fit settings ------------------------------------------------------------------------------

@dataclasses.dataclass
class DDPMDefaults:
    """Tuned fit settings (on digits and the 2-D toys).  The field defaults are for data of 16 or
    more dimensions (the digits); `DDPMDefaults.for_shape(data_shape)` gives every shape's."""

    steps: int = 8000
    batch_size: int = 128
    lr: float = 1e-3                    # Adam's, annealed to 0 along a half cosine
    data_std: float = 1.0               # the spread `fit` gives the data, unless the model sets data_std
    p_uncond: float = 0.1               # (11): how often a label is replaced by the null label in training

    @classmethod
    def for_shape(cls, data_shape: Sequence[int]) -> "DDPMDefaults":
        """The settings for data of this shape.  Fewer than 16 dimensions (the 2-D toys): spreading
        the data wider than the noise (data_std 5) spends more of the uniform t on the fine scales
        that make sharp modes, with larger batches and a larger learning rate.  Images of 28x28 or
        more (MNIST, which get the U-Net with attention): more steps, meant for a GPU, and a smaller
        learning rate for the deeper network, which has no normalization inside its residual blocks."""
        if large_image(data_shape):
            return cls(steps=20000, lr=5e-4)
        if math.prod(data_shape) >= 16:
            return cls()
        return cls(steps=6000, batch_size=256, lr=2e-3, data_std=5.0)


# -- the model ---------------------------------------------------------------------------------

def _gather(values, t, ndim, dtype):
    """values[t] shaped (B, 1, ..., 1) to broadcast against a batch of ndim axes, in `dtype`."""
    return values[t].astype(dtype).reshape(-1, *([1] * (ndim - 1)))


class DDPM(GenerativeModel):
    """Denoising diffusion model over data of shape `data_shape` (the module docstring has the math).

    T          steps of the forward chain;  schedule  "linear" (9) or "cosine" (10)
    denoiser   eps_theta(x, t[, y]); None: `default_denoiser(data_shape, n_classes)`
    data_std   the spread fit gives the data (None: the Defaults for this shape)
    n_classes  None, or K: a class-conditional model with classifier-free guidance (11), whose fit
               takes labels y in 0..K-1 and whose denoiser has K + 1 label vectors (K: the null label)
    ema        None, or the decay d in [0, 1) of the weight average (12) that sampling uses
    """

    likelihood_kind = "bound"
    Defaults = DDPMDefaults
    size_argument = "data_shape"
    data_shape: Tuple[int, ...]          # given to the constructor, never learned
    ema_updates: Any                     # n of (12): a buffer, registered when the model keeps an average

    def __init__(self, data_shape: Union[int, Sequence[int]], T: int = 1000, schedule: str = "linear",
                 denoiser: Any = None, seed: int = 0, data_std: Optional[float] = None,
                 n_classes: Optional[int] = None, ema: Optional[float] = None) -> None:
        data_shape = tuple(int(d) for d in np.atleast_1d(data_shape))
        if int(T) < 1:
            raise ValueError(f"DDPM: T must be at least 1, got {T}")
        if ema is not None and not 0 <= float(ema) < 1:
            raise ValueError(f"DDPM: ema must be None or a decay in [0, 1), got {ema}")
        if n_classes is not None:
            check_sizes("DDPM", n_classes=n_classes)
            n_classes = int(n_classes)
        super().__init__(data_shape=list(data_shape), T=int(T), schedule=schedule, seed=int(seed),
                         data_std=data_std, n_classes=n_classes, ema=None if ema is None else float(ema))
        self.data_std, self.n_classes = data_std, n_classes
        self.ema = None if ema is None else float(ema)
        self.data_shape, self.T, self.schedule, self.seed = data_shape, int(T), schedule, int(seed)
        self.betas = make_betas(self.T, schedule)                                  # (T,) float64
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)                               # (2): abar_t
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        self.posterior_variance = self.betas * (1 - self.alphas_cumprod_prev) / (1 - self.alphas_cumprod)
        autograd.manual_seed(self.seed)
        self.denoiser = denoiser if denoiser is not None else default_denoiser(data_shape, self.n_classes)
        self.register_buffer("shift", np.zeros(data_shape, dtype=np.float32))
        self.register_buffer("scale", np.ones((), dtype=np.float32))
        if self.ema is not None:
            self.ema_denoiser = copy.deepcopy(self.denoiser)                        # theta_ema, from theta
            for parameter in self.ema_denoiser.parameters():
                parameter.requires_grad = False
            self.register_buffer("ema_updates", np.zeros((), dtype=np.int64))       # n of (12)

    def settings(self, **overrides: Any) -> DDPMDefaults:
        """The Defaults for this model's data shape (DDPMDefaults.for_shape), with every override not None."""
        super().settings(**overrides)                                               # names checked
        tuned = DDPMDefaults.for_shape(self.data_shape)
        return dataclasses.replace(tuned, **{k: v for k, v in overrides.items() if v is not None})

    # -- the forward process ---------------------------------------------------------------
    def q_sample(self, x0: Union[Tensor, Array], t: ArrayLike, noise: Union[Tensor, Array]) -> Any:
        """(2): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, t an integer array (B,) in 0..T-1.

        NumPy arrays in give a NumPy array out; Tensors in give a Tensor (differentiable in x0).
        """
        t = self._check_t(t, x0.shape[0])
        ndim = len(x0.shape)
        signal = _gather(np.sqrt(self.alphas_cumprod), t, ndim, x0.dtype)
        spread = _gather(np.sqrt(1 - self.alphas_cumprod), t, ndim, x0.dtype)
        if isinstance(x0, Tensor):
            return x0 * signal + noise * spread                                   # numpy constants follow x0
        xp = array_module(x0)
        return x0 * xp.asarray(signal) + noise * xp.asarray(spread)

    def q_posterior(self, x0: ArrayLike, x_t: ArrayLike, t: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        """(3): the mean and variance of q(x_{t-1} | x_t, x_0) for t (B,) in 1..T-1, float64 arrays."""
        x0, x_t = np.asarray(x0, dtype=np.float64), np.asarray(x_t, dtype=np.float64)
        t = self._check_t(t, x0.shape[0])
        shape = (-1,) + (1,) * (x0.ndim - 1)
        abar, abar_prev = self.alphas_cumprod[t].reshape(shape), self.alphas_cumprod_prev[t].reshape(shape)
        beta, alpha = self.betas[t].reshape(shape), self.alphas[t].reshape(shape)
        mean = (np.sqrt(abar_prev) * beta * x0 + np.sqrt(alpha) * (1 - abar_prev) * x_t) / (1 - abar)
        variance = np.broadcast_to(self.posterior_variance[t].reshape(shape), mean.shape)
        return mean, variance

    def _check_t(self, t: ArrayLike, batch: int) -> np.ndarray:
        t = np.asarray(to_numpy(t) if not isinstance(t, (int, np.integer)) else [t] * batch, dtype=np.int64)
        if t.shape != (batch,):
            raise ValueError(f"DDPM: t must have shape ({batch},) to match x0, got {t.shape}")
        if t.size and (t.min() < 0 or t.max() >= self.T):
            raise ValueError(f"DDPM: t must lie in [0, {self.T}), got [{t.min()}, {t.max()}]")
        return t

    def _abar(self, t: int) -> float:
        """abar_t for a 0-based step t, and 1 for t = -1 (x_0 itself)."""
        return float(self.alphas_cumprod[t]) if t >= 0 else 1.0

    # -- data coordinates and labels ----------------------------------------------------------
    def standardize(self, x: Union[Tensor, Array]) -> Any:
        shift, scale = self._coordinates(x)
        return (x - shift) / scale

    def unstandardize(self, x: Union[Tensor, Array]) -> Any:
        shift, scale = self._coordinates(x)
        return x * scale + shift

    def _coordinates(self, x):
        """shift and scale on the device of x (a Tensor converts them itself)."""
        if isinstance(x, Tensor):
            return self.shift, self.scale
        device = device_of(x)
        return to_device(self.shift, device), to_device(self.scale, device)

    def check_labels(self, y: Labels, n: int, where: str) -> Optional[np.ndarray]:
        """The labels y as an int64 array (n,) (an int stands for n equal labels), or None when y is
        None; a ValueError naming DDPM.<where> otherwise (see common.check_labels)."""
        return None if y is None else check_labels(y, n, self.n_classes, f"DDPM.{where}")

    def drop_labels(self, y: Array, p_uncond: float, dropped: Optional[Array] = None) -> Array:
        """(11): each label replaced by the null label (n_classes) with probability p_uncond; `dropped`
        (B,) booleans pin which ones (drawn on the host by default)."""
        xp = array_module(y)
        if dropped is None:
            dropped = autograd.random.generator("cpu").random(len(y)) < p_uncond
        return xp.where(xp.asarray(dropped), self.n_classes, y)

    # -- training ----------------------------------------------------------------------------
    def loss(self, x0: Union[Tensor, Array], t: Optional[ArrayLike] = None, noise: Union[None, Tensor, Array] = None,
             y: Optional[Array] = None) -> Tensor:
        """(4): the simple eps-prediction loss on a batch x0 in data coordinates (scalar Tensor).

        t (B,) integer steps in 0..T-1 and noise (like x0) are drawn when not given (t uniform, on the
        host where the schedule tables and the time embedding read it); y (B,) labels for a
        class-conditional model (n_classes marks the null label; None: all null).
        """
        if not isinstance(x0, Tensor):                               # a host batch goes to the denoiser's device
            x0 = autograd.tensor(x0, dtype=np.float32, device=default_device())
        x0 = self.standardize(x0)
        if t is None:
            t = autograd.random.generator("cpu").integers(0, self.T, size=x0.shape[0])
        if noise is None:
            noise = autograd.randn(x0.shape, device=x0.device)
        elif not isinstance(noise, Tensor):
            noise = autograd.tensor(noise, dtype=np.float32, device=x0.device)
        predicted = self._denoise(self.q_sample(x0, t, noise), t, y)
        squared = (predicted - noise) ** 2
        return squared.reshape(x0.shape[0], -1).sum(axis=1).mean()

    def _denoise(self, x: Tensor, t, y=None, network: Any = None) -> Tensor:
        """eps_theta(x, t) or, with classes, eps_theta(x, t, y) (y None: the null label), computed by
        `network` (None: the trained weights theta)."""
        network = self.denoiser if network is None else network
        if self.n_classes is None:
            if y is not None:
                raise ValueError("DDPM: this DDPM has no classes (n_classes=None), so it takes no labels y")
            return network(x, t)
        return network(x, t, y)

    @property
    def sampling_denoiser(self) -> Any:
        """The eps_theta that sampling and the bound use: the twin with the averaged weights theta_ema
        (12) when the model keeps one, the trained network itself otherwise."""
        return self.ema_denoiser if self.ema is not None else self.denoiser

    def update_ema(self) -> None:
        """(12): theta_ema <- d_n theta_ema + (1 - d_n) theta after the n-th update, on the device
        (the count n stays there too, so no step waits for the device)."""
        self.ema_updates += 1                                                       # n, in place
        xp = array_module(self.ema_updates)
        decay = xp.minimum(self.ema, (1 + self.ema_updates) / (EMA_WARMUP + self.ema_updates))   # d_n
        for average, weights in zip(self.ema_denoiser.parameters(), self.denoiser.parameters()):
            average.data *= decay.astype(average.data.dtype)
            average.data += (1 - decay).astype(average.data.dtype) * weights.data    # (12)

    def fit(self, X: Any, y: Labels = None, steps: Optional[int] = None, epochs: Optional[int] = None,
            batch_size: Optional[int] = None, lr: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True, checkpoint: Optional[str] = None, resume: Optional[str] = None,
            p_uncond: Optional[float] = None) -> "DDPM":
        """Train eps_theta with Adam on L_simple (4), the learning rate annealed along a half cosine;
        with classes, on (X, y) with labels dropped to the null label with probability p_uncond (11).
        None settings take `self.settings()` (the Defaults for this data shape); `epochs` replaces steps."""
        X = self.check_data(X, where="fit")
        if self.n_classes is not None and y is None:
            raise ValueError(f"DDPM.fit: this DDPM is class-conditional (n_classes={self.n_classes}); "
                             "give the labels y")
        labels = self.check_labels(y, len(X), "fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr, p_uncond=p_uncond)
        steps = s.steps if epochs is None else steps
        self.shift, spread = standardization(to_numpy(X))
        self.scale = np.asarray(spread / (self.data_std or s.data_std), dtype=np.float32)
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        optimizer = autograd.optim.Adam(self.denoiser.parameters(), lr=s.lr)
        total = s.steps if epochs is None else epochs * math.ceil(len(X) / s.batch_size)

        def objective(batch):
            if labels is None:
                return self.loss(batch)
            x0, batch_labels = batch
            return self.loss(x0, y=self.drop_labels(batch_labels, s.p_uncond))
        step = cosine_decay(objective_step(objective, optimizer, clip_grad_norm=1.0), optimizer, total)
        if self.ema is not None:
            step = self._followed_by_ema(step)
        self.history = train(self, X if labels is None else (X, labels), step, optimizer, steps=steps,
                             epochs=epochs, batch_size=s.batch_size, seed=seed, progress=progress,
                             checkpoint=checkpoint, resume=resume, description="DDPM")
        return self

    def _followed_by_ema(self, step):
        """The training step, then the average's update (12)."""
        def step_and_average(batch):
            losses = step(batch)
            self.update_ema()
            return losses
        return step_and_average

    # -- the reverse process -----------------------------------------------------------------
    def predict_eps(self, x: Union[Tensor, Array], t: ArrayLike, y: Optional[Array] = None) -> Any:
        """eps_theta(x, t, y) for standardized x (B, ...), times t (B,) (maybe fractional) and labels y
        (B,) or None.  An array x gives an array on x's device, without a graph (the denoiser runs on
        the active backend's device); a Tensor x gives a Tensor, differentiable in x.  With `ema`, the
        averaged weights theta_ema (12) compute it."""
        if isinstance(x, Tensor):
            return self._denoise(x, t, y, self.sampling_denoiser)
        with autograd.no_grad():
            eps = self._denoise(Tensor(to_device(x, default_device())), t, y, self.sampling_denoiser).data
        return to_device(eps, device_of(x))

    def guided_eps(self, x: Union[Tensor, Array], t: ArrayLike, y: Optional[Array] = None,
                   guidance: Optional[float] = None) -> Any:
        """(11): eps~ = (1 + w) eps_theta(x, t, y) - w eps_theta(x, t, null), w = guidance.  Without
        labels (y None) or at w = 0 (or None) it is eps_theta(x, t, y) itself."""
        w = 0.0 if guidance is None else float(guidance)
        conditional = self.predict_eps(x, t, y)
        if y is None or w == 0:
            return conditional
        unconditional = self.predict_eps(x, t, None)
        return (1 + w) * conditional - w * unconditional                             # (11)

    def p_sample(self, x_t: Array, t: int, s: Optional[int] = None, *, variance: str = "small",
                 noise: Optional[Array] = None, generator: Any = None, y: Optional[Array] = None,
                 guidance: Optional[float] = None) -> Array:
        """(5): one ancestral step from x_t at step t to step s < t (default t - 1; -1 means x_0),
        for standardized x_t (B, ...).  On a subsequence the step is respaced by (7).  noise z is
        drawn from `generator` (the library's by default) unless given; none at the last step."""
        s = t - 1 if s is None else s
        abar_t, abar_s = self._abar(t), self._abar(s)
        eps = self.guided_eps(x_t, np.full(x_t.shape[0], t), y, guidance)           # eps_theta(x_t, t)
        beta = 1 - abar_t / abar_s                                                  # (7)
        sigma2 = beta if variance == "large" else beta * (1 - abar_s) / (1 - abar_t)   # (5): beta or beta~
        sigma = math.sqrt(sigma2) if s >= 0 else 0.0
        z = self._step_noise(x_t, sigma, noise, generator)
        coef_x = 1 / math.sqrt(1 - beta)                                            # (5): mu_theta = coef_x (x_t
        coef_eps = beta / math.sqrt(1 - abar_t)                                     #      - coef_eps eps_theta)
        return self._step(x_t, eps, z, coef_x, coef_eps, sigma)                     # x_s = mu_theta + sigma z

    def ddim_step(self, x_t: Array, t: int, s: int, *, eta: float = 0.0, noise: Optional[Array] = None,
                  generator: Any = None, y: Optional[Array] = None, guidance: Optional[float] = None) -> Array:
        """(6): one DDIM step from x_t at step t to step s < t (-1 means x_0), for standardized x_t
        (B, ...); eta = 0 is deterministic.  noise z is drawn from `generator` unless given."""
        abar_t, abar_s = self._abar(t), self._abar(s)
        eps = self.guided_eps(x_t, np.full(x_t.shape[0], t), y, guidance)           # eps_theta(x_t, t)
        beta = 1 - abar_t / abar_s                                                  # (7)
        sigma = eta * math.sqrt((1 - abar_s) / (1 - abar_t) * beta) if s >= 0 else 0.0   # (6): s_t
        z = self._step_noise(x_t, sigma, noise, generator)
        # (6): x0^ = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), x_s = sqrt(abar_s) x0^ + d eps + s_t z,
        # d = sqrt(1 - abar_s - s_t^2); that is x_s = coef_x (x_t - coef_eps eps) + s_t z with
        coef_x = math.sqrt(abar_s / abar_t)
        coef_eps = math.sqrt(1 - abar_t) - math.sqrt(max(1 - abar_s - sigma ** 2, 0.0)) / coef_x
        return self._step(x_t, eps, z, coef_x, coef_eps, sigma)

    @staticmethod
    def _step_noise(x, sigma, noise, generator):
        """The step's noise z: as given, or drawn when sigma > 0 (zeros otherwise, nothing drawn)."""
        if noise is not None:
            return noise
        if sigma == 0:
            return 0 * x
        generator = generator if generator is not None else autograd.random.generator(device_of(x))
        return generator.standard_normal(x.shape, dtype=np.float32)

    @staticmethod
    def _step(x, eps, z, coef_x, coef_eps, sigma):
        """x' = coef_x (x - coef_eps eps) + sigma z, the fused `ddpm_step` kernel of the active backend."""
        return kernel("ddpm_step")(x, eps, z, np.float32(coef_x), np.float32(coef_eps), np.float32(sigma))

    def timesteps(self, steps: Optional[int] = None) -> np.ndarray:
        """The subsequence tau (0-based, increasing) of `steps` times out of T, last one T-1."""
        steps = self.T if steps is None else int(steps)
        if not 1 <= steps <= self.T:
            raise ValueError(f"DDPM.sample: steps must lie in [1, {self.T}], got {steps}")
        return np.unique(np.round(np.linspace(self.T - 1, 0, steps)).astype(np.int64))

    def sample(self, n: int, method: str = "ddpm", steps: Optional[int] = None, seed: Optional[int] = None,
               variance: str = "small", eta: float = 0.0, return_trajectory: bool = False, *,
               y: Labels = None,
               guidance: Optional[float] = None) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
        """n samples in data coordinates, shaped (n, *data_shape).

        method    "ddpm" (ancestral, (5)), "ddim" ((6)), or "sde" / "ode" (the VP SDE's
                  Euler-Maruyama sampler / probability-flow ODE of minigen.models.sde)
        steps     how many denoising steps (None: T for ddpm, 50 for ddim, 1000 for sde / ode)
        variance  "small" (beta~_t) or "large" (beta_t), for ddpm;  eta: DDIM's noise (0 = deterministic)
        y         with classes: the label of every sample (an int, or n of them); None: the
                  unconditional model (the null label)
        guidance  w of (11) (None: 0, the conditional model)
        return_trajectory  also return every intermediate x, (steps + 1, n, *data_shape), x_T first
        """
        if method not in METHODS:
            raise ValueError(f"DDPM.sample: method must be one of {METHODS}, got {method!r}")
        if variance not in VARIANCES:
            raise ValueError(f"DDPM.sample: variance must be one of {VARIANCES}, got {variance!r}")
        labels = self.check_labels(y, n, "sample")
        generator = seeded_generator(seed, default_device())
        x = generator.standard_normal((n, *self.data_shape), dtype=np.float32)       # x_T
        if method in ("sde", "ode"):
            def score(x, t):
                return self.continuous_score(x, t, labels, guidance)
            trajectory = VPSDE.from_ddpm(self).sample(score, x, method, steps or 1000, generator)
        else:
            default_steps = self.T if method == "ddpm" else min(50, self.T)
            trajectory = self._reverse(x, method, steps or default_steps, variance, eta, generator, labels, guidance)
        if not return_trajectory:                        # one copy to the host, not one per step
            return to_numpy(self.unstandardize(trajectory[-1]))
        frames = [to_numpy(self.unstandardize(x)) for x in trajectory]
        return frames[-1], np.stack(frames)

    def _reverse(self, x, method, steps, variance, eta, generator, labels, guidance):
        """The reverse chain over the subsequence of `steps` times: a list of every x, x_T first."""
        tau = self.timesteps(steps)
        trajectory = [x]
        previous = np.concatenate([[-1], tau[:-1]])                                 # -1: x_0
        for t, s in zip(tau[::-1], previous[::-1]):
            if method == "ddpm":
                x = self.p_sample(x, t, s, variance=variance, generator=generator, y=labels, guidance=guidance)
            else:
                x = self.ddim_step(x, t, s, eta=eta, generator=generator, y=labels, guidance=guidance)
            trajectory.append(x)
        return trajectory

    def continuous_score(self, x: Union[Tensor, Array], t: float, y: Optional[Array] = None,
                         guidance: Optional[float] = None) -> Any:
        """The score of q_t at continuous time t in (0, 1] (the VP SDE's clock): -eps~ / sqrt(1 - abar),
        eps~ the guided eps of (11); an array for an array x, a differentiable Tensor for a Tensor."""
        index = t * self.T - 1                                                      # DDPM step t*T, 0-based
        abar = np.interp(index, np.arange(self.T), self.alphas_cumprod)
        eps = self.guided_eps(x, np.full(x.shape[0], index), y, guidance)
        return -eps / np.float32(math.sqrt(1 - abar))

    def ode_log_prob(self, X: Any, rtol: float = 1e-5, atol: float = 1e-5) -> np.ndarray:
        """log p(x) per example (n,) of the density the learned score defines through the VP SDE's
        probability-flow ODE ((12) of minigen.models.sde), for continuous data: the ODE runs from
        t = 1 / T (the first step of the chain) to 1, with the exact divergence of the score by one
        backward pass per dimension (meant for low-dimensional data such as the 2-D toys).  Not the
        contract's log_prob (a bound on discrete data).  Besides the solver's tolerance, the chain's
        abar_t and the SDE's m(t)^2 agree only to first order in 1 / T: with the exact eps, about
        0.02 nats off at T = 1000 (0.08 at T = 100)."""
        X = to_numpy(self.check_data(X, where="ode_log_prob"))
        n, dim = len(X), math.prod(self.data_shape)

        def score(x, t):                                                             # (n, D) Tensors
            return self.continuous_score(x.reshape(n, *self.data_shape), t).reshape(n, dim)
        standardized = self.standardize(X).reshape(n, dim).astype(np.float64)
        log_density = VPSDE.from_ddpm(self).log_likelihood(score, standardized, t_start=1 / self.T,
                                                           rtol=rtol, atol=atol)
        return log_density - dim * math.log(float(self.scale))                        # back to data units

    # -- the variational bound ----------------------------------------------------------------
    def log_prob(self, X: Any, levels: Optional[int] = None, y: Labels = None) -> np.ndarray:
        """-(8'): a lower bound on log P(x) per example (n,), in nats, for data on a grid of `levels`
        evenly spaced values in [0, 1] (None: the fewest of GRID_LEVELS the data sit on), with the
        decoder step picked from the grid; with classes and labels y, a bound on log P(x | y)."""
        X = to_numpy(self.check_data(X, where="log_prob"))
        levels = grid_levels(X) if levels is None else levels
        if levels is None:
            raise ValueError(f"DDPM.log_prob: the bound (8') is on the probability of discrete values, so the "
                             f"data must lie on a grid of evenly spaced levels in [0, 1] (one of {GRID_LEVELS}); "
                             f"got continuous values in [{X.min():.4g}, {X.max():.4g}]")
        return -self.nll_bound(X, levels=levels, y=y)

    @overload
    def nll_bound(self, X: Any, levels: int = ..., variance: str = ..., decoder_step: Optional[int] = ...,
                  batch_size: int = ..., seed: int = ..., return_terms: Literal[False] = ...,
                  y: Labels = ...) -> np.ndarray: ...

    @overload
    def nll_bound(self, X: Any, levels: int = ..., variance: str = ..., decoder_step: Optional[int] = ...,
                  batch_size: int = ..., seed: int = ..., *, return_terms: Literal[True],
                  y: Labels = ...) -> Tuple[np.ndarray, Dict[str, np.ndarray]]: ...

    def nll_bound(self, X: Any, levels: int = 2, variance: str = "small", decoder_step: Optional[int] = None,
                  batch_size: int = 500, seed: int = 0, return_terms: bool = False,
                  y: Labels = None) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, np.ndarray]]]:
        """(8) or (8'): an upper bound on -log P(X), in nats per example (n,), for data with
        `levels` evenly spaced values in [0, 1] (2 for binarized digits, 17 for sklearn's digits).

        decoder_step  k of (8'), 0-based (0 is (8)); None picks it from the grid alone: the last
                      step whose noise, in x_0's units, is under a third of half a bin.
        Every term is exact except the one-sample Monte Carlo draw of x_t in each L_{t-1} and in
        the decoder term.  return_terms: also the per-example L_T, sum of L_{t-1}, L_0 in a dict.
        y: with classes, the labels of the bound on -log P(x | y) (None: the unconditional model).
        """
        X = to_numpy(self.check_data(X, where="nll_bound"))
        labels = self.check_labels(y, len(X), "nll_bound")
        values = np.round(X * (levels - 1))                                         # bin index per pixel
        if np.abs(values - X * (levels - 1)).max() > 1e-4 or values.min() < 0 or values.max() > levels - 1:
            raise ValueError(f"DDPM.nll_bound: data are not on the grid of {levels} levels in [0, 1]")
        half_bin = 0.5 / (levels - 1) / float(self.scale)                           # in model coordinates
        k = self.decoder_step(levels) if decoder_step is None else int(decoder_step)
        x0 = self.standardize(X).astype(np.float64)
        generator = np.random.default_rng(seed)
        eps = self._host_eps(labels, batch_size)
        terms = {"prior": self._prior_term(x0),                                     # L_T
                 "transitions": sum(self._transition_term(x0, t, variance, generator, eps)
                                    for t in range(k + 1, self.T)),                 # sum L_{t-1}
                 "decoder": self._decoder_term(values, x0, levels, half_bin, k, generator, eps)}
        total = terms["prior"] + terms["transitions"] + terms["decoder"]
        return (total, terms) if return_terms else total

    def _host_eps(self, labels, batch_size):
        """eps_theta(x_t, t[, y]) as a function of (x_t, t): float64 on the host, computed
        `batch_size` rows at a time on the denoiser's device (the bound's many evaluations)."""
        def eps(x_t, t):
            chunks = []
            for i in range(0, len(x_t), batch_size):
                chunk = x_t[i:i + batch_size].astype(np.float32)
                chunk_labels = None if labels is None else labels[i:i + batch_size]
                chunks.append(self.predict_eps(chunk, np.full(len(chunk), t), chunk_labels))
            return np.concatenate(chunks).astype(np.float64)
        return eps

    def decoder_step(self, levels: int) -> int:
        """k of (8'), 0-based, that the bound picks for data on a grid of `levels` values in [0, 1]."""
        return self._decoder_step(0.5 / (levels - 1) / float(self.scale))

    def _decoder_step(self, half_bin):
        """The last step whose noise, in x_0's units, sqrt((1 - abar_k) / abar_k), is under a third of
        half a bin (`half_bin` in model coordinates)."""
        noise_in_x0 = np.sqrt((1 - self.alphas_cumprod) / self.alphas_cumprod)
        return max(int(np.searchsorted(noise_in_x0, half_bin / 3)) - 1, 0)

    def _prior_term(self, x0):
        abar = self.alphas_cumprod[-1]
        mean2, var = abar * x0 ** 2, 1 - abar
        return 0.5 * (mean2 + var - 1 - math.log(var)).reshape(len(x0), -1).sum(axis=1)

    def _transition_term(self, x0, t, variance, generator, eps):
        """L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) at one draw of x_t (0-based t)."""
        noise = generator.standard_normal(x0.shape)
        x_t = self.q_sample(x0, np.full(len(x0), t), noise)
        q_mean, q_var = self.q_posterior(x0, x_t, np.full(len(x0), t))
        coef_eps = self.betas[t] / math.sqrt(1 - self.alphas_cumprod[t])
        p_mean = (x_t - coef_eps * eps(x_t, t)) / math.sqrt(self.alphas[t])           # (5): mu_theta
        p_var = self.betas[t] if variance == "large" else self.posterior_variance[t]
        kl = 0.5 * (np.log(p_var / q_var) + (q_var + (q_mean - p_mean) ** 2) / p_var - 1)
        return kl.reshape(len(x0), -1).sum(axis=1)

    def _decoder_term(self, values, x0, levels, half_bin, k, generator, eps):
        """-log of the mass N(x0^(x_k), (1 - abar_k) / abar_k) puts on each pixel's bin, x_k ~ q."""
        from scipy.special import log_ndtr
        abar = self.alphas_cumprod[k]
        x_k = self.q_sample(x0, np.full(len(x0), k), generator.standard_normal(x0.shape))
        mean = (x_k - math.sqrt(1 - abar) * eps(x_k, k)) / math.sqrt(abar)          # (6)
        std = math.sqrt((1 - abar) / abar)
        upper = np.where(values == levels - 1, np.inf, (x0 + half_bin - mean) / std)
        lower = np.where(values == 0, -np.inf, (x0 - half_bin - mean) / std)
        log_mass = np.minimum(_log_normal_mass(lower, upper, log_ndtr), 0.0)       # a mass is at most 1
        return -log_mass.reshape(len(x0), -1).sum(axis=1)


def _log_normal_mass(lower, upper, log_ndtr):
    """log(Phi(upper) - Phi(lower)), stable in both tails (the mass lies on the smaller side)."""
    flip = lower > 0                                                                # use symmetry
    lower, upper = np.where(flip, -upper, lower), np.where(flip, -lower, upper)
    log_upper, log_lower = log_ndtr(upper), log_ndtr(lower)
    return log_upper + np.log1p(-np.exp(np.minimum(log_lower - log_upper, 0.0)) + 1e-300)
