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

Sampling: x_T ~ N(0, I), then (5) for t = T..1 ("ddpm"), or (6) on a subsequence ("ddim").
The model works on standardized data, (x - shift) / scale, with a per-dimension shift and one
scale set by `fit` so that the data have standard deviation `data_std`; `q_sample` and
`q_posterior` act on whatever coordinates they are given.
"""
import math

import numpy as np

import autograd
from autograd.backend import array_module, device_of, kernel, to_device, to_numpy
from autograd.tensor import Tensor
from minigen import kernels  # noqa: F401  (registers the model kernels: Gibbs, Langevin, DDPM)

from ..train import objective_step, train
from .base import GenerativeModel
from .common import cosine_decay, seeded_generator, standardization
from .denoisers import default_denoiser
from .sde import VPSDE

SCHEDULES = ("linear", "cosine")
METHODS = ("ddpm", "ddim", "sde", "ode")
VARIANCES = ("small", "large")


# -- schedules ---------------------------------------------------------------------------------

def linear_betas(T, max_beta=0.999):
    """(9): 1e-4 .. 0.02 at T = 1000, scaled by 1000 / T (and kept below 1 for T < 50), float64."""
    scale = 1000.0 / T
    return np.minimum(np.linspace(1e-4 * scale, 0.02 * scale, T, dtype=np.float64), max_beta)


def cosine_betas(T, offset=0.008, max_beta=0.999):
    """(10): Nichol and Dhariwal's schedule, float64."""
    steps = np.arange(T + 1, dtype=np.float64) / T
    f = np.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    return np.minimum(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], max_beta)


def make_betas(T, schedule):
    if schedule not in SCHEDULES:
        raise ValueError(f"DDPM: schedule must be one of {SCHEDULES}, got {schedule!r}")
    return linear_betas(T) if schedule == "linear" else cosine_betas(T)


# -- the model ---------------------------------------------------------------------------------

def _gather(values, t, ndim, dtype):
    """values[t] shaped (B, 1, ..., 1) to broadcast against a batch of ndim axes, in `dtype`."""
    return values[t].astype(dtype).reshape(-1, *([1] * (ndim - 1)))


class DDPM(GenerativeModel):
    """Denoising diffusion model over data of shape `data_shape` (the module docstring has the math)."""

    def __init__(self, data_shape, T=1000, schedule="linear", denoiser=None, seed=0, data_std=None):
        data_shape = tuple(int(d) for d in np.atleast_1d(data_shape))
        super().__init__(data_shape=list(data_shape), T=int(T), schedule=schedule, seed=int(seed),
                         data_std=data_std)
        self.data_std = data_std
        if int(T) < 1:
            raise ValueError(f"DDPM: T must be at least 1, got {T}")
        self.data_shape, self.T, self.schedule, self.seed = data_shape, int(T), schedule, int(seed)
        self.betas = make_betas(self.T, schedule)                                  # (T,) float64
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)                               # (2): abar_t
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        self.posterior_variance = self.betas * (1 - self.alphas_cumprod_prev) / (1 - self.alphas_cumprod)
        autograd.manual_seed(self.seed)
        self.denoiser = denoiser if denoiser is not None else default_denoiser(data_shape)
        self.register_buffer("shift", np.zeros(data_shape, dtype=np.float32))
        self.register_buffer("scale", np.ones((), dtype=np.float32))

    # -- the forward process ---------------------------------------------------------------
    def q_sample(self, x0, t, noise):
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

    def q_posterior(self, x0, x_t, t):
        """(3): the mean and variance of q(x_{t-1} | x_t, x_0) for t (B,) in 1..T-1, float64 arrays."""
        x0, x_t = np.asarray(x0, dtype=np.float64), np.asarray(x_t, dtype=np.float64)
        t = self._check_t(t, x0.shape[0])
        shape = (-1,) + (1,) * (x0.ndim - 1)
        abar, abar_prev = self.alphas_cumprod[t].reshape(shape), self.alphas_cumprod_prev[t].reshape(shape)
        beta, alpha = self.betas[t].reshape(shape), self.alphas[t].reshape(shape)
        mean = (np.sqrt(abar_prev) * beta * x0 + np.sqrt(alpha) * (1 - abar_prev) * x_t) / (1 - abar)
        variance = np.broadcast_to(self.posterior_variance[t].reshape(shape), mean.shape)
        return mean, variance

    def _check_t(self, t, batch):
        t = np.asarray(to_numpy(t) if not isinstance(t, (int, np.integer)) else [t] * batch, dtype=np.int64)
        if t.shape != (batch,):
            raise ValueError(f"DDPM: t must have shape ({batch},) to match x0, got {t.shape}")
        if t.size and (t.min() < 0 or t.max() >= self.T):
            raise ValueError(f"DDPM: t must lie in [0, {self.T}), got [{t.min()}, {t.max()}]")
        return t

    # -- data coordinates --------------------------------------------------------------------
    def standardize(self, x):
        shift, scale = self._coordinates(x)
        return (x - shift) / scale

    def unstandardize(self, x):
        shift, scale = self._coordinates(x)
        return x * scale + shift

    def _coordinates(self, x):
        """shift and scale on the device of x (a Tensor converts them itself)."""
        if isinstance(x, Tensor):
            return self.shift, self.scale
        device = device_of(x)
        return to_device(self.shift, device), to_device(self.scale, device)

    def _check_data(self, X, who):
        X = np.asarray(to_numpy(X) if hasattr(X, "shape") else X, dtype=np.float32)
        if X.shape[1:] != self.data_shape:
            raise ValueError(f"DDPM.{who}: data of shape {X.shape} do not match data_shape {self.data_shape}")
        return X

    # -- training ----------------------------------------------------------------------------
    def loss(self, x0):
        """(4): the simple eps-prediction loss on a batch x0 in data coordinates (scalar Tensor)."""
        if not isinstance(x0, Tensor):                               # a host batch goes to the denoiser's device
            x0 = autograd.tensor(x0, dtype=np.float32, device=autograd.backend.default_device())
        x0 = self.standardize(x0)
        # uniform t, drawn on the host where the schedule tables and the time embedding read it
        # (drawn on a GPU, every step would wait to copy it back)
        t = autograd.random.generator("cpu").integers(0, self.T, size=x0.shape[0])
        noise = autograd.randn(x0.shape, device=x0.device)
        predicted = self.denoiser(self.q_sample(x0, t, noise), t)
        squared = (predicted - noise) ** 2
        return squared.reshape(x0.shape[0], -1).sum(axis=1).mean()

    def fit(self, X, steps=None, epochs=None, batch_size=None, lr=None, seed=None, progress=True,
            checkpoint=None, resume=None):
        """Train eps_theta with Adam on L_simple; the defaults depend on whether X are images."""
        X = self._check_data(X, "fit")
        defaults = self._fit_defaults()
        if steps is None and epochs is None:
            steps = defaults["steps"]
        self.shift, spread = standardization(X)
        self.scale = np.asarray(spread / (self.data_std or defaults["data_std"]), dtype=np.float32)
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        batch_size = batch_size or defaults["batch_size"]
        optimizer = autograd.optim.Adam(self.denoiser.parameters(), lr=lr or defaults["lr"])
        total = steps if steps is not None else epochs * math.ceil(len(X) / batch_size)
        step = cosine_decay(objective_step(self.loss, optimizer, clip_grad_norm=1.0), optimizer, total)
        self.history = train(self, X, step, optimizer, steps=steps, epochs=epochs, batch_size=batch_size, seed=seed,
                             progress=progress, checkpoint=checkpoint, resume=resume,
                             description="DDPM")
        return self

    def _fit_defaults(self):
        """Tuned on digits and the 2-D toys.  Spreading low-dimensional data wider than the noise
        (data_std 5) spends more of the uniform t on the fine scales that make sharp modes."""
        if int(np.prod(self.data_shape)) >= 16:
            return {"steps": 8000, "batch_size": 128, "lr": 1e-3, "data_std": 1.0}
        return {"steps": 6000, "batch_size": 256, "lr": 2e-3, "data_std": 5.0}

    # -- sampling ----------------------------------------------------------------------------
    def predict_eps(self, x, t):
        """eps_theta(x, t) as an array on x's device, for standardized x (B, ...) and times t (B,)
        (maybe fractional); the denoiser runs on the active backend's device."""
        with autograd.no_grad():
            eps = self.denoiser(Tensor(to_device(x, autograd.backend.default_device())), t).data
        return to_device(eps, device_of(x))

    def timesteps(self, steps=None):
        """The subsequence tau (0-based, increasing) of `steps` times out of T, last one T-1."""
        steps = self.T if steps is None else int(steps)
        if not 1 <= steps <= self.T:
            raise ValueError(f"DDPM.sample: steps must lie in [1, {self.T}], got {steps}")
        return np.unique(np.round(np.linspace(self.T - 1, 0, steps)).astype(np.int64))

    def step_coefficients(self, t, s, method, variance="small", eta=0.0):
        """(coef_x, coef_eps, sigma) of the step from time t to s < t (s = -1: to x_0), so that
        x_s = coef_x (x_t - coef_eps eps) + sigma z  (the `ddpm_step` kernel)."""
        abar_t = self.alphas_cumprod[t]
        abar_s = self.alphas_cumprod[s] if s >= 0 else 1.0
        beta = 1 - abar_t / abar_s                                                  # (7)
        if method == "ddpm":                                                        # (5)
            sigma2 = beta if variance == "large" else beta * (1 - abar_s) / (1 - abar_t)
            sigma = math.sqrt(sigma2) if s >= 0 else 0.0
            return 1 / math.sqrt(1 - beta), beta / math.sqrt(1 - abar_t), sigma
        sigma = eta * math.sqrt((1 - abar_s) / (1 - abar_t) * beta) if s >= 0 else 0.0   # (6)
        coef_x = math.sqrt(abar_s / abar_t)
        direction = math.sqrt(max(1 - abar_s - sigma ** 2, 0.0))
        return coef_x, math.sqrt(1 - abar_t) - direction / coef_x, sigma

    def sample(self, n, method="ddpm", steps=None, seed=None, variance="small", eta=0.0,
               return_trajectory=False):
        """n samples in data coordinates, shaped (n, *data_shape).

        method    "ddpm" (ancestral, (5)), "ddim" ((6)), or "sde" / "ode" (the VP SDE's
                  Euler-Maruyama sampler / probability-flow ODE of minigen.models.score)
        steps     how many denoising steps (None: T for ddpm, 50 for ddim, 1000 for sde / ode)
        variance  "small" (beta~_t) or "large" (beta_t), for ddpm;  eta: DDIM's noise (0 = deterministic)
        return_trajectory  also return every intermediate x, (steps + 1, n, *data_shape), x_T first
        """
        if method not in METHODS:
            raise ValueError(f"DDPM.sample: method must be one of {METHODS}, got {method!r}")
        if variance not in VARIANCES:
            raise ValueError(f"DDPM.sample: variance must be one of {VARIANCES}, got {variance!r}")
        device = autograd.backend.default_device()
        generator = seeded_generator(seed, device)
        x = generator.standard_normal((int(n), *self.data_shape), dtype=np.float32)   # x_T
        if method in ("sde", "ode"):
            trajectory = VPSDE.from_ddpm(self).sample(self.continuous_score, x, method, steps or 1000, generator)
        else:
            default_steps = self.T if method == "ddpm" else min(50, self.T)
            trajectory = self._reverse(x, method, steps or default_steps, variance, eta, generator)
        if not return_trajectory:                        # one copy to the host, not one per step
            return to_numpy(self.unstandardize(trajectory[-1]))
        frames = [to_numpy(self.unstandardize(x)) for x in trajectory]
        return frames[-1], np.stack(frames)

    def _reverse(self, x, method, steps, variance, eta, generator):
        """The reverse chain over the subsequence of `steps` times: a list of every x, x_T first."""
        step = kernel("ddpm_step")
        tau = self.timesteps(steps)
        trajectory = [x]
        previous = np.concatenate([[-1], tau[:-1]])                                 # -1: x_0
        for t, s in zip(tau[::-1], previous[::-1]):
            eps = self.predict_eps(x, np.full(x.shape[0], t))
            coef_x, coef_eps, sigma = self.step_coefficients(t, s, method, variance, eta)
            noise = generator.standard_normal(x.shape, dtype=np.float32) if sigma > 0 else 0 * x
            x = step(x, eps, noise, np.float32(coef_x), np.float32(coef_eps), np.float32(sigma))
            trajectory.append(x)
        return trajectory

    def continuous_score(self, x, t):
        """The score of q_t at continuous time t in (0, 1] (the VP SDE's clock): -eps / sqrt(1 - abar)."""
        index = t * self.T - 1                                                      # DDPM step t*T, 0-based
        abar = np.interp(index, np.arange(self.T), self.alphas_cumprod)
        eps = self.predict_eps(x, np.full(x.shape[0], index))
        return -eps / np.float32(math.sqrt(1 - abar))

    # -- the variational bound ----------------------------------------------------------------
    def nll_bound(self, X, levels=2, variance="small", decoder_step=None, batch_size=500, seed=0,
                  return_terms=False):
        """(8) or (8'): an upper bound on -log P(X), in nats per example (n,), for data with
        `levels` evenly spaced values in [0, 1] (2 for binarized digits, 17 for sklearn's digits).

        decoder_step  k of (8'), 0-based (0 is (8)); None picks it from the grid alone: the last
                      step whose noise, in x_0's units, is under a third of half a bin.
        Every term is exact except the one-sample Monte Carlo draw of x_t in each L_{t-1} and in
        the decoder term.  return_terms: also the per-example L_T, sum of L_{t-1}, L_0 in a dict.
        """
        X = self._check_data(X, "nll_bound")
        values = np.round(X * (levels - 1))                                         # bin index per pixel
        if np.abs(values - X * (levels - 1)).max() > 1e-4 or values.min() < 0 or values.max() > levels - 1:
            raise ValueError(f"DDPM.nll_bound: data are not on the grid of {levels} levels in [0, 1]")
        half_bin = 0.5 / (levels - 1) / float(self.scale)                           # in model coordinates
        k = self._decoder_step(half_bin) if decoder_step is None else int(decoder_step)
        x0 = self.standardize(X).astype(np.float64)
        generator = np.random.default_rng(seed)
        terms = {"prior": self._prior_term(x0),                                     # L_T
                 "transitions": sum(self._transition_term(x0, t, variance, generator, batch_size)
                                    for t in range(k + 1, self.T)),                 # sum L_{t-1}
                 "decoder": self._decoder_term(values, x0, levels, half_bin, k, generator, batch_size)}
        total = terms["prior"] + terms["transitions"] + terms["decoder"]
        return (total, terms) if return_terms else total

    def _decoder_step(self, half_bin):
        noise_in_x0 = np.sqrt((1 - self.alphas_cumprod) / self.alphas_cumprod)
        return max(int(np.searchsorted(noise_in_x0, half_bin / 3)) - 1, 0)

    def _prior_term(self, x0):
        abar = self.alphas_cumprod[-1]
        mean2, var = abar * x0 ** 2, 1 - abar
        return 0.5 * (mean2 + var - 1 - math.log(var)).reshape(len(x0), -1).sum(axis=1)

    def _transition_term(self, x0, t, variance, generator, batch_size):
        """L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) at one draw of x_t (0-based t)."""
        noise = generator.standard_normal(x0.shape)
        x_t = self.q_sample(x0, np.full(len(x0), t), noise)
        q_mean, q_var = self.q_posterior(x0, x_t, np.full(len(x0), t))
        p_mean = self._model_mean(x_t, t, batch_size)
        p_var = self.betas[t] if variance == "large" else self.posterior_variance[t]
        kl = 0.5 * (np.log(p_var / q_var) + (q_var + (q_mean - p_mean) ** 2) / p_var - 1)
        return kl.reshape(len(x0), -1).sum(axis=1)

    def _predict_eps_batched(self, x_t, t, batch_size):
        """eps_theta(x_t, t) in float64 on the host, `batch_size` rows at a time (each on the denoiser's device)."""
        chunks = [x_t[i:i + batch_size].astype(np.float32) for i in range(0, len(x_t), batch_size)]
        return np.concatenate([self.predict_eps(chunk, np.full(len(chunk), t)) for chunk in chunks]).astype(np.float64)

    def _model_mean(self, x_t, t, batch_size):
        """(5): mu_theta(x_t, t), float64."""
        eps = self._predict_eps_batched(x_t, t, batch_size)
        return (x_t - self.betas[t] / math.sqrt(1 - self.alphas_cumprod[t]) * eps) / math.sqrt(self.alphas[t])

    def _decoder_term(self, values, x0, levels, half_bin, k, generator, batch_size):
        """-log of the mass N(x0^(x_k), (1 - abar_k) / abar_k) puts on each pixel's bin, x_k ~ q."""
        from scipy.special import log_ndtr
        abar = self.alphas_cumprod[k]
        x_k = self.q_sample(x0, np.full(len(x0), k), generator.standard_normal(x0.shape))
        mean = (x_k - math.sqrt(1 - abar) * self._predict_eps_batched(x_k, k, batch_size)) / math.sqrt(abar)  # (6)
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
