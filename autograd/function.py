"""Function: one differentiable step of a computation, and the walk that differentiates a graph.

A Function subclass writes `forward` on raw arrays (numpy or cupy: `self.xp` is whichever module
owns them) and `backward` on Tensors.  Because backward is itself made of Tensor operations, the
gradient of a gradient comes for free: `grad(..., create_graph=True)` simply records the backward
pass as a new graph.  By default backward runs under `no_grad`, so it records nothing.

The engine, not the op, undoes broadcasting: every gradient an op returns is summed down to its
input's shape here (`_unbroadcast`), in one place.

The walk is iterative and ordered by generation (a Function's generation is one more than the
latest of its inputs), so each tensor's gradient is complete before its creator is visited, and a
graph of any depth works without recursion.  Functions of one generation are visited
latest-recorded first (a counter numbers them as they are recorded), so the order in which a
tensor's gradients are summed depends only on the program, never on memory addresses: float32 sums,
whose value depends on their order, come out bit-identical every time the same computation runs.
Unless `retain_graph=True`, every visited Function drops its inputs and saved arrays afterwards, so
the step's intermediates can be freed at once.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Union, cast

import numpy as np

from . import backend, costs
from .tensor import Array, Operand, Tensor, check_real

# what a backward returns: one gradient per input (None where an input needs none)
Gradients = Union[Tensor, None, tuple[Union[Tensor, None], ...]]

_grad_mode = {"enabled": True}

FREED_MESSAGE = ("Trying to backward through the graph a second time: its saved values were freed "
                 "after the first backward. Pass retain_graph=True to the first backward call.")


# phrases of NumPy's and CuPy's shape errors (broadcasting, matmul, concatenate)
_LIBRARY_SHAPE_ERRORS = ("broadcast", "core dimension", "aligned", "must match exactly", "mismatch")


_anomaly_mode = {"enabled": False, "in_backward": False}

# True while detect_anomaly or autograd.costs.count_step is on: Function calls then take the watched
# path (`_watched_call`), so the common path pays for neither.
_watch = {"on": False}

_recorded = itertools.count()     # numbers Functions in the order they join a graph


def update_watch() -> None:
    """Decide whether Function calls take the watched path (after a watcher starts or stops)."""
    _watch["on"] = _anomaly_mode["enabled"] or costs.tally is not None


@contextlib.contextmanager
def detect_anomaly(enabled: bool = True) -> Iterator[None]:
    """Context manager: check every op's output (forward and backward) and raise at the first one
    that is not finite, naming the op and its input shapes.  Slow; for hunting a NaN."""
    previous = _anomaly_mode["enabled"]
    _anomaly_mode["enabled"] = enabled
    update_watch()
    try:
        yield
    finally:
        _anomaly_mode["enabled"] = previous
        update_watch()


def _check_finite(function: Function, phase: str, outputs: Sequence[Array], arrays: Sequence[Array]) -> None:
    for out in outputs:
        if out is not None and out.dtype.kind == "f" and not bool(backend.array_module(out).isfinite(out).all()):
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise FloatingPointError(f"{type(function).__name__}.{phase} produced a non-finite value "
                                     f"(inputs of shape {shapes})")


def is_grad_enabled() -> bool:
    return _grad_mode["enabled"]


@contextlib.contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
    previous = _grad_mode["enabled"]
    _grad_mode["enabled"] = enabled
    try:
        yield
    finally:
        _grad_mode["enabled"] = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: operations inside record no graph (evaluation, sampling, updates)."""
    return set_grad_enabled(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    return set_grad_enabled(True)


_constants: dict[tuple[Any, ...], Tensor] = {}   # (value, its type, dtype, module) -> a 0-d constant
_MAX_CONSTANTS = 1024


def as_operand(value: Operand, like: Tensor) -> Tensor:
    """A Tensor for an op input: Tensors pass through; scalars and arrays become constants.

    A Python scalar takes the dtype of the tensor it meets, so `x * 2` stays float32.  Scalar
    constants are made once and reused (no op writes into its inputs): on CuPy each new one would
    be a copy from the host.
    """
    if isinstance(value, Tensor):
        return value
    data = like.data
    xp = np if type(data) is np.ndarray else backend.array_module(data)
    if isinstance(value, (int, float, bool)) and data.dtype.kind == "f":
        key = (value, type(value), data.dtype, xp)
        constant = _constants.get(key)
        if constant is None:
            if len(_constants) >= _MAX_CONSTANTS:
                _constants.clear()
            constant = _constants[key] = Tensor(xp.asarray(value, dtype=data.dtype))
        return constant
    array = xp.asarray(value)
    check_real(array.dtype)
    return Tensor(array)


def _operands(inputs: tuple[Operand, ...]) -> Sequence[Tensor]:
    """Every input as a Tensor; constants take their dtype from the first Tensor among them."""
    like = next((x for x in inputs if isinstance(x, Tensor)), None)
    if like is None:
        like = Tensor(inputs[0])
    return [x if isinstance(x, Tensor) else as_operand(x, like) for x in inputs]


class Function:
    """Base class of every differentiable operation.  One output per Function."""

    __slots__ = ("inputs", "saved", "output_ref", "generation", "sequence", "xp", "freed", "__dict__")

    shape_mismatch = "do not broadcast"   # how a shape error reads for this op (MatMul: "do not align")

    inputs: Sequence[Tensor]
    saved: tuple[Any, ...]
    output_ref: weakref.ref[Tensor]
    generation: int
    sequence: int
    xp: Any                               # numpy or cupy: the module that owns the inputs
    freed: bool

    def __call__(self, *operands: Operand) -> Tensor:
        inputs = cast("Sequence[Tensor]", operands)       # the common case: nothing to convert
        for x in operands:
            if not isinstance(x, Tensor):
                inputs = _operands(operands)
                break
        arrays = [x.data for x in inputs]
        first = arrays[0]
        if type(first) is np.ndarray:
            self.xp = np
            for a in arrays:
                if type(a) is not np.ndarray:
                    self._check_devices(arrays)
                    break
        else:
            self.xp = backend.array_module(first)
            if len(arrays) > 1:
                self._check_devices(arrays)
        if _watch["on"]:
            return self._watched_call(inputs, arrays)
        out = Tensor(self._forward(arrays))
        if _grad_mode["enabled"]:
            for x in inputs:
                if x.requires_grad:
                    self._record(inputs, out)
                    break
        return out

    def _forward(self, arrays: Sequence[Array]) -> Array:
        try:
            return self.forward(*arrays)
        except (ValueError, IndexError) as exc:
            raise self._shape_error(arrays, exc) from None

    def _watched_call(self, inputs: Sequence[Tensor], arrays: list[Array]) -> Tensor:
        """__call__ while a watcher is on: the step-cost counter sees the call and its arrays,
        detect_anomaly checks the output."""
        if costs.tally is not None:
            arrays = costs.tally.function_called(arrays)
        out = Tensor(self._forward(arrays))
        if _anomaly_mode["enabled"] and not _anomaly_mode["in_backward"]:
            _check_finite(self, "forward", [out.data], arrays)
        if _grad_mode["enabled"] and any(x.requires_grad for x in inputs):
            self._record(inputs, out)
        return out

    def _record(self, inputs: Sequence[Tensor], out: Tensor) -> None:
        """Link `out` into the graph: it keeps this Function, which keeps the inputs (not `out`)."""
        self.inputs = inputs
        self.generation = generation = max([x.generation for x in inputs])
        self.sequence = next(_recorded)
        self.freed = False
        out.requires_grad = True
        out.creator = self
        out.generation = generation + 1
        self.output_ref = weakref.ref(out)

    def _shape_error(self, arrays: Sequence[Array], exc: Exception) -> Exception:
        """The array library's error, restated with this op's name and its input shapes.

        An error the op raised itself (already worded for the user) passes through unchanged."""
        name = type(self).__name__
        shapes = [tuple(a.shape) for a in arrays]
        if len(shapes) == 1:
            return type(exc)(f"{name}: input of shape {shapes[0]}: {exc}")
        if not any(marker in str(exc) for marker in _LIBRARY_SHAPE_ERRORS):
            return exc
        listed = " and ".join(str(s) for s in shapes)
        return type(exc)(f"{name}: shapes {listed} {self.shape_mismatch}")

    def _check_devices(self, arrays: Sequence[Array]) -> None:
        if len({backend.device_of(a) for a in arrays}) > 1:
            devices = ", ".join(backend.device_of(a) for a in arrays)
            raise backend.BackendError(
                f"{type(self).__name__}: inputs are on different devices ({devices}); "
                "move them with .to(device) first")

    # -- what subclasses use ---------------------------------------------------------
    def save_for_backward(self, *values: Any) -> None:
        self.saved = values

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """The saved values as constant Tensors (arrays) or as they were (Tensors)."""
        return tuple(v if isinstance(v, Tensor) else Tensor(v) for v in self.saved)

    @property
    def output(self) -> Tensor:
        """The Tensor this Function produced (backward of y = f(x) often needs y)."""
        out = self.output_ref()
        if out is None:
            raise RuntimeError(f"{type(self).__name__}: its output no longer exists")
        return out

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        return tuple(x.requires_grad for x in self.inputs)

    def forward(self, *arrays: Any) -> Array:
        raise NotImplementedError

    def backward(self, grad_output: Tensor) -> Gradients:
        raise NotImplementedError


def _unbroadcast(grad: Tensor, target: Tensor, function: Function) -> Tensor:
    """Sum `grad` down to `target`'s shape and dtype: broadcasting undone in one place."""
    grad_array, target_array = grad.data, target.data
    if grad_array.shape != target_array.shape:
        from .ops.shape import sum_to
        grad = sum_to(grad, target_array.shape)
        if grad.shape != target_array.shape:
            raise RuntimeError(f"{type(function).__name__}.backward returned a gradient of shape "
                               f"{grad.shape} for an input of shape {target.shape}")
    if grad.data.dtype != target_array.dtype and target_array.dtype.kind == "f":
        grad = grad.astype(target_array.dtype)
    return grad


def _sum(previous: Tensor | None, grad: Tensor) -> Tensor:
    """previous + grad (grad alone when there is no previous).  While the backward pass is recorded
    (create_graph) the sum is an op; otherwise it is plain arithmetic on the arrays, since an op
    would record nothing anyway."""
    if previous is None:
        return grad
    if _grad_mode["enabled"]:
        return previous + grad
    return Tensor(previous.data + grad.data)


def run_backward(outputs: Sequence[Tensor], grad_outputs: Sequence[Operand | None], retain_graph: bool = False,
                 create_graph: bool = False,
                 inputs: Sequence[Tensor] | None = None) -> tuple[Tensor | None, ...]:
    """Walk the graph from `outputs` back to its leaves.

    With `inputs=None`, gradients accumulate into the `.grad` of every leaf that requires one
    (Tensor.backward).  With a list of `inputs`, their gradients are returned instead and no
    `.grad` is touched (autograd.grad); with none, the returned tuple is empty.
    """
    grads: dict[Function, Tensor] = {}    # gradient of each Function's output, complete once it is popped
    heap: list[tuple[int, int, Function]] = []

    def push(function: Function) -> None:    # latest generation first; within one, latest recorded first
        if function not in grads:
            heapq.heappush(heap, (-function.generation, -function.sequence, function))

    wanted_leaves: dict[int, list[int]] = {}      # id of a wanted leaf or creator -> its positions
    wanted_creators: dict[int, list[int]] = {}
    results: dict[int, Tensor] = {}
    for i, x in enumerate(inputs or ()):
        (wanted_creators if x.creator is not None else wanted_leaves).setdefault(
            id(x.creator) if x.creator is not None else id(x), []).append(i)

    def deliver_leaf(leaf: Tensor, grad: Tensor) -> None:
        if inputs is None:
            leaf.grad = _sum(leaf.grad, grad)
        elif id(leaf) in wanted_leaves:
            results[id(leaf)] = _sum(results.get(id(leaf)), grad)

    def deliver(x: Tensor, grad: Tensor) -> None:
        creator = x.creator
        if creator is None:
            deliver_leaf(x, grad)
        else:
            push(creator)
            grads[creator] = _sum(grads.get(creator), grad)

    with set_grad_enabled(create_graph):
        for out, grad in zip(outputs, grad_outputs):
            if not out.requires_grad:
                raise RuntimeError("element 0 of tensors does not require grad and has no grad_fn")
            deliver(out, _root_grad(out, grad))

        visited = []
        while heap:
            function = heapq.heappop(heap)[2]
            if function.freed:
                raise RuntimeError(FREED_MESSAGE)
            grad_output = grads.pop(function)
            if wanted_creators and id(function) in wanted_creators:
                results[id(function)] = grad_output
            input_grads = _call_backward(function, grad_output)
            for x, gx in zip(function.inputs, input_grads):
                if gx is not None and x.requires_grad:
                    deliver(x, _unbroadcast(gx, x, function))
            visited.append(function)

    if not retain_graph:
        for function in visited:
            function.inputs = function.saved = ()
            function.freed = True
    if inputs is None:
        return ()
    gradients: list[Tensor | None] = [None] * len(inputs)
    for key, positions in list(wanted_leaves.items()) + list(wanted_creators.items()):
        for i in positions:
            gradients[i] = results.get(key)
    return tuple(gradients)


def _call_backward(function: Function, grad_output: Tensor) -> tuple[Tensor | None, ...]:
    """function.backward as a tuple; under detect_anomaly its results are checked as one step."""
    if not _anomaly_mode["enabled"]:
        grads = function.backward(grad_output)
        return grads if isinstance(grads, tuple) else (grads,)
    _anomaly_mode["in_backward"] = True
    try:
        grads = function.backward(grad_output)
    finally:
        _anomaly_mode["in_backward"] = False
    grads = grads if isinstance(grads, tuple) else (grads,)
    _check_finite(function, "backward", [g.data for g in grads if g is not None], [grad_output.data])
    return grads


def _root_grad(out: Tensor, grad: Operand | None) -> Tensor:
    if grad is None:
        if out.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs; "
                               f"this output has shape {out.shape}")
        return Tensor(backend.array_module(out.data).ones_like(out.data))
    if not isinstance(grad, Tensor):                     # on out's device: np.asarray would copy a
        grad = Tensor(backend.array_module(out.data).asarray(grad, dtype=out.dtype))   # CuPy array back
    if grad.shape != out.shape:
        raise RuntimeError(f"backward: grad of shape {grad.shape} for an output of shape {out.shape}")
    return grad


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Operand | None] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = True) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple (PyTorch's autograd.grad).

    With create_graph=True the returned gradients are themselves part of a graph and can be
    differentiated again (WGAN-GP's penalty, consensus optimization).  An input that the outputs
    do not depend on gets None.
    """
    output_list = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    input_list = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    grad_list: list[Operand | None]
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_list = [grad_outputs] * len(output_list)
    else:
        grad_list = list(grad_outputs)
    retain = create_graph if retain_graph is None else retain_graph
    return run_backward(output_list, grad_list, retain_graph=retain, create_graph=create_graph,
                        inputs=input_list)
