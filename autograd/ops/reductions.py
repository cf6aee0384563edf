"""Reductions with NumPy's `axis=` / `keepdims=` (or PyTorch's `dim=` / `keepdim=`), and the
log-sum-exp family.

The backward of a reduction is a broadcast of the upstream gradient back over the reduced axes;
`_expand` puts the reduced axes back (as size 1) so that broadcasting lines up.
"""
from __future__ import annotations

import builtins
from typing import Union

from ..backend import kernel
from ..function import Function
from ..tensor import Array, Operand, Tensor
from .shape import broadcast_to, reshape

Axis = Union[int, tuple[int, ...], None]                 # None: every axis
Axes = Union[Axis, list[int]]                            # what a caller may pass: a list reads as a tuple


def _normalize_axis(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axes))


def _kept_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape a reduction over `axis` has with keepdims=True."""
    axes = _normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(gy: Tensor, shape: tuple[int, ...], axis: Axis, keepdims: bool) -> Tensor:
    """Reshape an upstream gradient of a reduction so it broadcasts against the input (a 0-d
    gradient, of a reduction over every axis, broadcasts as it is)."""
    if keepdims or gy.ndim == len(shape) or gy.ndim == 0:
        return gy
    return reshape(gy, _kept_shape(shape, axis))


class Sum(Function):
    """y = scale * (sum of x over `axis`);  dy/dx = scale for every summed element.  scale is 1 for
    a sum and 1/n for a mean (one node either way)."""

    def __init__(self, axis: Axis, keepdims: bool, scale: float = 1.0) -> None:
        self.axis, self.keepdims, self.scale = axis, keepdims, scale

    def forward(self, x: Array) -> Array:
        self.input_shape = x.shape
        total = x.sum(axis=self.axis, keepdims=self.keepdims)
        return total if self.scale == 1 else total * self.scale

    def backward(self, gy: Tensor) -> Tensor:
        scaled = gy if self.scale == 1 else gy * self.scale
        return broadcast_to(_expand(scaled, self.input_shape, self.axis, self.keepdims), self.input_shape)


class Extreme(Function):
    """y = max (or min) of x over `axis`.  Ties share the gradient evenly (a subgradient)."""

    def __init__(self, axis: Axis, keepdims: bool, largest: bool) -> None:
        self.axis, self.keepdims, self.largest = axis, keepdims, largest

    def forward(self, x: Array) -> Array:
        reduce = x.max if self.largest else x.min
        return reduce(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        y = self.output.data
        kept = y if self.keepdims else y.reshape(_kept_shape(x.shape, self.axis))
        hits = (x == kept).astype(gy.dtype)
        share = Tensor(hits / hits.sum(axis=self.axis, keepdims=True))
        return _expand(gy, x.shape, self.axis, self.keepdims) * share


class LogSumExp(Function):
    """y = log sum_i exp(x_i), shifted by the max so nothing overflows;  dy/dx = softmax(x)"""

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x: Array) -> Array:
        return kernel("logsumexp")(x, self.axis, self.keepdims)

    def backward(self, gy: Tensor) -> Tensor:
        (x,) = self.inputs
        y = _expand(self.output, x.shape, self.axis, self.keepdims)
        return _expand(gy, x.shape, self.axis, self.keepdims) * (x - y).exp()


class Softmax(Function):
    """y = exp(x - logsumexp(x));  dx = y * (gy - sum(gy * y))"""

    def __init__(self, axis: int | tuple[int, ...]) -> None:
        self.axis = axis

    def forward(self, x: Array) -> Array:
        return kernel("softmax")(x, self.axis)

    def backward(self, gy: Tensor) -> Tensor:
        y = self.output
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x);  dx = gy - softmax(x) * sum(gy)"""

    def __init__(self, axis: int | tuple[int, ...]) -> None:
        self.axis = axis

    def forward(self, x: Array) -> Array:
        return kernel("log_softmax")(x, self.axis)

    def backward(self, gy: Tensor) -> Tensor:
        return gy - self.output.exp() * gy.sum(axis=self.axis, keepdims=True)


def _axis_and_keepdims(op: str, axis: Axes, keepdims: bool, dim: Axes,
                       keepdim: bool | None) -> tuple[Axis, bool]:
    """NumPy's `axis` / `keepdims`, also spelled as PyTorch's `dim` / `keepdim` (not both at once).
    A list of axes is read as a tuple."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}; they are one argument, give one")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{op}: got both keepdims and keepdim; they are one argument, give one")
        keepdims = keepdim
    return (tuple(axis) if isinstance(axis, list) else axis), bool(keepdims)


def _count(x: Tensor, axis: Axis) -> int:
    """How many elements a reduction over `axis` combines into each result."""
    count = 1
    for a in _normalize_axis(axis, x.ndim):
        count *= x.shape[a]
    return count


def sum(x: Operand, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None,
        keepdim: bool | None = None) -> Tensor:
    """Sum over `axis` (all axes by default); `dim` / `keepdim` are PyTorch's names for the same."""
    axis, keepdims = _axis_and_keepdims("sum", axis, keepdims, dim, keepdim)
    return Sum(axis, keepdims)(x)


def mean(x: Operand, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None,
         keepdim: bool | None = None) -> Tensor:
    """Arithmetic mean over `axis` (all axes by default)."""
    axis, keepdims = _axis_and_keepdims("mean", axis, keepdims, dim, keepdim)
    x = x if isinstance(x, Tensor) else Tensor(x)
    return Sum(axis, keepdims, 1.0 / builtins.max(_count(x, axis), 1))(x)


def var(x: Operand, axis: Axes = None, keepdims: bool = False, ddof: int = 0, *,
        dim: Axes = None, keepdim: bool | None = None) -> Tensor:
    """Variance as NumPy computes it: mean squared deviation, divided by n - ddof (ddof=0 by
    default, also when called with PyTorch's `dim`; PyTorch's default divides by n - 1)."""
    axis, keepdims = _axis_and_keepdims("var", axis, keepdims, dim, keepdim)
    x = x if isinstance(x, Tensor) else Tensor(x)
    deviation = x - mean(x, axis=axis, keepdims=True)
    return Sum(axis, keepdims, 1.0 / builtins.max(_count(x, axis) - ddof, 1))(deviation * deviation)


def max(x: Operand, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None,
        keepdim: bool | None = None) -> Tensor:
    """The largest element over `axis`: the values only (as NumPy's), also when called with `dim`."""
    axis, keepdims = _axis_and_keepdims("max", axis, keepdims, dim, keepdim)
    return Extreme(axis, keepdims, largest=True)(x)


def min(x: Operand, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None,
        keepdim: bool | None = None) -> Tensor:
    """The smallest element over `axis`: the values only (as NumPy's), also when called with `dim`."""
    axis, keepdims = _axis_and_keepdims("min", axis, keepdims, dim, keepdim)
    return Extreme(axis, keepdims, largest=False)(x)


def logsumexp(x: Operand, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None,
              keepdim: bool | None = None) -> Tensor:
    """log sum exp(x) over `axis`, without overflow."""
    axis, keepdims = _axis_and_keepdims("logsumexp", axis, keepdims, dim, keepdim)
    return LogSumExp(axis, keepdims)(x)


def softmax(x: Operand, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """exp(x) / sum exp(x) over `axis` (the last axis when none is given)."""
    chosen, _ = _axis_and_keepdims("softmax", axis, False, dim, None)
    return Softmax(-1 if chosen is None else chosen)(x)


def log_softmax(x: Operand, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """x - logsumexp(x) over `axis` (the last axis when none is given)."""
    chosen, _ = _axis_and_keepdims("log_softmax", axis, False, dim, None)
    return LogSoftmax(-1 if chosen is None else chosen)(x)
