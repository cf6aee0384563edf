"""Score SDEs (Song, Sohl-Dickstein, Kingma, Kumar, Ermon and Poole, 2021): a forward SDE that turns
data into noise, and the reverse-time SDE and probability-flow ODE that turn noise back into data
given the score s(x, t) = grad_x log p_t(x).  Both SDEs here are linear, f(x, t) = c(t) x, on t in [0, 1].

Forward    dx = c(t) x dt + g(t) dw                                                            (1)
Marginal   x_t | x_0 ~ N(m(t) x_0, std(t)^2 I),  m(t) = exp(int_0^t c),                          (2)
           std(t)^2 = m(t)^2 int_0^t g(u)^2 / m(u)^2 du;  between times s < t:
           x_t | x_s ~ N(a x_s, G^2 I),  a = m(t) / m(s),  G^2 = std(t)^2 - a^2 std(s)^2
VP         c = -1/2 beta(t),  g^2 = beta(t),  beta(t) = beta_min + t (beta_max - beta_min)          (3)
           m(t) = exp(-1/2 int_0^t beta),  std(t)^2 = 1 - m(t)^2;  prior N(0, I).  DDPM's chain is
           its discretization with beta_i = beta(i / T) / T, so beta 0.1..20 matches 1e-4..0.02 at T = 1000.
VE         c = 0,  sigma(t) = sigma_min (sigma_max / sigma_min)^t,  g^2 = d sigma^2 / dt            (4)
           = 2 sigma(t)^2 log(sigma_max / sigma_min);  m = 1,  std(t)^2 = sigma(t)^2 - sigma_min^2
           (exact; Song et al.'s code uses sigma(t), taking the data as already perturbed by sigma_min);
           prior N(0, sigma_max^2 I).  NCSN's noise levels are its discretization.
Reverse    dx = [c x - g^2 s(x, t)] dt + g dw~   (time running backward)                        (5)
PF ODE     dx/dt = f~(x, t) = c(t) x - 1/2 g(t)^2 s(x, t)   (the same marginals, deterministic)    (6)
Mixtures   a Gaussian mixture sum_k w_k N(mu_k, v I) stays one under (2):                        (7)
           p_t = sum_k w_k N(m(t) mu_k, (m(t)^2 v + std(t)^2) I), so its score is exact at every t.

Samplers, from x ~ prior at t = 1 down to t_end on a grid of N steps t > t' (dt = t - t'):
  Euler-Maruyama   x' = x - [c x - g^2 s(x, t)] dt + g sqrt(dt) z                              (8)
  reverse diffusion  x' = (2 - a) x + G^2 s(x, t) + G z   (a, G of (2) from t' to t; Algorithms 2, 3)  (9)
  Langevin corrector (Algorithms 4, 5), M steps at time t with signal-to-noise ratio r:        (10)
           e = 2 alpha (r ||z|| / ||s(x, t)||)^2,  x <- x + e s(x, t) + sqrt(2 e) z,
           alpha = a^2 (1 - beta_i for the VP SDE, 1 for the VE SDE); as in the authors' code the
           norms are averaged over the batch (per example, a point where the score nearly vanishes
           would get a huge step: in few dimensions ||s|| often comes close to 0)
  predictor-corrector (Algorithm 1): at each time the corrector, then the predictor; as in the
           authors' code, the last predictor step adds no noise.                               (11)
  probability flow: Heun's method on (6).

Likelihood by the probability-flow ODE (instantaneous change of variables, Chen et al. 2018):
           log p_0(x_0) = log p_T(x_T) + int_0^T div f~(x_t, t) dt,                              (12)
           div f~ = c(t) D - 1/2 g(t)^2 div s,  x_t solving (6) forward from x_0.
           div s = sum_j d s_j / d x_j is computed exactly: analytically when given, or by D
           reverse-mode passes through the score (e_j' (ds/dx) e_j), meant for low-dimensional data.
"""
import math
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

import autograd
from autograd.backend import array_module
from autograd.tensor import Array, Tensor

from .common import input_gradients
from .score import mixture_score, mixture_score_divergence

if TYPE_CHECKING:
    from .diffusion import DDPM

SDE_METHODS = ("sde", "ode")
PREDICTORS = ("reverse_diffusion", "euler_maruyama")
Score = Callable[..., np.ndarray]


class SDE:
    """A linear forward SDE (1) on t in [0, 1], its samplers and its probability-flow likelihood.
    A subclass gives c(t), g(t)^2, the marginal (2) and the prior's standard deviation."""

    prior_std: float = 1.0

    def drift_coefficient(self, t: float) -> float:
        """c(t) of f(x, t) = c(t) x."""
        raise NotImplementedError

    def diffusion_squared(self, t: float) -> float:
        """g(t)^2."""
        raise NotImplementedError

    def marginal(self, t: float) -> Tuple[float, float]:
        """(2): (m(t), std(t)) of x_t given x_0."""
        raise NotImplementedError

    def transition(self, s: float, t: float) -> Tuple[float, float]:
        """(2): (a, G) of x_t | x_s ~ N(a x_s, G^2 I) for s < t."""
        signal_s, std_s = self.marginal(s)
        signal_t, std_t = self.marginal(t)
        a = signal_t / signal_s
        return a, math.sqrt(max(std_t ** 2 - a ** 2 * std_s ** 2, 0.0))

    def mixture_marginal(self, means: np.ndarray, variance: float, t: float) -> Tuple[np.ndarray, float]:
        """(7): the means and variance of the components of p_t for data sum_k w_k N(mu_k, v I)."""
        signal, std = self.marginal(t)
        return signal * np.asarray(means, dtype=np.float64), signal ** 2 * variance + std ** 2

    def mixture_score(self, means: np.ndarray, weights: np.ndarray, variance: float) -> Tuple[Callable, Callable]:
        """(7): the exact score s(x, t) of p_t for data sum_k w_k N(mu_k, v I), and its divergence
        div s(x, t) -> (n,), as functions of (x, t)."""
        def score(x, t):
            means_t, variance_t = self.mixture_marginal(means, variance, t)
            return mixture_score(x, means_t, weights, variance_t)

        def divergence(x, t):
            means_t, variance_t = self.mixture_marginal(means, variance, t)
            return mixture_score_divergence(x, means_t, weights, variance_t)
        return score, divergence

    # -- the prior ------------------------------------------------------------------------------
    def prior_sample(self, shape: Tuple[int, ...], generator: Any) -> np.ndarray:
        """x_1 ~ N(0, prior_std^2 I), float32."""
        return generator.standard_normal(shape, dtype=np.float32) * np.float32(self.prior_std)

    def prior_log_prob(self, x: np.ndarray) -> np.ndarray:
        """log N(x; 0, prior_std^2 I) per example (n,)."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        variance = self.prior_std ** 2
        return -0.5 * ((x ** 2).sum(axis=1) / variance + x.shape[1] * math.log(2 * math.pi * variance))

    # -- samplers -----------------------------------------------------------------------------------
    def sample(self, score: Score, x: Array, method: str = "sde", steps: int = 1000, generator: Any = None,
               t_end: float = 1e-3) -> List[np.ndarray]:
        """Integrate from t = 1 (x from the prior) back to t_end with score(x, t) -> array.

        method "sde" (Euler-Maruyama (8), no noise at the last step) or "ode" (Heun on (6));
        returns the list of states, x first.
        """
        if method not in SDE_METHODS:
            raise ValueError(f"{type(self).__name__}.sample: method must be one of {SDE_METHODS}, got {method!r}")
        if method == "sde":
            return self.pc_sample(score, x, steps, generator, predictor="euler_maruyama", corrector_steps=0,
                                  t_end=t_end)
        times = np.linspace(1.0, t_end, int(steps) + 1)
        states = [x]
        for t, t_next in zip(times[:-1], times[1:]):
            x = self._heun_step(score, x, t, t_next)
            states.append(x)
        return states

    def pc_sample(self, score: Score, x: Array, steps: int = 1000, generator: Any = None,
                  predictor: str = "reverse_diffusion", corrector_steps: int = 1, snr: float = 0.16,
                  t_end: float = 1e-3) -> List[np.ndarray]:
        """(11): predictor-corrector sampling from t = 1 (x from the prior) to t_end in `steps` steps.

        predictor        "reverse_diffusion" (9) or "euler_maruyama" (8)
        corrector_steps  M Langevin steps (10) before each predictor step (0: predictor only)
        snr              r of (10)
        Returns the list of states after each predictor step, x first.
        """
        if predictor not in PREDICTORS:
            raise ValueError(f"{type(self).__name__}.pc_sample: predictor must be one of {PREDICTORS}, "
                             f"got {predictor!r}")
        generator = generator if generator is not None else autograd.random.generator("cpu")
        times = np.linspace(1.0, t_end, int(steps) + 1)
        states = [x]
        for k, (t, t_next) in enumerate(zip(times[:-1], times[1:])):
            last = k == len(times) - 2
            x = self._langevin_corrector(score, x, t, t_next, corrector_steps, snr, generator)
            if predictor == "euler_maruyama":
                x = self._euler_maruyama_step(score, x, t, t - t_next, generator, last)
            else:
                x = self._reverse_diffusion_step(score, x, t, t_next, generator, last)
            states.append(x)
        return states

    def _euler_maruyama_step(self, score, x, t, dt, generator, last):
        g2 = self.diffusion_squared(t)
        reverse_drift = self.drift_coefficient(t) * x - g2 * score(x, t)             # (5)
        x = x - x.dtype.type(dt) * reverse_drift                                   # (8), backward in time
        if not last:
            x = x + x.dtype.type(math.sqrt(g2 * dt)) * generator.standard_normal(x.shape, dtype=x.dtype)
        return x

    def _reverse_diffusion_step(self, score, x, t, t_next, generator, last):
        a, G = self.transition(t_next, t)
        x = x.dtype.type(2 - a) * x + x.dtype.type(G ** 2) * score(x, t)            # (9)
        if not last:
            x = x + x.dtype.type(G) * generator.standard_normal(x.shape, dtype=x.dtype)
        return x

    def _langevin_corrector(self, score, x, t, t_next, steps, snr, generator):
        """(10): `steps` Langevin steps at time t, the step size set by the signal-to-noise ratio r."""
        alpha = self.transition(t_next, t)[0] ** 2
        for _ in range(steps):
            gradient = score(x, t)
            z = generator.standard_normal(x.shape, dtype=x.dtype)
            ratio = _mean_norm(z) / max(_mean_norm(gradient), 1e-12)                # ||z|| / ||s||
            step_size = x.dtype.type(2 * alpha * (snr * ratio) ** 2)
            x = x + step_size * gradient + x.dtype.type(math.sqrt(2 * step_size)) * z   # (10)
        return x

    def ode_velocity(self, score: Score, x: Array, t: float) -> Array:
        """(6): f~(x, t) = c(t) x - 1/2 g(t)^2 s(x, t)."""
        c, half_g2 = x.dtype.type(self.drift_coefficient(t)), x.dtype.type(0.5 * self.diffusion_squared(t))
        return c * x - half_g2 * score(x, t)

    def _heun_step(self, score, x, t, t_next):
        dt = x.dtype.type(t_next - t)                                               # negative
        velocity = self.ode_velocity(score, x, t)
        guess = x + dt * velocity
        return x + dt * 0.5 * (velocity + self.ode_velocity(score, guess, t_next))

    # -- the likelihood -----------------------------------------------------------------------------
    def log_likelihood(self, score: Score, x: ArrayLike, divergence: Optional[Callable] = None, t_start: float = 1e-5,
                       prior_log_prob: Optional[Callable] = None, rtol: float = 1e-5,
                       atol: float = 1e-5) -> np.ndarray:
        """(12): log p_{t_start}(x) per example (n,) for x (n, D), float64, by integrating (6) and the
        divergence from t_start to 1 with an adaptive Runge-Kutta method (RK45; rtol, atol).

        score       score(x, t); without `divergence` it must take and return Tensors (a network, or
                    math written with autograd), and div s comes from D reverse-mode passes
        divergence  divergence(x, t) -> (n,), the exact div s (e.g. mixture_score_divergence)
        prior_log_prob  log p_1 (default: the SDE's prior, N(0, prior_std^2 I))
        """
        from scipy.integrate import solve_ivp
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"{type(self).__name__}.log_likelihood: expected x of shape (n, D), got {x.shape}")
        n, dim = x.shape

        def dynamics(t, state):
            x_t = state[:n * dim].reshape(n, dim)
            if divergence is None:
                s, div_s = score_and_divergence(score, x_t, t)
            else:
                s, div_s = np.asarray(score(x_t, t), dtype=np.float64), np.asarray(divergence(x_t, t))
            c, g2 = self.drift_coefficient(t), self.diffusion_squared(t)
            velocity = c * x_t - 0.5 * g2 * s                                        # (6)
            div_velocity = c * dim - 0.5 * g2 * div_s                                # (12)
            return np.concatenate([velocity.reshape(-1), div_velocity])
        start = np.concatenate([x.reshape(-1), np.zeros(n)])
        end = solve_ivp(dynamics, (t_start, 1.0), start, method="RK45", rtol=rtol, atol=atol).y[:, -1]
        x_1, integral = end[:n * dim].reshape(n, dim), end[n * dim:]
        log_prior = self.prior_log_prob(x_1) if prior_log_prob is None else prior_log_prob(x_1)
        return log_prior + integral                                                  # (12)


class VPSDE(SDE):
    """The variance-preserving SDE (3)."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)

    @classmethod
    def from_ddpm(cls, ddpm: "DDPM") -> "VPSDE":
        """The SDE whose discretization is the DDPM's linear schedule: beta(t) = T beta_{tT}."""
        if ddpm.schedule != "linear":
            raise ValueError(f"VPSDE.from_ddpm: needs the linear schedule, the model has {ddpm.schedule!r}")
        return cls(ddpm.betas[0] * ddpm.T, ddpm.betas[-1] * ddpm.T)

    def beta(self, t: float) -> float:
        return self.beta_min + t * (self.beta_max - self.beta_min)                  # (3)

    def drift_coefficient(self, t: float) -> float:
        return -0.5 * self.beta(t)

    def diffusion_squared(self, t: float) -> float:
        return self.beta(t)

    def marginal(self, t: float) -> Tuple[float, float]:
        integral = self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t ** 2   # int_0^t beta
        return math.exp(-0.5 * integral), math.sqrt(1 - math.exp(-integral))


class VESDE(SDE):
    """The variance-exploding SDE (4)."""

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0) -> None:
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"VESDE: needs 0 < sigma_min < sigma_max, got {sigma_min} and {sigma_max}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.prior_std = self.sigma_max

    def sigma(self, t: float) -> float:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t              # (4)

    def drift_coefficient(self, t: float) -> float:
        return 0.0

    def diffusion_squared(self, t: float) -> float:
        return 2 * self.sigma(t) ** 2 * math.log(self.sigma_max / self.sigma_min)    # (4): d sigma^2 / dt

    def marginal(self, t: float) -> Tuple[float, float]:
        return 1.0, math.sqrt(self.sigma(t) ** 2 - self.sigma_min ** 2)


def score_and_divergence(score: Callable, x: np.ndarray, t: float) -> Tuple[np.ndarray, np.ndarray]:
    """s(x, t) (n, D) and its exact divergence (n,) for a score that takes and returns Tensors: D
    reverse-mode passes, the j-th giving row j of each example's Jacobian, of which (12) needs d s_j / d x_j."""
    inputs = Tensor(np.asarray(x), requires_grad=True)
    s = score(inputs, t)                                                             # (n, D) Tensor
    divergence = np.zeros(inputs.shape[0])
    for j in range(inputs.shape[1]):
        basis = np.zeros(inputs.shape, dtype=s.dtype)
        basis[:, j] = 1                                                              # e_j for every example
        (row,) = input_gradients(s, [inputs], grad_outputs=Tensor(basis), retain_graph=True)   # e_j' ds/dx, (n, D)
        divergence += row.numpy()[:, j]
    return s.numpy().astype(np.float64), divergence


def _mean_norm(x) -> float:
    """The L2 norm of each example of x (n, ...), averaged over the examples."""
    return float(array_module(x).sqrt((x.astype(np.float64) ** 2).reshape(len(x), -1).sum(axis=1)).mean())
