"""Stateless neural-network functions (PyTorch's torch.nn.functional, on the engine).

Losses take `reduction="mean" | "sum" | "none"` as PyTorch's do.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import random
from ..backend import array_module, kernel, to_device
from ..function import Function
from ..ops import linear, log_softmax, mean, reshape, sigmoid, sqrt, var
from ..ops.conv import avg_pool2d, conv2d, conv_transpose2d, upsample_nearest
from ..ops.fused import gelu, layer_norm_last_axis
from ..tensor import Array, Operand, Tensor

__all__ = ["linear", "gelu", "layer_norm", "embedding", "dropout", "binary_cross_entropy_with_logits",
           "cross_entropy", "mse_loss", "conv2d", "conv_transpose2d", "avg_pool2d", "upsample_nearest",
           "batch_norm"]


REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    """The per-element losses averaged, summed, or returned as they are."""
    check_reduction(op, reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(name: str, a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name}: input shape {a.shape} and target shape {b.shape} differ")


class BCEWithLogits(Function):
    """l(z, t) = max(z, 0) - z t + log(1 + e^-|z|) = -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))]

    dl/dz = sigmoid(z) - t,   dl/dt = -z
    """

    def forward(self, logits: Array, targets: Array) -> Array:
        return kernel("bce_with_logits")(logits, targets)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        logits, targets = self.inputs
        needs_logits, needs_targets = self.needs_input_grad
        g_logits = gy * (sigmoid(logits) - targets) if needs_logits else None
        g_targets = -gy * logits if needs_targets else None
        return g_logits, g_targets


def binary_cross_entropy_with_logits(logits: Tensor, targets: Operand, reduction: str = "mean") -> Tensor:
    """Bernoulli negative log-likelihood of `targets` under probabilities sigmoid(logits)."""
    if not isinstance(targets, Tensor):                  # on the logits' device: no host round trip
        targets = Tensor(array_module(logits.data).asarray(targets, dtype=logits.dtype))
    _same_shape("binary_cross_entropy_with_logits", logits, targets)
    return _reduce("binary_cross_entropy_with_logits", BCEWithLogits()(logits, targets), reduction)


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[target] for logits (N, C) or (N, T, C) and integer targets (N,) / (N, T)."""
    target_array = _index_array(targets, logits)
    if logits.shape[:-1] != target_array.shape:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need targets of shape "
                         f"{logits.shape[:-1]}, got {target_array.shape}")
    _check_indices("cross_entropy", target_array, logits.shape[-1])
    flat = reshape(log_softmax(logits, axis=-1), -1, logits.shape[-1])       # (N*T, C)
    rows = array_module(target_array).arange(flat.shape[0])
    picked = flat[rows, target_array.reshape(-1)]                             # (N*T,)
    return _reduce("cross_entropy", reshape(-picked, target_array.shape), reduction)


def mse_loss(input: Tensor, target: Operand, reduction: str = "mean") -> Tensor:
    if not isinstance(target, Tensor):                   # on the input's device: no host round trip
        target = Tensor(array_module(input.data).asarray(target, dtype=input.dtype))
    _same_shape("mse_loss", input, target)
    difference = input - target
    return _reduce("mse_loss", difference * difference, reduction)


def layer_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the last len(normalized_shape) axes, then scale and shift."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[-len(normalized_shape):] != normalized_shape:
        raise ValueError(f"layer_norm: input shape {x.shape} does not end in {normalized_shape}")
    if len(normalized_shape) == 1 and weight is not None and bias is not None:
        return layer_norm_last_axis(x, weight, bias, eps)                    # one fused node
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    centred = x - mean(x, axis=axes, keepdims=True)
    variance = mean(centred * centred, axis=axes, keepdims=True)           # biased, as PyTorch's
    y = centred / sqrt(variance + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _index_array(indices: Any, like: Tensor) -> Array:
    """Integer indices (a Tensor, an array or a list) as an array on the device of Tensor `like`."""
    index = indices.data if isinstance(indices, Tensor) else indices
    return to_device(index if hasattr(index, "shape") else np.asarray(index), like.device)


def _check_indices(op: str, index: Array, count: int, error: type[Exception] = ValueError) -> None:
    """Integer indices in [0, count), else `error` naming the first bound crossed.  The one
    deliberate host sync: CuPy wraps out-of-range indices silently and NumPy reads a negative one
    from the end, so both would pick a wrong row without a word."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {index.dtype}")
    if not index.size:
        return
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= count:
        bad = low if low < 0 else high
        raise error(f"{op}: index {bad} is out of range; indices must lie in [0, {count})")


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Rows of `weight` (V, D) picked by integer `indices` (any shape) -> (..., D).  Repeated
    indices add their gradients."""
    index = _index_array(indices, weight)
    _check_indices("embedding", index, weight.shape[0], error=IndexError)
    return weight[index]


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (inverted dropout)."""
    if not training or p == 0:
        return x
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    keep = random.generator(x.device).random(x.shape) >= p
    return x * Tensor((keep / (1 - p)).astype(x.dtype))


def batch_norm(x: Tensor, running_mean: Tensor | Array | None, running_var: Tensor | Array | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float | Array = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization (Ioffe and Szegedy 2015) over every axis of x (N, C, ...) but the channels.

    training:  y = (x - mean_B) / sqrt(var_B + eps) * weight + bias       var_B biased (ddof=0)
               running_mean <- (1 - momentum) running_mean + momentum mean_B              (in place)
               running_var  <- (1 - momentum) running_var + momentum var_B m / (m - 1)    (unbiased)
    eval:      the same with running_mean and running_var in place of the batch statistics.
    m counts the values per channel (N, or N*H*W).  The running buffers are arrays (or Tensors)
    of shape (C,); with None the batch statistics are used in eval too.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C, ...) of at least 2 axes, got shape {x.shape}")
    channels = x.shape[1]
    stat_shape = (1, channels) + (1,) * (x.ndim - 2)                          # (1, C, 1, 1)
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(f"batch_norm: input of shape {x.shape} has {channels} channels, but "
                             f"{name} has shape {tuple(value.shape)}")
    axes = (0,) + tuple(range(2, x.ndim))
    count = x.size // max(channels, 1)
    if training or running_mean is None:
        if training and count < 2:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input "
                             f"of shape {x.shape}")
        batch_mean = mean(x, axis=axes, keepdims=True)
        batch_var = var(x, axis=axes, keepdims=True)
        if training and running_mean is not None:
            _update_running_stats(running_mean, running_var, batch_mean.data, batch_var.data, count, momentum)
        centre, spread = batch_mean, batch_var
    else:
        centre = Tensor(_raw(running_mean).reshape(stat_shape))
        spread = Tensor(_raw(running_var).reshape(stat_shape))
    y = (x - centre) / sqrt(spread + eps)
    if weight is not None:
        y = y * reshape(weight, stat_shape)
    if bias is not None:
        y = y + reshape(bias, stat_shape)
    return y


def _raw(value: Tensor | Array) -> Array:
    return value.data if isinstance(value, Tensor) else value


def _update_running_stats(running_mean: Tensor | Array, running_var: Tensor | Array, batch_mean: Array,
                          batch_var: Array, count: int, momentum: float | Array) -> None:
    """Exponential moving averages of the batch statistics, updated in place."""
    running_mean, running_var = _raw(running_mean), _raw(running_var)
    running_mean *= 1 - momentum
    running_mean += momentum * batch_mean.reshape(-1)
    running_var *= 1 - momentum
    running_var += (momentum * count / (count - 1)) * batch_var.reshape(-1)
