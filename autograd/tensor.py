"""Tensor: an array (`.data`), its gradient (`.grad`), and the Function that made it (`.creator`).

A Tensor is a thin wrapper.  The array lives in `.data` (a numpy or cupy ndarray); `.grad` is a
Tensor of the same shape once a backward pass has reached it; `.creator` is the Function whose
forward produced it (None for leaves, the tensors a user makes).  The arithmetic operators and
most methods are attached by `autograd/ops/__init__.py`, so that every computation goes through a
differentiable Function.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import backend
from .costs import CountingArray

if TYPE_CHECKING:
    from . import ops
    from .function import Function

DEFAULT_DTYPE = np.float32

Array = Any          # a numpy.ndarray or a cupy.ndarray: whichever the tensor's device holds
Operand = Union["Tensor", Array, float, int, bool]     # what an op accepts: constants become Tensors


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__, not an object array

    data: Array
    grad: Tensor | None
    requires_grad: bool
    creator: Function | None
    generation: int

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if type(data) is not np.ndarray:
            if isinstance(data, np.generic):
                data = np.asarray(data)  # a reduction's numpy scalar -> 0-d array, dtype kept
            elif not _is_device_array(data):
                data = as_array(data)    # lists and Python scalars -> float32
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.generation = 0

    # -- what the array is -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = str(backend.to_numpy(self.data)).replace("\n", "\n" + " " * 7)
        grad = ", requires_grad=True" if self.requires_grad else ""
        device = ", device='cuda'" if self.device == "cuda" else ""
        return f"tensor({body}{grad}{device})"

    # -- leaving the graph -----------------------------------------------------------
    def detach(self) -> Tensor:
        """The same array, cut from the graph."""
        return Tensor(self.data)

    def numpy(self) -> np.ndarray:
        """The array as a NumPy array on the host (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def item(self) -> Any:
        return self.data.item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def to(self, device: str) -> Tensor:
        """This tensor on `device` ("cpu" or "cuda"); gradients flow back across the copy."""
        from .ops.shape import to_device
        return to_device(self, device)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # -- the graph walk ----------------------------------------------------------------
    def backward(self, grad: Operand | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (PyTorch's semantics).

        Gradients add up across calls, as in PyTorch: zero them between steps.
        """
        from .function import run_backward
        run_backward([self], [grad], retain_graph=retain_graph or create_graph,
                     create_graph=create_graph)

    if TYPE_CHECKING:
        # Operators and methods that autograd/ops/__init__.py attaches (the ops import Tensor, so
        # they are attached after both exist); each has the signature of the function it is.
        __add__ = __radd__ = ops.add
        __sub__ = __rsub__ = ops.sub
        __mul__ = __rmul__ = ops.mul
        __truediv__ = __rtruediv__ = ops.div
        __pow__ = __rpow__ = ops.pow
        __matmul__ = __rmatmul__ = matmul = ops.matmul
        __neg__ = ops.neg
        __abs__ = abs = ops.abs
        __getitem__ = ops.getitem
        exp, log, log1p, sqrt, sin, cos = ops.exp, ops.log, ops.log1p, ops.sqrt, ops.sin, ops.cos
        tanh, sigmoid, relu, clip, astype = ops.tanh, ops.sigmoid, ops.relu, ops.clip, ops.astype
        sum, mean, var, max, min = ops.sum, ops.mean, ops.var, ops.max, ops.min
        logsumexp, softmax, log_softmax = ops.logsumexp, ops.softmax, ops.log_softmax
        reshape = view = ops.reshape
        transpose, swapaxes, flatten, squeeze = ops.transpose, ops.swapaxes, ops.flatten, ops.squeeze
        expand_dims, broadcast_to = ops.expand_dims, ops.broadcast_to

        def __lt__(self, other: Operand) -> Tensor: ...
        def __le__(self, other: Operand) -> Tensor: ...
        def __gt__(self, other: Operand) -> Tensor: ...
        def __ge__(self, other: Operand) -> Tensor: ...
        def __eq__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: object) -> Tensor: ...  # type: ignore[override]
        @property
        def T(self) -> Tensor: ...


def _is_device_array(data: Any) -> bool:
    """A CuPy array, or the step-cost counter's stand-in for one (autograd/costs.py)."""
    return (type(data).__name__ == "ndarray" and type(data).__module__.startswith("cupy")
            or type(data) is CountingArray)


def as_array(data: Any, dtype: Any = None, device: str | None = None) -> Array:
    """An ndarray on `device` from a list, scalar, ndarray or Tensor.

    dtype=None keeps an ndarray's dtype; Python scalars and lists become float32.  Complex values,
    strings and objects are refused with a TypeError.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        check_real(np.dtype(dtype))
    if device is None:
        device = backend.device_of(data) if hasattr(data, "dtype") else backend.default_device()
    xp = backend.module_for_device(device)
    if not hasattr(data, "dtype") or not hasattr(data, "shape"):
        array = np.asarray(data)
        check_real(array.dtype)
        if dtype is None and not hasattr(data, "dtype") and array.dtype.kind in "iuf":
            dtype = DEFAULT_DTYPE
        return xp.asarray(array, dtype=dtype)
    check_real(data.dtype)
    data = xp.asarray(backend.to_device(data, device))  # numpy scalars become 0-d arrays
    return data if dtype is None or data.dtype == dtype else data.astype(dtype)


def check_real(dtype: np.dtype) -> None:
    """Refuse what a Tensor cannot hold: complex numbers (a cast would drop the imaginary part
    with only a warning), strings and Python objects.  Booleans, integers and floats pass."""
    if dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot hold values of dtype {dtype}; expected real numbers "
                        "(bool, integer or float)")


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, device: str | None = None) -> Tensor:
    """A new leaf Tensor holding a copy of `data`."""
    array = as_array(data, dtype, device)
    if isinstance(data, Tensor) or array is data:
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)
