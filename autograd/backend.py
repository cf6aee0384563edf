"""The one place that decides where arrays live and which kernels run the hot paths.

    backend   arrays live     hot paths run as
    numpy     host memory     plain NumPy (the reference, and the one to read)
    numba     host memory     Numba-compiled kernels
    cupy      GPU memory      CuPy

`array_module(x)` gives the module (numpy or cupy) that owns an array, so op code is written
once as `xp.exp(x)`.  `kernel(name)` gives the active backend's implementation of a hot path;
every kernel has a NumPy reference in `autograd/kernels/reference.py` with the same signature.

The backend is chosen by `set_backend(name)`, `with use_backend(name):`, or the MINIGEN_BACKEND
environment variable (read once, at import).  Nothing is compiled at import: the Numba kernels
compile on their first call.
"""
import contextlib
import importlib
import os

import numpy as np

BACKENDS = ("numpy", "numba", "cupy")

_state = {"name": "numpy", "kernels": None}


class BackendError(RuntimeError):
    """Raised when a backend or a device is asked for that this machine cannot provide."""


def cupy_or_none():
    """The cupy module if it is importable and sees a CUDA device, else None."""
    try:
        import cupy
    except ImportError:
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # CUDA driver missing or broken: no usable device
        return None
    return cupy


def require_cupy():
    cupy = cupy_or_none()
    if cupy is None:
        raise BackendError(
            "the cupy backend needs CuPy and a CUDA GPU: install it with "
            "`pip install minigen[gpu]` (cupy-cuda12x) on a machine with an NVIDIA driver")
    return cupy


def require_numba():
    try:
        import numba  # noqa: F401  (imported to check it is there; kernels import it lazily)
    except ImportError as exc:
        raise BackendError("the numba backend needs Numba: `pip install numba`") from exc


_ENGINE_KERNELS = {"numba": "autograd.kernels.numba_kernels", "cupy": "autograd.kernels.cupy_kernels"}
_registered = []        # kernels added from outside the engine: (reference table, {backend: module path})


def register_kernels(reference, **modules):
    """Add kernels to every backend's table: `reference` maps name -> NumPy function; `modules` maps
    a backend name ("numba", "cupy") to the import path of a module whose KERNELS dict replaces
    those references on that backend (imported only when that backend is chosen)."""
    _registered.append((dict(reference), dict(modules)))
    _state["kernels"] = None                            # the active table is rebuilt on the next call


def _load_kernels(name):
    """The kernel table of a backend: a dict name -> function."""
    from .kernels import reference
    table = dict(reference.KERNELS)
    if name in _ENGINE_KERNELS:
        table.update(importlib.import_module(_ENGINE_KERNELS[name]).KERNELS)
    for extra, modules in _registered:
        table.update(extra)
        if name in modules:
            table.update(importlib.import_module(modules[name]).KERNELS)
    return table


def set_backend(name):
    """Make `name` ("numpy", "numba" or "cupy") the active backend."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "cupy":
        require_cupy()
    if name == "numba":
        require_numba()
    _state["kernels"] = _load_kernels(name)
    _state["name"] = name
    _state.pop("environment_error", None)


def get_backend():
    """The name of the active backend."""
    _raise_environment_error()
    return _state["name"]


def _raise_environment_error():
    if "environment_error" in _state:
        raise BackendError(_state["environment_error"])


@contextlib.contextmanager
def use_backend(name):
    """Run a block with another backend, then restore the previous one."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def kernel(name):
    """The active backend's implementation of the hot path `name`."""
    table = _state["kernels"]
    if table is None:
        _raise_environment_error()
        table = _state["kernels"] = _load_kernels(_state["name"])
    return table[name]


@contextlib.contextmanager
def kernels_wrapped(wrap):
    """Run a block with each kernel of the active backend replaced by wrap(kernel, compiled), where
    `compiled` says whether it is the backend's own version rather than the NumPy reference (what
    autograd.costs counts as one call)."""
    table = _state["kernels"] if _state["kernels"] is not None else _load_kernels(get_backend())
    references = _load_kernels("numpy")
    _state["kernels"] = {name: wrap(function, function is not references.get(name))
                         for name, function in table.items()}
    try:
        yield
    finally:
        _state["kernels"] = table


def default_device():
    return "cuda" if _state["name"] == "cupy" else "cpu"


def array_module(x):
    """numpy or cupy, whichever owns the array `x` (the `xp` of the op code)."""
    if type(x) is np.ndarray:
        return np
    if type(x).__module__.startswith("cupy"):
        return importlib.import_module("cupy")
    return np


def module_for_device(device):
    if device in (None, "cpu"):
        return np
    if device in ("cuda", "gpu") or str(device).startswith("cuda"):
        return require_cupy()
    raise BackendError(f"unknown device {device!r}; use 'cpu' or 'cuda'")


def device_of(x):
    return "cuda" if type(x).__module__.startswith("cupy") else "cpu"


def to_device(array, device):
    """Copy an array to `device` ("cpu" or "cuda"); a no-op when it is already there."""
    if device_of(array) == ("cuda" if device not in (None, "cpu") else "cpu"):
        return array
    if device in (None, "cpu"):
        return array.get()
    return module_for_device(device).asarray(array)


def to_numpy(array):
    """A NumPy array on the host (the package boundary).  An array with CuPy's `.get()` (a CuPy
    array, or autograd.costs' stand-in for one) is copied back with it."""
    return array.get() if hasattr(array, "get") and hasattr(array, "shape") else np.asarray(array)


def _backend_from_environment():
    """Choose the backend MINIGEN_BACKEND names.  One this machine cannot provide does not break
    the import: numpy stays active and the error is raised by the first call that needs a backend
    (get_backend, kernel), until set_backend chooses one explicitly."""
    requested = os.environ.get("MINIGEN_BACKEND")
    if not requested:
        return
    try:
        set_backend(requested)
    except BackendError as exc:
        _state["environment_error"] = f"MINIGEN_BACKEND={requested}: {exc}"


_backend_from_environment()


def scatter_add(target, index, values):
    """target[index] += values, where repeated indices add up (the backward of indexing)."""
    if device_of(target) == "cuda":
        import cupyx
        cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)
