"""Operations that move elements without changing them: reshape, transpose, broadcast, index, join.

Their backward moves the gradient back the other way: reshape undoes reshape, a broadcast's
backward sums (`sum_to`), and indexing scatters with addition, so that an element read twice
(`x[[0, 0]]`) receives both gradients.
"""
import numpy as np

from .. import backend
from ..function import Function
from ..tensor import Tensor


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.input_shape)


class Transpose(Function):
    """Permute axes like numpy.transpose; backward applies the inverse permutation."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        return transpose(gy, tuple(np.argsort(self.axes)))


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = x.shape
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.input_shape)


class SumTo(Function):
    """Sum over the axes that broadcasting added or stretched, back to `shape`."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = x.shape
        lead = x.ndim - len(self.shape)
        stretched = tuple(i + lead for i, n in enumerate(self.shape) if n == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)


def _raw_index(index):
    """An index with every Tensor inside replaced by its array."""
    if isinstance(index, tuple):
        return tuple(_raw_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index):
    """True for ints, slices, None and Ellipsis only: each element is then read at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class GetItem(Function):
    """y = x[index] for basic, integer-array and boolean indexing."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.input_shape)(gy)


class ScatterAdd(Function):
    """y = zeros(shape); y[index] += g (repeated indices add up).  The backward of GetItem."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        out = self.xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            backend.scatter_add(out, self.index, g)
        return out

    def backward(self, gy):
        return GetItem(self.index)(gy)


class Concatenate(Function):
    shape_mismatch = "do not match outside the joined axis"

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return self.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        axis = self.axis % gy.ndim
        grads, start = [], 0
        for size in self.sizes:
            index = (slice(None),) * axis + (slice(start, start + size),)
            grads.append(gy[index])
            start += size
        return tuple(grads)


class Stack(Function):
    """y = the inputs joined along a new axis;  the gradient of input k is gy[..., k, ...]."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        shapes = {x.shape for x in xs}
        if len(shapes) > 1:
            listed = " and ".join(str(s) for s in dict.fromkeys(x.shape for x in xs))
            raise ValueError(f"Stack: shapes {listed} differ; stack joins tensors of one shape")
        return self.xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (k,)] for k in range(len(self.inputs)))


class ToDevice(Function):
    """Copy to another device; the gradient is copied back."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return to_device(gy, self.source)


def reshape(x, *shape):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if tuple(shape) == x.shape:
        return x
    return Reshape(tuple(shape))(x)


def transpose(x, *axes):
    """Permute axes like numpy.transpose (reverse them when none are given)."""
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    return Transpose(tuple(a % x.ndim for a in axes) if axes else None)(x)


def swapaxes(x, a, b):
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


def broadcast_to(x, shape):
    if tuple(shape) == x.shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    if tuple(shape) == x.shape:
        return x
    return SumTo(shape)(x)


def getitem(x, index):
    return GetItem(_raw_index(index))(x)


def _joined(op, tensors, axis, new_axis):
    """The tensors to join as a list of Tensors, and `axis` as a non-negative int, checked."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor to join, got none")
    ndim = tensors[0].ndim + new_axis
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a result of {ndim} axes")
    return tensors, axis % ndim


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis; they must match on every other axis."""
    tensors, axis = _joined("Concatenate", tensors, axis, new_axis=False)
    return Concatenate(axis)(*tensors)


def stack(tensors, axis=0):
    """Join tensors of equal shape along a new axis."""
    tensors, axis = _joined("Stack", tensors, axis, new_axis=True)
    return Stack(axis)(*tensors)


def expand_dims(x, axis):
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None):
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,))}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def flatten(x, start_dim=1):
    """Merge the axes from `start_dim` on: (B, C, H, W) -> (B, C*H*W)."""
    return reshape(x, x.shape[:start_dim] + (-1,))


def to_device(x, device):
    if x.device == ("cpu" if device in (None, "cpu") else "cuda"):
        return x
    return ToDevice(device)(x)
