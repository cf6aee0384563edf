"""Creation functions: zeros, ones, arange, randn, rand (float32 on the active backend's device)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, random
from .tensor import DEFAULT_DTYPE, Tensor


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _device(device: str | None) -> str:
    return backend.default_device() if device is None else device


def zeros(*shape: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    xp = backend.module_for_device(_device(device))
    return Tensor(xp.zeros(_shape(shape), dtype=dtype or DEFAULT_DTYPE), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    xp = backend.module_for_device(_device(device))
    return Tensor(xp.ones(_shape(shape), dtype=dtype or DEFAULT_DTYPE), requires_grad=requires_grad)


def zeros_like(x: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def ones_like(x: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
           device: str | None = None) -> Tensor:
    """Like numpy.arange; integers stay int64 unless a dtype is given."""
    xp = backend.module_for_device(_device(device))
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = DEFAULT_DTYPE
    return Tensor(xp.asarray(values, dtype=dtype))


def randn(*shape: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the seeded generator of the device."""
    device = _device(device)
    array = random.generator(device).standard_normal(_shape(shape), dtype=dtype or DEFAULT_DTYPE)
    return Tensor(array, requires_grad=requires_grad)


def rand(*shape: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from the seeded generator of the device."""
    device = _device(device)
    array = random.generator(device).random(_shape(shape), dtype=dtype or DEFAULT_DTYPE)
    return Tensor(array, requires_grad=requires_grad)


def randn_like(x: Tensor) -> Tensor:
    return randn(x.shape, dtype=x.dtype, device=x.device)


def rand_like(x: Tensor) -> Tensor:
    return rand(x.shape, dtype=x.dtype, device=x.device)
