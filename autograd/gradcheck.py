"""Finite-difference checks of first and second derivatives (float64).

gradcheck(fn, inputs) compares, for a random upstream gradient v, the engine's vector-Jacobian
product v^T J with central differences

    (v . fn(x + eps e_i) - v . fn(x - eps e_i)) / (2 eps)      for every input element i,

and raises with the worst element when they disagree beyond atol + rtol |numerical|.
gradgradcheck(fn, inputs) runs the same check on x -> sum_k w_k . grad_x_k(v . fn(x)), the first
derivative recorded with create_graph=True, so the backward of every op is itself differentiated.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from .function import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical derivatives disagree."""


def _as_inputs(inputs: Any) -> list[Tensor]:
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    return [Tensor(backend.to_numpy(x.data if isinstance(x, Tensor) else np.asarray(x)).astype(np.float64),
                   requires_grad=True) for x in inputs]


def _outputs(value: Any) -> list[Tensor]:
    """fn's result as a list of its output Tensors."""
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _weighted_output(fn: Callable[..., Any], tensors: Sequence[Tensor],
                     upstream: Sequence[np.ndarray]) -> Tensor:
    """v . fn(x) as a scalar Tensor."""
    terms = [(out * Tensor(v)).sum() for out, v in zip(_outputs(fn(*tensors)), upstream)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """True if the engine's gradients of `fn` at `inputs` match central differences, else raise."""
    tensors = _as_inputs(inputs)
    rng = np.random.default_rng(seed)
    upstream = [rng.standard_normal(np.shape(out.data)) for out in _outputs(fn(*tensors))]
    objective = _weighted_output(fn, tensors, upstream)
    # an output that does not depend on the inputs (a linear op's second derivative) has gradient 0
    analytic = grad(objective, tensors) if objective.requires_grad else [None] * len(tensors)
    for k, (x, g) in enumerate(zip(tensors, analytic)):
        engine = np.zeros(x.shape) if g is None else backend.to_numpy(g.data)
        numerical = _numerical_gradient(fn, tensors, k, upstream, eps)
        _compare(engine, numerical, atol, rtol, f"input {k} of shape {x.shape}")
    return True


def _numerical_gradient(fn: Callable[..., Any], tensors: Sequence[Tensor], k: int,
                        upstream: Sequence[np.ndarray], eps: float) -> np.ndarray:
    x = tensors[k].data
    flat = x.reshape(-1)
    numerical = np.zeros(x.size)
    for i in range(x.size):  # recording stays on: gradgradcheck's fn itself calls grad()
        original = flat[i]
        flat[i] = original + eps
        plus = float(_weighted_output(fn, tensors, upstream).data)
        flat[i] = original - eps
        minus = float(_weighted_output(fn, tensors, upstream).data)
        flat[i] = original
        numerical[i] = (plus - minus) / (2 * eps)
    return numerical.reshape(x.shape)


def _compare(analytic: np.ndarray, numerical: np.ndarray, atol: float, rtol: float, what: str) -> None:
    if analytic.shape != numerical.shape:
        raise GradcheckError(f"{what}: gradient shape {analytic.shape} != input shape {numerical.shape}")
    error = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
    if error.size and (np.max(error) > 0 or not np.all(np.isfinite(analytic))):
        worst = np.unravel_index(np.argmax(np.where(np.isfinite(error), error, np.inf)), error.shape)
        raise GradcheckError(f"{what}: analytic {analytic[worst]!r} vs numerical {numerical[worst]!r} "
                             f"at index {tuple(int(i) for i in worst)}")


def gradgradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0) -> bool:
    """True if second derivatives of `fn` (through create_graph=True) match finite differences."""
    tensors = _as_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    upstream = [rng.standard_normal(np.shape(out.data)) for out in _outputs(fn(*tensors))]
    weights = [rng.standard_normal(x.shape) for x in tensors]

    def first_derivative(*xs: Tensor) -> Tensor:
        grads = grad(_weighted_output(fn, xs, upstream), xs, create_graph=True)
        total = Tensor(np.zeros(()))
        for g, w in zip(grads, weights):
            if g is not None:
                total = total + (g * Tensor(w)).sum()
        return total

    return gradcheck(first_derivative, tensors, eps=eps, atol=atol, rtol=rtol, seed=seed)
