"""What one training step costs: graph nodes, array-library calls and reads back to the host.

On a GPU a small model's step is bound by how many kernels it launches and by every point where the
host waits for the device, not by its arithmetic.  Both can be counted on the CPU, by running one
step with counting on:

    nodes        Functions recorded into the graph (the forward pass)
    functions    Function calls, forward and backward (each pays the engine's bookkeeping once)
    calls        array-library calls, what a GPU launches: every ufunc (elementwise, reduction,
                 matmul), array function (where, concatenate, ...), cast, copy, gather and scatter;
                 a compiled kernel (Numba, CuPy) counts once, whatever it does inside.  Views
                 (reshape, transpose, broadcast_to, slices) and allocations count nothing.
    host_reads   values read back to the host (float, int, bool, .item(), .tolist(), .get(),
                 backend.to_numpy): on CuPy each one waits for the device to finish.

`count_step(step)` runs `step()` once and returns a StepCost.  While it runs, each array an op reads
or makes is a `CountingArray`: a NumPy array that counts the calls made on it and stands for a device
array (reading one back is a host read), so the count is the same on the numpy and numba backends
and says what the step would launch on a GPU.  Arrays that outlive the step stay CountingArrays but
stop counting and spreading.  Outside count_step nothing is counted and nothing is paid: a Function
call tests one flag it tests anyway (detect_anomaly's).

On the cupy backend the arrays are CuPy's, so `calls` and `host_reads` are None there; the nodes
and Function calls are counted all the same, and `forbid_host_sync` makes CuPy raise at any
synchronization instead.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend


@dataclass
class StepCost:
    """The counts of one step (see the module docstring); None where the backend cannot count."""
    nodes: int
    functions: int
    calls: int | None
    host_reads: int | None


class Tally:
    """The running counts of the step being counted."""

    def __init__(self) -> None:
        self.functions = self.calls = self.host_reads = 0
        self.depth = 0                     # > 0 inside a counted call: its own inner calls are not counted

    def function_called(self, arrays: list[Any]) -> list[Any]:
        """A Function is called on `arrays`: count it, and let its forward see counting arrays."""
        self.functions += 1
        return [counting(a) for a in arrays]

    def run(self, call: Callable[[], Any], counted: bool = True) -> Any:
        """call(), counted once when `counted` (and not inside another counted call)."""
        if counted and self.depth == 0:
            self.calls += 1
        self.depth += 1
        try:
            return call()
        finally:
            self.depth -= 1


tally: Tally | None = None                 # the running counts while count_step runs, else None


# functions that make views: free on every device
_VIEWS = {np.broadcast_to, np.reshape, np.transpose, np.swapaxes, np.moveaxis, np.squeeze,
          np.expand_dims, np.ravel}


class CountingArray(np.ndarray):
    """A NumPy array that counts, while a step is counted, the array-library calls made on it and
    the reads of its values back to the host (it stands for an array on a device)."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        outputs = kwargs.get("out")
        if outputs is not None:
            kwargs["out"] = tuple(plain(o) for o in outputs)
        arguments = [plain(x) for x in inputs]
        result = _counted(lambda: getattr(ufunc, method)(*arguments, **kwargs))
        if outputs is not None:
            return outputs[0] if len(outputs) == 1 else outputs
        return tuple(counting(r) for r in result) if isinstance(result, tuple) else counting(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        parent = super().__array_function__
        return counting(_counted(lambda: parent(func, types, args, kwargs), func not in _VIEWS))

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        parent = super().astype
        return _counted(lambda: parent(dtype, *args, **kwargs))

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        parent = super().copy
        return _counted(lambda: parent(*args, **kwargs))

    def __getitem__(self, index: Any) -> Any:           # a gather when the index holds arrays
        parent = super().__getitem__
        return _counted(lambda: parent(index), _is_advanced(index))

    def __setitem__(self, index: Any, value: Any) -> None:
        parent = super().__setitem__
        _counted(lambda: parent(index, plain(value)))

    # -- reads back to the host ----------------------------------------------------------------
    def get(self) -> np.ndarray:
        """A NumPy copy, as CuPy's .get() gives."""
        _host_read()
        return np.array(plain(self))

    def item(self, *args: Any) -> Any:
        _host_read()
        return plain(self).item(*args)

    def tolist(self) -> Any:
        _host_read()
        return plain(self).tolist()

    def __float__(self) -> float:
        _host_read()
        return float(plain(self))

    def __int__(self) -> int:
        _host_read()
        return int(plain(self))

    def __bool__(self) -> bool:
        _host_read()
        return bool(plain(self))


def _counted(call: Callable[[], Any], counted: bool = True) -> Any:
    return call() if tally is None else tally.run(call, counted)


def _host_read() -> None:
    if tally is not None and tally.depth == 0:
        tally.host_reads += 1


def _is_advanced(index: Any) -> bool:
    """True when an index gathers (it holds an array or a list), False for ints, slices, None, ..."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def plain(value: Any) -> Any:
    """A CountingArray as a plain NumPy array (the same memory); anything else as it is."""
    return value.view(np.ndarray) if isinstance(value, CountingArray) else value


def counting(value: Any) -> Any:
    """A NumPy array (or NumPy scalar: reductions give 0-d arrays, as on a device) as a
    CountingArray of the same memory while a step is counted; anything else as it is."""
    if tally is None:
        return value
    if type(value) is np.ndarray:
        return value.view(CountingArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(CountingArray)
    return value


def _watched_kernel(kernel: Callable[..., Any], compiled: bool) -> Callable[..., Any]:
    """A kernel that counts: a compiled one as one call on plain arrays (so that its compiled path
    runs), a NumPy reference by the calls it makes on counting arrays."""
    if compiled:
        def run(*args: Any) -> Any:
            return counting(_counted(lambda: kernel(*[plain(a) for a in args])))
    else:
        def run(*args: Any) -> Any:
            return kernel(*[counting(a) for a in args])
    return run


def count_step(step: Callable[[], Any]) -> StepCost:
    """Run `step()` once and count what it costs (see the module docstring).  The backend must
    not change during the step."""
    global tally
    from . import function
    if tally is not None:
        raise RuntimeError("count_step: a step is already being counted")
    host_arrays = backend.get_backend() != "cupy"
    first_node = next(function._recorded)
    tally = Tally()
    function.update_watch()
    try:
        with backend.kernels_wrapped(_watched_kernel):
            step()
        counts = tally
    finally:
        tally = None
        function.update_watch()
    nodes = next(function._recorded) - first_node - 1
    return StepCost(nodes, counts.functions, counts.calls if host_arrays else None,
                    counts.host_reads if host_arrays else None)


@contextlib.contextmanager
def forbid_host_sync() -> Iterator[None]:
    """On CuPy, raise cupyx.DeviceSynchronized at any synchronization inside the block (CuPy's own
    detector: reads back to the host, and calls that wait for the device).  A BackendError where
    CuPy or its detector is missing."""
    backend.require_cupy()
    import cupyx
    allow = getattr(cupyx, "allow_synchronize", None)
    if allow is None:
        raise backend.BackendError("forbid_host_sync: this CuPy has no cupyx.allow_synchronize")
    with allow(False):
        yield
