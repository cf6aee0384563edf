"""Fused operations: one graph node where a chain of small ops would allocate an array per step.

GELU and layer norm act on a transformer's largest tensors.  Each forward works in place on arrays;
each backward is written with Tensor operations (a dedicated gradient Function whose own backward
is again Tensor operations), so both stay twice differentiable like every other op.
"""
from __future__ import annotations

from collections.abc import Callable

from ..backend import kernel
from ..function import Function, is_grad_enabled
from ..kernels.reference import GELU_C, GELU_K
from ..tensor import Array, Tensor
from .elementwise import sqrt, tanh


def _gelu_slope(x: Tensor, tanh: Callable[[Tensor], Tensor]) -> Tensor:
    """gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2),  t = tanh(c (x + k x^3))"""
    t = tanh(GELU_C * (x + GELU_K * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (GELU_C * (1 + 3 * GELU_K * x * x))


def _gelu_curvature(x: Tensor, tanh: Callable[[Tensor], Tensor]) -> Tensor:
    """gelu''(x) = (1 - t^2) (a - x t a^2 + 3 c k x^2),  a = c (1 + 3 k x^2)"""
    t = tanh(GELU_C * (x + GELU_K * x * x * x))
    a = GELU_C * (1 + 3 * GELU_K * x * x)
    return (1 - t * t) * (a - x * t * a * a + 3 * GELU_C * GELU_K * x * x)


class Gelu(Function):
    """y = 0.5 x (1 + tanh(c (x + k x^3))), GPT-2's GELU, in one node"""

    def forward(self, x: Array) -> Array:
        return kernel("gelu")(x)

    def backward(self, gy: Tensor) -> Tensor:
        (x,) = self.inputs
        return GELUGrad()(gy, x)


class GELUGrad(Function):
    """gx = gy gelu'(x) in one node;  d/dgy = gelu'(x),  d/dx = gy gelu''(x)"""

    def forward(self, gy: Array, x: Array) -> Array:
        return kernel("gelu_grad")(gy, x)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        gy, x = self.inputs
        needs_gy, needs_x = self.needs_input_grad
        return (g * _gelu_slope(x, tanh) if needs_gy else None,
                g * gy * _gelu_curvature(x, tanh) if needs_x else None)


class FusedLayerNorm(Function):
    """y = xhat w + b,  xhat = (x - mean) / sqrt(var + eps) over the last axis, in one node

    dx = rstd (g - mean(g) - xhat mean(g xhat)),  g = dy w,  rstd = 1 / sqrt(var + eps);
    dw = dy xhat and db = dy, summed over the leading axes by the engine.  The backward reuses the
    forward's xhat and rstd as constants, except while the gradient's own graph is recorded
    (create_graph): then it recomputes them from x with Tensor operations, so that second
    derivatives see how they depend on x.
    """

    def __init__(self, eps: float) -> None:
        self.eps = eps

    def forward(self, x: Array, weight: Array, bias: Array) -> Array:
        y, xhat, rstd = kernel("layer_norm")(x, weight, bias, self.eps)
        self.save_for_backward(xhat, rstd)
        return y

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, _ = self.inputs
        xhat, rstd = self._normalized(x)
        if not is_grad_enabled():                  # nothing is recorded: dx in one pass over the arrays
            gx = Tensor(kernel("layer_norm_grad")(gy.data, xhat.data, rstd.data, weight.data))
        else:
            g = gy * weight
            gx = rstd * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
        return gx, gy * xhat, gy

    def _normalized(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if not is_grad_enabled():
            xhat, rstd = self.saved_tensors
            return xhat, rstd
        centred = x - x.mean(axis=-1, keepdims=True)
        rstd = 1 / sqrt((centred * centred).mean(axis=-1, keepdims=True) + self.eps)
        return centred * rstd, rstd


def gelu_reference(x: Tensor) -> Tensor:
    """GELU in the engine's elementwise ops, to read and to test the fused node against: the same
    values and gradients, in eight nodes and as many temporaries."""
    return 0.5 * x * (1 + tanh(GELU_C * (x + GELU_K * x * x * x)))


def gelu(x: Tensor) -> Tensor:
    """GELU with GPT-2's tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return Gelu()(x)


def layer_norm_last_axis(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis, in one node."""
    return FusedLayerNorm(eps)(x, weight, bias)
