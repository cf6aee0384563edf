"""Score SDEs (Song, Sohl-Dickstein, Kingma, Kumar, Ermon and Poole, 2021): a forward SDE that turns
data into noise, and the reverse-time SDE and probability-flow ODE that turn noise back into data
given the score s(x, t) = grad_x log p_t(x).

VP SDE     dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw,  beta(t) = beta_min + t (beta_max - beta_min)   (1)
           on t in [0, 1]; DDPM's chain is its discretization with beta_i = beta(i / T) / T, so
           beta 0.1..20 matches betas 1e-4..0.02 at T = 1000.
Marginal   x_t | x_0 ~ N(m(t) x_0, (1 - m(t)^2) I),  m(t) = exp(-1/2 int_0^t beta)                 (2)
Reverse    dx = [-1/2 beta x - beta s(x, t)] dt + sqrt(beta) dw~   (time running backward)        (3)
           Euler-Maruyama: x <- x + [1/2 beta x + beta s] dt + sqrt(beta dt) z, no noise at the end
PF ODE     dx/dt = -1/2 beta(t) (x + s(x, t))     (the same marginals, deterministic; Heun's method)  (4)
"""
import math

import numpy as np

import autograd

SDE_METHODS = ("sde", "ode")


class VPSDE:
    """The variance-preserving SDE (1) and its two samplers, (3) and (4)."""

    def __init__(self, beta_min=0.1, beta_max=20.0):
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)

    @classmethod
    def from_ddpm(cls, ddpm):
        """The SDE whose discretization is the DDPM's linear schedule: beta(t) = T beta_{tT}."""
        if ddpm.schedule != "linear":
            raise ValueError(f"VPSDE.from_ddpm: needs the linear schedule, the model has {ddpm.schedule!r}")
        return cls(ddpm.betas[0] * ddpm.T, ddpm.betas[-1] * ddpm.T)

    def beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)                  # (1)

    def marginal(self, t):
        """(2): (m(t), std(t)) of x_t given x_0."""
        integral = self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t ** 2
        return math.exp(-0.5 * integral), math.sqrt(1 - math.exp(-integral))

    def sample(self, score, x, method="sde", steps=1000, generator=None, t_end=1e-3):
        """Integrate from t = 1 (x ~ N(0, I)) back to t_end with score(x, t) -> array.

        method "sde" (Euler-Maruyama on (3)) or "ode" (Heun on (4)); returns the list of states.
        """
        if method not in SDE_METHODS:
            raise ValueError(f"VPSDE.sample: method must be one of {SDE_METHODS}, got {method!r}")
        generator = generator if generator is not None else autograd.random.generator("cpu")
        times = np.linspace(1.0, t_end, int(steps) + 1)
        states = [x]
        for k, (t, t_next) in enumerate(zip(times[:-1], times[1:])):
            last = k == len(times) - 2
            if method == "sde":
                x = self._euler_maruyama_step(score, x, t, t - t_next, generator, last)
            else:
                x = self._heun_step(score, x, t, t_next)
            states.append(x)
        return states

    def _euler_maruyama_step(self, score, x, t, dt, generator, last):
        beta = self.beta(t)
        drift = 0.5 * beta * x + beta * score(x, t)                                 # (3), backward in time
        x = x + x.dtype.type(dt) * drift
        if not last:
            x = x + x.dtype.type(math.sqrt(beta * dt)) * generator.standard_normal(x.shape, dtype=x.dtype)
        return x

    def _ode_velocity(self, score, x, t):
        return x.dtype.type(-0.5 * self.beta(t)) * (x + score(x, t))                 # (4)

    def _heun_step(self, score, x, t, t_next):
        dt = x.dtype.type(t_next - t)                                               # negative
        velocity = self._ode_velocity(score, x, t)
        guess = x + dt * velocity
        return x + dt * 0.5 * (velocity + self._ode_velocity(score, guess, t_next))
