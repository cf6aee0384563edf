"""Convolution and batch-normalization layers, with PyTorch's weight layouts and initialisation.

Conv2d           weight (out_channels, in_channels, kh, kw), fan_in = in_channels * kh * kw
ConvTranspose2d  weight (in_channels, out_channels, kh, kw), fan_in = out_channels * kh * kw
                 (PyTorch reads fan_in from the weight's second axis for both)
Weight and bias are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default.

BatchNorm1d / BatchNorm2d keep running_mean, running_var and num_batches_tracked as buffers (in
the state dict, moved by .to()); train() normalizes with batch statistics and updates them,
eval() normalizes with them.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..ops.conv import Pair, as_pair
from ..tensor import Array, Tensor
from . import functional as F
from .layers import uniform_parameter
from .module import Module, Parameter


class Conv2d(Module):
    """y = conv2d(x, W) + b:  (N, in_channels, H, W) -> (N, out_channels, OH, OW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Pair, stride: int | Pair = 1,
                 padding: int | Pair = 0, dilation: int | Pair = 1, bias: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = as_pair(kernel_size, "kernel_size", "Conv2d")
        self.stride, self.padding, self.dilation = stride, padding, dilation
        bound = 1 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        self.weight = uniform_parameter((out_channels, in_channels) + self.kernel_size, bound)
        self.bias = uniform_parameter((out_channels,), bound) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class ConvTranspose2d(Module):
    """y = conv_transpose2d(x, W) + b:  (N, in_channels, H, W) -> (N, out_channels, OH, OW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Pair, stride: int | Pair = 1,
                 padding: int | Pair = 0, output_padding: int | Pair = 0, bias: bool = True,
                 dilation: int | Pair = 1) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = as_pair(kernel_size, "kernel_size", "ConvTranspose2d")
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.output_padding = output_padding
        bound = 1 / math.sqrt(out_channels * self.kernel_size[0] * self.kernel_size[1])
        self.weight = uniform_parameter((in_channels, out_channels) + self.kernel_size, bound)
        self.bias = uniform_parameter((out_channels,), bound) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; subclasses say which input ranks they take."""

    input_ranks: tuple[int, ...] = ()

    input_shapes: tuple[str, ...] = ()
    weight: Parameter | None
    bias: Parameter | None
    running_mean: Array | None
    running_var: Array | None
    num_batches_tracked: Array

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        xp = backend.module_for_device(backend.default_device())
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=np.float32))
            self.bias = Parameter(xp.zeros(num_features, dtype=np.float32))
        else:
            self.weight = self.bias = None
        self.track_running_stats = track_running_stats
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, dtype=np.float32))
            self.register_buffer("running_var", xp.ones(num_features, dtype=np.float32))
            self.register_buffer("num_batches_tracked", xp.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.input_ranks:
            shapes = " or ".join(self.input_shapes)
            raise ValueError(f"{type(self).__name__}: expected an input {shapes}, got shape {x.shape}")
        updating = self.training and self.track_running_stats
        if updating:
            self.num_batches_tracked += 1
        # momentum=None is PyTorch's cumulative average: the k-th batch gets weight 1/k, kept as a
        # device scalar (float() on a CuPy counter would sync with the GPU every forward)
        momentum = (1 / self.num_batches_tracked if updating and self.momentum is None
                    else self.momentum)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training or not self.track_running_stats,
                            momentum=momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C."""

    input_ranks = (2, 3)
    input_shapes = ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel C."""

    input_ranks = (4,)
    input_shapes = ("(N, C, H, W)",)
