"""Matrix products.  `linear` is fused (one Function for x W^T + b): it is the hottest op of every
MLP, and one node instead of three keeps the engine's overhead small."""
from __future__ import annotations

from ..function import Function
from ..tensor import Array, Tensor
from .reductions import sum as reduce_sum
from .shape import reshape, swapaxes


class MatMul(Function):
    """Y = A @ B (batched, broadcasting);  dA = dY B^T,  dB = A^T dY"""
    shape_mismatch = "do not align"

    def forward(self, a: Array, b: Array) -> Array:
        return a @ b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        needs_a, needs_b = self.needs_input_grad
        ga = matmul(gy, swapaxes(b, -1, -2)) if needs_a else None
        gb = matmul(swapaxes(a, -1, -2), gy) if needs_b else None
        return ga, gb


class Linear(Function):
    """y = x W^T + b for x of shape (N, in), W of shape (out, in) (PyTorch's layout), b (out,).

    dx = dy W,   dW = dy^T x,   db = sum over the batch of dy
    """
    shape_mismatch = "do not align"

    def forward(self, x: Array, weight: Array, bias: Array | None = None) -> Array:
        y = x @ weight.T                                                   # (N, out)
        if bias is not None:
            y += bias                                                      # y is new: add in place
        return y

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = self.inputs[0], self.inputs[1]
        needs = self.needs_input_grad
        gx = MatMul()(gy, weight) if needs[0] else None                  # (N, in)
        gw = MatMul()(gy.T, x) if needs[1] else None                     # (out, in)
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (reduce_sum(gy, axis=0) if needs[2] else None)


def _check_operands(a: Tensor, b: Tensor) -> None:
    """The errors MatMul's forward would give, stated with the shapes the user passed (before a
    1-D operand is promoted to a matrix)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul: operands need at least 1 axis, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else -1]:
        raise ValueError(f"MatMul: shapes {a.shape} and {b.shape} {MatMul.shape_mismatch}")


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """PyTorch's matmul: 1-D operands are promoted to matrices and the added axis removed."""
    _check_operands(a, b)
    if a.ndim == 1 and b.ndim == 1:
        return reduce_sum(a * b)
    if a.ndim == 1:
        return reshape(MatMul()(reshape(a, 1, -1), b), b.shape[:-2] + (b.shape[-1],))
    if b.ndim == 1:
        return reshape(MatMul()(a, reshape(b, -1, 1)), a.shape[:-1])
    return MatMul()(a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias over the last axis of x, for x of any number of leading axes."""
    if x.ndim == 2:
        return Linear()(x, weight) if bias is None else Linear()(x, weight, bias)
    lead = x.shape[:-1]
    flat = reshape(x, -1, x.shape[-1])                                   # (N, in)
    y = Linear()(flat, weight) if bias is None else Linear()(flat, weight, bias)
    return reshape(y, lead + (weight.shape[0],))                         # (..., out)
