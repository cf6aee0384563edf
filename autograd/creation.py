"""Creation functions: zeros, ones, arange, randn, rand (float32 on the active backend's device)."""
import numpy as np

from . import backend, random
from .tensor import DEFAULT_DTYPE, Tensor


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _device(device):
    return backend.default_device() if device is None else device


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    xp = backend.module_for_device(_device(device))
    return Tensor(xp.zeros(_shape(shape), dtype=dtype or DEFAULT_DTYPE), requires_grad=requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    xp = backend.module_for_device(_device(device))
    return Tensor(xp.ones(_shape(shape), dtype=dtype or DEFAULT_DTYPE), requires_grad=requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None):
    """Like numpy.arange; integers stay int64 unless a dtype is given."""
    xp = backend.module_for_device(_device(device))
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = DEFAULT_DTYPE
    return Tensor(xp.asarray(values, dtype=dtype))


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the seeded generator of the device."""
    device = _device(device)
    array = random.generator(device).standard_normal(_shape(shape), dtype=dtype or DEFAULT_DTYPE)
    return Tensor(array, requires_grad=requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1) from the seeded generator of the device."""
    device = _device(device)
    array = random.generator(device).random(_shape(shape), dtype=dtype or DEFAULT_DTYPE)
    return Tensor(array, requires_grad=requires_grad)


def randn_like(x):
    return randn(x.shape, dtype=x.dtype, device=x.device)


def rand_like(x):
    return rand(x.shape, dtype=x.dtype, device=x.device)
