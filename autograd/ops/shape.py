"""Operations that move elements without changing them: reshape, transpose, broadcast, index, join.

Their backward moves the gradient back the other way: reshape undoes reshape, a broadcast's
backward sums (`sum_to`), and indexing scatters with addition, so that an element read twice
(`x[[0, 0]]`) receives both gradients.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..function import Function
from ..tensor import Array, Operand, Tensor

Shape = tuple[int, ...]


class Reshape(Function):
    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def forward(self, x: Array) -> Array:
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy: Tensor) -> Tensor:
        return reshape(gy, self.input_shape)


class Transpose(Function):
    """Permute axes like numpy.transpose; backward applies the inverse permutation."""

    def __init__(self, axes: Shape | None) -> None:
        self.axes = axes

    def forward(self, x: Array) -> Array:
        return x.transpose(self.axes)

    def backward(self, gy: Tensor) -> Tensor:
        if self.axes is None:
            return transpose(gy)
        return transpose(gy, tuple(np.argsort(self.axes)))


class BroadcastTo(Function):
    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        self.input_shape = x.shape
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy: Tensor) -> Tensor:
        return sum_to(gy, self.input_shape)


class SumTo(Function):
    """Sum over the axes that broadcasting added or stretched, back to `shape`."""

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        self.input_shape = x.shape
        lead = x.ndim - len(self.shape)
        stretched = tuple(i + lead for i, n in enumerate(self.shape) if n == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
        return y.reshape(self.shape) if lead else y

    def backward(self, gy: Tensor) -> Tensor:
        return broadcast_to(gy, self.input_shape)


def _raw_index(index: Any) -> Any:
    """An index with every Tensor inside replaced by its array."""
    if isinstance(index, tuple):
        return tuple(_raw_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis only: each element is then read at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class GetItem(Function):
    """y = x[index] for basic, integer-array and boolean indexing."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x: Array) -> Array:
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, gy: Tensor) -> Tensor:
        return ScatterAdd(self.index, self.input_shape)(gy)


class ScatterAdd(Function):
    """y = zeros(shape); y[index] += g (repeated indices add up).  The backward of GetItem."""

    def __init__(self, index: Any, shape: Shape) -> None:
        self.index, self.shape = index, shape

    def forward(self, g: Array) -> Array:
        out = self.xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            backend.scatter_add(out, self.index, g)
        return out

    def backward(self, gy: Tensor) -> Tensor:
        return GetItem(self.index)(gy)


class Concatenate(Function):
    shape_mismatch = "do not match outside the joined axis"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: Array) -> Array:
        self.sizes = [x.shape[self.axis] for x in xs]
        return self.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        axis = self.axis % gy.ndim
        grads, start = [], 0
        for size in self.sizes:
            index = (slice(None),) * axis + (slice(start, start + size),)
            grads.append(gy[index])
            start += size
        return tuple(grads)


class Stack(Function):
    """y = the inputs joined along a new axis;  the gradient of input k is gy[..., k, ...]."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: Array) -> Array:
        shapes = {x.shape for x in xs}
        if len(shapes) > 1:
            listed = " and ".join(str(s) for s in dict.fromkeys(x.shape for x in xs))
            raise ValueError(f"Stack: shapes {listed} differ; stack joins tensors of one shape")
        return self.xp.stack(xs, axis=self.axis)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (k,)] for k in range(len(self.inputs)))


class ToDevice(Function):
    """Copy to another device; the gradient is copied back."""

    def __init__(self, device: str | None) -> None:
        self.device = device

    def forward(self, x: Array) -> Array:
        self.source = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy: Tensor) -> Tensor:
        return to_device(gy, self.source)


def reshape(x: Tensor, *shape: int | Sequence[int]) -> Tensor:
    """The same elements in a new shape, given as ints or as one tuple; -1 stands for the rest."""
    wanted = _shape_argument(shape)
    if wanted == x.shape:
        return x
    return Reshape(wanted)(x)


def _shape_argument(shape: tuple[Any, ...]) -> Shape:
    """A shape passed as separate ints, or as one tuple or list of them."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def transpose(x: Tensor, *axes: int | Sequence[int]) -> Tensor:
    """Permute axes like numpy.transpose (reverse them when none are given)."""
    order = _shape_argument(axes)
    return Transpose(tuple(a % x.ndim for a in order) if order else None)(x)


def swapaxes(x: Tensor, a: int, b: int) -> Tensor:
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    if tuple(shape) == x.shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    if tuple(shape) == x.shape:
        return x
    return SumTo(shape)(x)


def getitem(x: Tensor, index: Any) -> Tensor:
    return GetItem(_raw_index(index))(x)


def _joined(op: str, tensors: Sequence[Operand], axis: int, new_axis: bool) -> tuple[list[Tensor], int]:
    """The tensors to join as a list of Tensors, and `axis` as a non-negative int, checked."""
    joined = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not joined:
        raise ValueError(f"{op}: needs at least one tensor to join, got none")
    ndim = joined[0].ndim + new_axis
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a result of {ndim} axes")
    return joined, axis % ndim


def concatenate(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; they must match on every other axis."""
    tensors, axis = _joined("Concatenate", tensors, axis, new_axis=False)
    return Concatenate(axis)(*tensors)


def stack(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis."""
    tensors, axis = _joined("Stack", tensors, axis, new_axis=True)
    return Stack(axis)(*tensors)


def expand_dims(x: Tensor, axis: int) -> Tensor:
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x: Tensor, axis: int | tuple[int, ...] | None = None) -> Tensor:
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,))}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
    """Merge the axes from `start_dim` on: (B, C, H, W) -> (B, C*H*W)."""
    return reshape(x, x.shape[:start_dim] + (-1,))


def to_device(x: Tensor, device: str | None) -> Tensor:
    if x.device == ("cpu" if device in (None, "cpu") else "cuda"):
        return x
    return ToDevice(device)(x)
