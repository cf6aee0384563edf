"""The numerics of GAN training on two-parameter games (Mescheder, Nowozin and Geiger 2017, "The
numerics of GANs"; Mescheder, Geiger and Nowozin 2018, "Which training methods for GANs actually
converge?").

Game        min_x max_y f(x, y); the joint gradient field (descent for x, ascent for y)
            v(x, y) = (df/dx, -df/dy)                                                    (1)
Bilinear    f(x, y) = x y,  v = (y, -x);  the only equilibrium is (0, 0)                 (2)
Dirac GAN   data delta_0, generator delta_theta, discriminator D_psi(x) = psi x:
            f(theta, psi) = h(psi theta) + h(0),  h(t) = log sigmoid(t)                  (3)
            (x = theta, the generator, minimizes; y = psi, the discriminator, maximizes)
Updates     simultaneous  u <- u - eta v(u)                                              (4)
              on (2) its Jacobian is I - eta [[0, 1], [-1, 0]]: eigenvalues 1 +- i eta of
              modulus sqrt(1 + eta^2) > 1, so the iterates spiral outward
            alternating   x <- x - eta v_x(x, y);  then  y <- y - eta v_y(x_new, y)       (5)
              on (2) the map has determinant 1: the iterates circle, neither in nor out
            consensus     u <- u - eta (v + gamma grad L)(u),  L = 1/2 ||v||^2           (6)
              on (2) the Jacobian is I - eta [[gamma, 1], [-1, gamma]]: eigenvalues
              1 - eta gamma +- i eta, of modulus below 1 for small eta, so it converges
The gradient grad L = J^T v needs the gradient of a gradient: the field is recorded with
create_graph=True and differentiated again.  All of it runs on the engine, in float64, for many
points at once (f is summed over independent points, so each point's gradient is its own).
"""
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

import autograd
from autograd import Tensor
from minigen.models.common import input_gradients

RULES = ("simultaneous", "alternating", "consensus")


class TwoPlayerGame:
    """min_x max_y f(x, y) for a scalar function f of two scalars, evaluated on many points at once."""

    def __init__(self, value: Callable[[Tensor, Tensor], Tensor], name: str) -> None:
        self.value = value            # f(x, y) on Tensors of shape (N,) -> (N,)
        self.name = name

    def field(self, points: np.ndarray, create_graph: bool = False) -> tuple[Tensor, Tensor]:
        """v at points (N, 2) as Tensors (v_x, v_y) of shape (N,) each (1)."""
        x, y = _coordinates(points)
        df_dx, df_dy = input_gradients(self.value(x, y).sum(), [x, y], create_graph=create_graph)
        return df_dx, -df_dy

    def consensus_field(self, points: np.ndarray, gamma: float) -> np.ndarray:
        """v + gamma grad(1/2 ||v||^2) at points (N, 2), as a NumPy array (N, 2) (6)."""
        x, y = _coordinates(points)
        df_dx, df_dy = input_gradients(self.value(x, y).sum(), [x, y], create_graph=True)
        v_x, v_y = df_dx, -df_dy
        half_norm = 0.5 * (v_x * v_x + v_y * v_y).sum()                          # L, summed over points
        grad_x, grad_y = input_gradients(half_norm, [x, y])
        return np.stack([(v_x + gamma * grad_x).data, (v_y + gamma * grad_y).data], axis=1)   # (N, 2)

    def update_direction(self, points: np.ndarray, rule: str = "simultaneous", gamma: float = 10.0) -> np.ndarray:
        """The direction each rule steps along (minus the field it descends), (N, 2)."""
        _check_rule(rule)
        if rule == "consensus":
            return -self.consensus_field(points, gamma)
        v_x, v_y = self.field(points)
        return -np.stack([v_x.data, v_y.data], axis=1)

    def step(self, points: ArrayLike, rule: str = "simultaneous", lr: float = 0.1, gamma: float = 10.0) -> np.ndarray:
        """One update (4), (5) or (6) of every point (N, 2); returns the new points (N, 2)."""
        _check_rule(rule)
        points = _as_points(points)
        if rule != "alternating":
            return points + lr * self.update_direction(points, rule, gamma)
        x_new = points[:, 0] - lr * self.field(points)[0].data                   # (5), x first
        moved = np.stack([x_new, points[:, 1]], axis=1)
        y_new = points[:, 1] - lr * self.field(moved)[1].data                    # (5), y sees x_new
        return np.stack([x_new, y_new], axis=1)

    def trajectory(self, start: ArrayLike, rule: str = "simultaneous", lr: float = 0.1, steps: int = 100,
                   gamma: float = 10.0) -> np.ndarray:
        """The iterates from `start` (2,) or (N, 2): an array (steps + 1, 2) or (steps + 1, N, 2)."""
        points = _as_points(start)
        path = [points]
        for _ in range(int(steps)):
            points = self.step(points, rule, lr, gamma)
            path.append(points)
        iterates = np.stack(path)                                                # (T + 1, N, 2)
        return iterates[:, 0] if np.ndim(start) == 1 else iterates


def _bilinear(x, y):
    return x * y                                                                 # (2)


def _dirac_gan(theta, psi):
    return autograd.logsigmoid(psi * theta) + np.log(0.5)                        # (3), h(0) = log 1/2


BILINEAR = TwoPlayerGame(_bilinear, "bilinear game f(x, y) = x y")
DIRAC_GAN = TwoPlayerGame(_dirac_gan, "Dirac GAN")


def _as_points(points: ArrayLike) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 1:
        points = points[None]
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"two-player game: points must have shape (2,) or (N, 2), got {points.shape}")
    return points


def _coordinates(points):
    points = _as_points(points)
    return (autograd.tensor(points[:, 0], requires_grad=True),
            autograd.tensor(points[:, 1], requires_grad=True))


def _check_rule(rule):
    if rule not in RULES:
        raise ValueError(f"update rule must be one of {', '.join(RULES)}, not {rule!r}")
