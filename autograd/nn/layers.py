"""Layers: Modules that hold Parameters and call autograd.nn.functional.

Initialisation follows PyTorch: Linear draws weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
from the seeded generator (autograd.manual_seed).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend, ops, random
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


def uniform_parameter(shape: tuple[int, ...], bound: float) -> Parameter:
    """A Parameter drawn from U(-bound, bound) on the active backend's device."""
    values = random.generator("cpu").uniform(-bound, bound, size=shape).astype(np.float32)
    return Parameter(backend.to_device(values, backend.default_device()))


class Sequential(Module):
    """Apply the given modules in order."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class Linear(Module):
    """y = x W^T + b,  W: (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = uniform_parameter((out_features, in_features), bound)
        self.bias = uniform_parameter((out_features,), bound) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}"


class LayerNorm(Module):
    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5) -> None:
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        device = backend.default_device()
        xp = backend.module_for_device(device)
        self.weight = Parameter(xp.ones(self.normalized_shape, dtype=np.float32))
        self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class Embedding(Module):
    """A table of `num_embeddings` learned vectors of size `embedding_dim`, initialised N(0, 1)."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        values = random.generator("cpu").standard_normal((num_embeddings, embedding_dim)).astype(np.float32)
        self.weight = Parameter(backend.to_device(values, backend.default_device()))

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight)


class Dropout(Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)


class _Activation(Module):
    """A Module that applies `function` elementwise; subclasses name the function."""

    @staticmethod
    def function(x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.function(x)


class ReLU(_Activation):
    function = staticmethod(ops.relu)


class Tanh(_Activation):
    function = staticmethod(ops.tanh)


class Sigmoid(_Activation):
    function = staticmethod(ops.sigmoid)


class Softplus(_Activation):
    function = staticmethod(ops.softplus)


class SiLU(_Activation):
    """x * sigmoid(x)"""
    function = staticmethod(lambda x: x * ops.sigmoid(x))


class GELU(_Activation):
    """x * Phi(x), with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    one fused node (autograd/ops/fused.py)"""
    function = staticmethod(F.gelu)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)
