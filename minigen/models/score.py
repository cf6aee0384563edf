"""Score-based generative models: noise-conditional score networks with annealed Langevin dynamics
(Song and Ermon, 2019).

The score of a density is s(x) = grad_x log p(x).  Knowing it everywhere is enough to sample.

Langevin   x <- x + a s(x) + sqrt(2 a) z,   z ~ N(0, I)                                          (1)
           tends to p as a -> 0 and the number of steps grows; but between separated modes the
           chain hardly ever crosses, so it cannot learn their relative weights.
Perturbed  q_sigma(x~) = int p(x) N(x~; x, sigma^2 I) dx,  sigmas geometric, sigma_1 > ... > sigma_L  (2)
DSM        l(theta; sigma) = 1/2 E || s_theta(x~, sigma) + (x~ - x) / sigma^2 ||^2                (3)
Loss       L = E_i [ sigma_i^2 l(theta; sigma_i) ] = E_i E 1/2 || sigma_i s_theta(x + sigma_i z, sigma_i) + z ||^2   (4)
           summed over dimensions per example, averaged over the batch; i uniform over the levels.
Network    s_theta(x, sigma_i) = net(x, i) / sigma_i   (Song and Ermon 2020's noise conditioning)  (5)
Annealed   for i = 1..L: a_i = step_lr sigma_i^2 / sigma_L^2, then steps_per_sigma steps of (1)
           with s = s_theta(., sigma_i); optionally a last denoising step x + sigma_L^2 s(x, sigma_L)  (6)

Mixture    for p = sum_k w_k N(mu_k, v I) everything is in closed form, with responsibilities
           r_k(x) = w_k N(x; mu_k, v I) / p(x) and d_k = mu_k - x:
           s(x) = sum_k r_k d_k / v,   div s(x) = -D / v + sum_j Var_r[d_kj] / v^2              (7)
           (the variance over k weighted by r, per coordinate j): the checks of every sampler here
           and of the probability-flow likelihood of minigen.models.sde.

Sampling for NCSN: x ~ N(0, sigma_1^2 I), then (6).  The samplers here take any score function, a
trained network's or an exact one; the SDE samplers live in minigen.models.sde.  NCSN has no
likelihood (likelihood_kind None): its `score(X)` is the contract's and raises; the learned score
is `learned_score(x, level)`.
"""
import dataclasses
import math
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

import autograd
from autograd.backend import array_module, default_device, device_of, kernel, to_device, to_numpy
from autograd.tensor import Array, Tensor
from minigen import kernels  # noqa: F401  (registers the model kernels: Gibbs, Langevin, DDPM)

from ..train import objective_step, train
from .base import GenerativeModel
from .common import cosine_decay, seeded_generator, standardization
from .denoisers import default_denoiser

def geometric_sigmas(largest: float = 1.0, smallest: float = 0.01, levels: int = 10) -> np.ndarray:
    """(2): sigma_1 > ... > sigma_L, evenly spaced in log."""
    return np.exp(np.linspace(math.log(largest), math.log(smallest), levels))


# -- samplers that take any score function -------------------------------------------------------

def langevin(score: Callable, x: Array, step_size: float, steps: int, generator: Any,
             record_every: Optional[int] = None) -> Union[Array, Tuple[Array, List[Array]]]:
    """(1) for `steps` steps from x with score(x) -> array; returns x (and the recorded states)."""
    step = kernel("langevin_step")
    states = [x]
    for k in range(steps):
        x = step(x, score(x), generator.standard_normal(x.shape, dtype=x.dtype), x.dtype.type(step_size))
        if record_every and (k + 1) % record_every == 0:
            states.append(x)
    return (x, states) if record_every else x


def annealed_langevin(score: Callable, x: Array, sigmas: Union[Sequence[float], np.ndarray],
                      steps_per_sigma: int = 100, step_lr: float = 2e-5, generator: Any = None,
                      denoise: bool = False,
                      record_every: Optional[int] = None) -> Union[Array, Tuple[Array, List[Array]]]:
    """(6): Langevin at each noise level in turn, score(x, i) being the score at sigmas[i].

    Returns x, or (x, states) with the state after every `record_every` steps when that is given.
    """
    generator = generator if generator is not None else autograd.random.generator("cpu")
    states = [x]
    for i, sigma in enumerate(sigmas):
        step_size = step_lr * sigma ** 2 / sigmas[-1] ** 2
        x = langevin(lambda y: score(y, i), x, step_size, steps_per_sigma, generator, record_every)
        if record_every:
            x, level_states = x
            states.extend(level_states[1:])
    if denoise:
        x = x + x.dtype.type(sigmas[-1] ** 2) * score(x, len(sigmas) - 1)
        states.append(x)
    return (x, states) if record_every else x


def _mixture_terms(x, means, weights, variance):
    """The responsibilities r (n, K) and the differences d = mu_k - x (n, K, D) of (7), float64."""
    means, weights = np.asarray(means, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    xp = array_module(x)
    differences = xp.asarray(means)[None, :, :] - x[:, None, :].astype(np.float64)   # (n, K, D)
    logits = xp.log(xp.asarray(weights))[None, :] - (differences ** 2).sum(axis=2) / (2 * variance)  # (n, K)
    logits -= logits.max(axis=1, keepdims=True)
    responsibilities = xp.exp(logits)
    responsibilities /= responsibilities.sum(axis=1, keepdims=True)
    return responsibilities, differences


def mixture_score(x: Array, means: ArrayLike, weights: ArrayLike, variance: float) -> Array:
    """(7): the exact score of sum_k w_k N(mu_k, variance I) at x (n, D): a softmax-weighted pull."""
    responsibilities, differences = _mixture_terms(x, means, weights, variance)
    return ((responsibilities[:, :, None] * differences).sum(axis=1) / variance).astype(x.dtype)


def mixture_score_divergence(x: Array, means: ArrayLike, weights: ArrayLike, variance: float) -> np.ndarray:
    """(7): the exact divergence sum_j d s_j / d x_j of the mixture's score at x (n, D), float64 (n,)."""
    responsibilities, differences = _mixture_terms(x, means, weights, variance)
    r = responsibilities[:, :, None]                                                  # (n, K, 1)
    spread = (r * differences ** 2).sum(axis=1) - (r * differences).sum(axis=1) ** 2  # (n, D): Var_r[d_kj]
    return -x.shape[1] / variance + spread.sum(axis=1) / variance ** 2


def mixture_log_density(x: ArrayLike, means: ArrayLike, weights: ArrayLike, variance: float) -> np.ndarray:
    """log sum_k w_k N(x; mu_k, variance I) at x (n, D), float64 (n,) (log-sum-exp over k)."""
    x, means = np.asarray(x, dtype=np.float64), np.asarray(means, dtype=np.float64)
    squared = ((x[:, None, :] - means[None]) ** 2).sum(axis=2)                        # (n, K)
    logits = np.log(np.asarray(weights, dtype=np.float64))[None] - squared / (2 * variance)
    top = logits.max(axis=1, keepdims=True)
    log_sum = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return log_sum - 0.5 * x.shape[1] * math.log(2 * math.pi * variance)


# -- the noise-conditional score network ---------------------------------------------------------

@dataclasses.dataclass
class NCSNDefaults:
    """Tuned fit settings (on the 2-D toys): Adam, the learning rate annealed along a half cosine."""

    steps: int = 6000
    batch_size: int = 256
    lr: float = 2e-3


class NCSN(GenerativeModel):
    """Noise-conditional score network trained by (4), sampled by annealed Langevin (6)."""

    likelihood_kind = None
    Defaults = NCSNDefaults
    size_argument = "data_shape"
    data_shape: Tuple[int, ...]                          # given to the constructor, never learned

    def __init__(self, data_shape: Union[int, Sequence[int]], sigmas: Optional[Sequence[float]] = None,
                 seed: int = 0) -> None:
        data_shape = tuple(int(d) for d in np.atleast_1d(data_shape))
        levels = geometric_sigmas() if sigmas is None else np.asarray(sigmas, dtype=np.float64)
        if levels.ndim != 1 or len(levels) < 1 or (levels <= 0).any() or (np.diff(levels) >= 0).any():
            raise ValueError(f"NCSN: sigmas must be positive and strictly decreasing, got {levels}")
        super().__init__(data_shape=list(data_shape), sigmas=[float(s) for s in levels], seed=int(seed))
        self.data_shape, self.sigmas, self.seed = data_shape, levels, int(seed)
        autograd.manual_seed(self.seed)
        self.network = default_denoiser(data_shape)
        self.register_buffer("shift", np.zeros(data_shape, dtype=np.float32))
        self.register_buffer("scale", np.ones((), dtype=np.float32))

    def _sigma_column(self, levels, ndim):
        return self.sigmas[levels].astype(np.float32).reshape(-1, *([1] * (ndim - 1)))

    def score_tensor(self, x: Tensor, levels: ArrayLike) -> Tensor:
        """(5): s_theta(x, sigma_i) for standardized x (Tensor) and level indices (B,)."""
        return self.network(x, levels) / self._sigma_column(levels, x.ndim)

    def learned_score(self, x: Array, level: int) -> Array:
        """The learned score at noise level `level` (an index into sigmas), standardized coordinates,
        as an array on x's device (the network runs on the active backend's device)."""
        levels = np.full(x.shape[0], level)
        with autograd.no_grad():
            score = self.score_tensor(Tensor(to_device(x, default_device())), levels).data
        return to_device(score, device_of(x))

    def score(self, X: Any, level: Optional[int] = None) -> Union[float, Array]:
        """score(X): the contract's mean log-likelihood, which NCSN does not have (raises
        NotImplementedError); score(x, level): the learned score, the same as learned_score."""
        if level is None:
            return super().score(X)
        return self.learned_score(X, level)

    def loss(self, x0: Union[Tensor, Array], levels: Optional[ArrayLike] = None,
             noise: Union[None, Tensor, Array] = None) -> Tensor:
        """(4) on a batch in data coordinates (scalar Tensor).  levels (B,) indices into sigmas
        (uniform by default, drawn on the host: they index the NumPy array of sigmas) and noise z
        (like x0) are drawn when not given."""
        if not isinstance(x0, Tensor):                               # a host batch goes to the network's device
            x0 = autograd.tensor(x0, dtype=np.float32, device=default_device())
        x0 = (x0 - self.shift) / self.scale
        if levels is None:
            levels = autograd.random.generator("cpu").integers(0, len(self.sigmas), size=x0.shape[0])
        if noise is None:
            noise = autograd.randn(x0.shape, device=x0.device)
        elif not isinstance(noise, Tensor):
            noise = autograd.tensor(noise, dtype=np.float32, device=x0.device)
        sigma = self._sigma_column(np.asarray(levels), x0.ndim)                      # (B, 1, ...)
        residual = self.score_tensor(x0 + noise * sigma, levels) * sigma + noise      # (4)
        return 0.5 * (residual ** 2).reshape(x0.shape[0], -1).sum(axis=1).mean()

    def fit(self, X: Any, steps: Optional[int] = None, epochs: Optional[int] = None,
            batch_size: Optional[int] = None, lr: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True, checkpoint: Optional[str] = None, resume: Optional[str] = None) -> "NCSN":
        """Train s_theta on (4) with Adam; None settings take `NCSN.Defaults`; `epochs` replaces steps."""
        X = self.check_data(X, where="fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr)
        steps = s.steps if epochs is None else steps
        total = s.steps if epochs is None else epochs * math.ceil(len(X) / s.batch_size)
        self.shift, spread = standardization(to_numpy(X))
        self.scale = np.asarray(spread, dtype=np.float32)
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        optimizer = autograd.optim.Adam(self.network.parameters(), lr=s.lr)
        step = cosine_decay(objective_step(self.loss, optimizer, clip_grad_norm=1.0), optimizer, total)
        self.history = train(self, X, step, optimizer, steps=steps, epochs=epochs,
                             batch_size=s.batch_size, seed=seed, progress=progress,
                             checkpoint=checkpoint, resume=resume, description="NCSN")
        return self

    def sample(self, n: int, steps_per_sigma: int = 100, step_lr: float = 2e-5, seed: Optional[int] = None,
               denoise: bool = True,
               record_every: Optional[int] = None) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
        """(6) from x ~ N(0, sigma_1^2 I) (standardized); n samples in data coordinates.

        record_every: also return the states every that many Langevin steps, (k, n, *data_shape).
        """
        generator = seeded_generator(seed, default_device())
        x = generator.standard_normal((n, *self.data_shape), dtype=np.float32) * np.float32(self.sigmas[0])
        result = annealed_langevin(self.learned_score, x, self.sigmas, steps_per_sigma, step_lr, generator,
                                   denoise, record_every)
        if record_every:
            x, states = result
            return self._to_data(x), np.stack([self._to_data(s) for s in states])
        return self._to_data(result)

    def _to_data(self, x):
        xp = array_module(x)
        return to_numpy(x * xp.asarray(self.scale) + xp.asarray(self.shift))
