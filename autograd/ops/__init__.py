"""The differentiable operations, grouped as NumPy groups them, and the Tensor methods built on them."""
from __future__ import annotations

from collections.abc import Callable

from ..tensor import Operand, Tensor
from .elementwise import (abs, add, astype, clip, cos, div, exp, leaky_relu, log, log1p, logsigmoid,
                          maximum, minimum, mul, neg, pow, relu, sigmoid, sin, softplus, sqrt, sub,
                          tanh, where)
from .linalg import linear, matmul
from .reductions import log_softmax, logsumexp, max, mean, min, softmax, sum, var
from .shape import (broadcast_to, concatenate, expand_dims, flatten, getitem, reshape, squeeze, stack,
                    sum_to, swapaxes, to_device, transpose)

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "div", "exp",
    "expand_dims", "flatten", "getitem", "leaky_relu", "linear", "log", "log1p", "log_softmax",
    "logsigmoid", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg",
    "pow", "relu", "reshape", "sigmoid", "sin", "softmax", "softplus", "sqrt", "squeeze", "stack",
    "sub", "sum", "sum_to", "swapaxes", "tanh", "to_device", "transpose", "var", "where",
]


def _reflected(op: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Operand], Tensor]:
    """other <op> self, for the operators Python calls on the right operand (2 - x, 2 / x)."""
    return lambda self, other: op(other if isinstance(other, Tensor) else _like(other, self), self)


def _like(value: Operand, reference: Tensor) -> Tensor:
    from ..function import as_operand
    return as_operand(value, reference)


def _compare(name: str) -> Callable[[Tensor, Operand], Tensor]:
    """An elementwise comparison: a constant boolean Tensor, outside the graph."""
    def compare(self: Tensor, other: Operand) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(getattr(self.data, name)(other))
    return compare


def _attach_methods() -> None:
    """Operators and methods of Tensor: each one is a call of a differentiable function."""
    methods = {
        "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": _reflected(sub),
        "__mul__": mul, "__rmul__": mul, "__truediv__": div, "__rtruediv__": _reflected(div),
        "__pow__": pow, "__rpow__": _reflected(pow), "__matmul__": matmul,
        "__rmatmul__": _reflected(matmul), "__neg__": neg, "__abs__": abs,
        "__getitem__": getitem,
        "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "sin": sin, "cos": cos, "tanh": tanh,
        "sigmoid": sigmoid, "relu": relu, "abs": abs, "clip": clip, "astype": astype,
        "sum": sum, "mean": mean, "var": var, "max": max, "min": min, "logsumexp": logsumexp,
        "softmax": softmax, "log_softmax": log_softmax,
        "reshape": reshape, "view": reshape, "transpose": transpose, "swapaxes": swapaxes,
        "flatten": flatten, "squeeze": squeeze, "expand_dims": expand_dims, "broadcast_to": broadcast_to,
        "matmul": matmul,
    }
    for name, function in methods.items():
        setattr(Tensor, name, function)
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        setattr(Tensor, name, _compare(name))
    setattr(Tensor, "__hash__", object.__hash__)  # == is elementwise, so identity stays the hash
    setattr(Tensor, "T", property(lambda self: transpose(self)))


_attach_methods()
