"""Convolution, transposed convolution, average pooling and nearest upsampling, on im2col.

im2col unrolls every receptive field of x (N, C, H, W) into a column, so that a convolution
becomes one matrix product (Chellapilla, Puri and Simard 2006):

    cols[n, (c, i, j), (oh, ow)] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]           (1)
    conv2d(x, W)[n, o, oh, ow]   = sum_{c,i,j} W[o, c, i, j] cols[n, (c, i, j), (oh, ow)]   (2)

col2im is the adjoint of im2col (every column entry is added back to the pixel it came from, so
overlapping patches add up).  A convolution is three Functions, each the others' backward:

    Conv2d(x, W)            y = conv2d(x, W) (+ b)                                            (2)
    ConvInputGrad(gy, W)    dx = col2im(W^T gy), the adjoint of (2) in x: a transposed convolution
    ConvWeightGrad(x, gy)   dW = gy cols(x)^T,   the adjoint of (2) in W

(2) is bilinear in (x, W), so <conv2d(x, W), gy> = <x, ConvInputGrad(gy, W)> = <W, ConvWeightGrad(x, gy)>
and the derivatives of each of the three are the other two: convolutions are twice differentiable
(WGAN-GP on an image critic differentiates its gradient).  Their kernels (autograd/kernels) compute
each as one matrix product per chunk of images, whose columns stay in the cache.

A transposed convolution is the adjoint of a convolution with the same weight, (Dumoulin and
Visin 2016, "A guide to convolution arithmetic"):

    conv_transpose2d(y, W) = col2im(W^T y)        so  <conv2d(x, W), y> = <x, conv_transpose2d(y, W)>   (3)

Layouts and output sizes are PyTorch's:
    conv2d            weight (O, C, kh, kw),      OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1
    conv_transpose2d  weight (C_in, C_out, kh, kw), OH = (H - 1) sh - 2 ph + dh (kh - 1) + op + 1
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ..backend import array_module, kernel
from ..function import Function
from ..kernels.reference import conv_output_size
from ..tensor import Array, Tensor

Pair = tuple[int, int]
Geometry = tuple[Pair, Pair, Pair, Pair]                 # kernel_size, stride, padding, dilation
from .linalg import matmul
from .shape import broadcast_to, concatenate, reshape, swapaxes


class Im2Col(Function):
    """cols = im2col(x)  (1);  its backward is col2im of the upstream gradient."""

    def __init__(self, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair) -> None:
        self.geometry = (kernel_size, stride, padding, dilation)

    def forward(self, x: Array) -> Array:
        self.input_shape = x.shape
        return kernel("im2col")(x, *self.geometry)

    def backward(self, gy: Tensor) -> Tensor:
        return Col2Im(self.input_shape, *self.geometry)(gy)


class Col2Im(Function):
    """x = col2im(cols), the adjoint of (1);  its backward is im2col of the upstream gradient."""

    def __init__(self, input_shape: Sequence[int], kernel_size: Pair, stride: Pair, padding: Pair,
                 dilation: Pair) -> None:
        self.input_shape = tuple(input_shape)
        self.geometry = (kernel_size, stride, padding, dilation)

    def forward(self, cols: Array) -> Array:
        return kernel("col2im")(cols, self.input_shape, *self.geometry)

    def backward(self, gy: Tensor) -> Tensor:
        return Im2Col(*self.geometry)(gy)


class Conv2d(Function):
    """y = conv2d(x, W) + b  (2);  dx = ConvInputGrad(gy, W),  dW = ConvWeightGrad(x, gy),
    db = sum of gy over the batch and the positions."""

    def __init__(self, stride: Pair, padding: Pair, dilation: Pair) -> None:
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x: Array, weight: Array, bias: Array | None = None) -> Array:
        return kernel("conv2d")(x, weight, bias, self.stride, self.padding, self.dilation)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = self.inputs[0], self.inputs[1]
        needs = self.needs_input_grad
        geometry = (self.stride, self.padding, self.dilation)
        gx = ConvInputGrad(x.shape, *geometry)(gy, weight) if needs[0] else None
        gw = ConvWeightGrad(weight.shape[2:], *geometry)(x, gy) if needs[1] else None
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (gy.sum(axis=(0, 2, 3)) if needs[2] else None)


class ConvInputGrad(Function):
    """dx = col2im(W^T gy): the adjoint of conv2d in x (a transposed convolution), of `input_shape`;
    d/dgy = conv2d(g, W),  d/dW = ConvWeightGrad(g, gy)."""

    def __init__(self, input_shape: Sequence[int], stride: Pair, padding: Pair, dilation: Pair) -> None:
        self.input_shape = tuple(input_shape)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, gy: Array, weight: Array) -> Array:
        return kernel("conv2d_input_grad")(gy, weight, self.input_shape, self.stride, self.padding,
                                           self.dilation)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        gy, weight = self.inputs
        needs_gy, needs_weight = self.needs_input_grad
        geometry = (self.stride, self.padding, self.dilation)
        return (Conv2d(*geometry)(g, weight) if needs_gy else None,
                ConvWeightGrad(weight.shape[2:], *geometry)(g, gy) if needs_weight else None)


class ConvWeightGrad(Function):
    """dW = gy cols(x)^T: conv2d's gradient in its weight (kernel_size taps);
    d/dx = ConvInputGrad(gy, g),  d/dgy = conv2d(x, g)."""

    def __init__(self, kernel_size: Sequence[int], stride: Pair, padding: Pair, dilation: Pair) -> None:
        self.kernel_size = tuple(kernel_size)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x: Array, gy: Array) -> Array:
        return kernel("conv2d_weight_grad")(x, gy, self.kernel_size, self.stride, self.padding,
                                            self.dilation)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, gy = self.inputs
        needs_x, needs_gy = self.needs_input_grad
        geometry = (self.stride, self.padding, self.dilation)
        return (ConvInputGrad(x.shape, *geometry)(gy, g) if needs_x else None,
                Conv2d(*geometry)(x, g) if needs_gy else None)


def as_pair(value: Any, name: str, op: str) -> Pair:
    """PyTorch's int-or-pair arguments as a pair of ints."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    is_pair = isinstance(pair, (tuple, list)) and len(pair) == 2
    if not is_pair or not all(isinstance(v, numbers.Integral) for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_input(op: str, x: Tensor, weight: Tensor | None = None, channel_axis: int = 1) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if weight is None:
        return
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {weight.shape}")
    if x.shape[1] != weight.shape[channel_axis]:
        raise ValueError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels, but weight of "
                         f"shape {weight.shape} expects {weight.shape[channel_axis]}")


def _output_size(op: str, size: Sequence[int], kernel_size: Pair, stride: Pair, padding: Pair,
                 dilation: Pair) -> Pair:
    out = tuple(conv_output_size(*args) for args in zip(size, kernel_size, stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(f"{op}: an input of spatial size {tuple(size)} with kernel {kernel_size}, "
                         f"stride {stride}, padding {padding}, dilation {dilation} "
                         f"gives an empty output {out}")
    return out


def _geometry(op: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> Geometry:
    kernel_pair, stride_pair = as_pair(kernel_size, "kernel_size", op), as_pair(stride, "stride", op)
    padding_pair, dilation_pair = as_pair(padding, "padding", op), as_pair(dilation, "dilation", op)
    if min(kernel_pair + stride_pair + dilation_pair) < 1 or min(padding_pair) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding "
                         f"non-negative, got {kernel_pair}, {stride_pair}, {dilation_pair}, {padding_pair}")
    return kernel_pair, stride_pair, padding_pair, dilation_pair


def _check_channel_bias(op: str, channels: int, bias: Tensor | None) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} for an output of {channels} "
                         f"channels; expected ({channels},)")


def _add_channel_bias(op: str, y: Tensor, bias: Tensor | None) -> Tensor:
    if bias is None:
        return y
    _check_channel_bias(op, y.shape[1], bias)
    return y + reshape(bias, 1, -1, 1, 1)


def im2col(x: Tensor, kernel_size: int | Pair, stride: int | Pair = 1, padding: int | Pair = 0,
           dilation: int | Pair = 1) -> Tensor:
    """The receptive fields of x (N, C, H, W) as columns (N, C*kh*kw, OH*OW)  (1)."""
    _check_input("im2col", x)
    geometry = _geometry("im2col", kernel_size, stride, padding, dilation)
    _output_size("im2col", x.shape[2:], *geometry)
    return Im2Col(*geometry)(x)


def col2im(cols: Tensor, input_shape: Sequence[int], kernel_size: int | Pair, stride: int | Pair = 1,
           padding: int | Pair = 0, dilation: int | Pair = 1) -> Tensor:
    """The adjoint of im2col: columns (N, C*kh*kw, OH*OW) summed back into input_shape (N, C, H, W)."""
    return Col2Im(input_shape, *_geometry("col2im", kernel_size, stride, padding, dilation))(cols)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Pair = 1,
           padding: int | Pair = 0, dilation: int | Pair = 1) -> Tensor:
    """PyTorch's conv2d (cross-correlation): x (N, C, H, W), weight (O, C, kh, kw) -> (N, O, OH, OW)."""
    _check_input("conv2d", x, weight)
    geometry = _geometry("conv2d", weight.shape[2:], stride, padding, dilation)
    _output_size("conv2d", x.shape[2:], *geometry)
    _check_channel_bias("conv2d", weight.shape[0], bias)
    convolution = Conv2d(*geometry[1:])
    return convolution(x, weight) if bias is None else convolution(x, weight, bias)   # (2): (N, O, OH, OW)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Pair = 1,
                     padding: int | Pair = 0, output_padding: int | Pair = 0,
                     dilation: int | Pair = 1) -> Tensor:
    """PyTorch's conv_transpose2d: x (N, C_in, H, W), weight (C_in, C_out, kh, kw) -> (N, C_out, OH, OW).

    The gradient of conv2d with respect to its input (3); `output_padding` adds rows and columns
    at the bottom and right, to pick among the input sizes a strided conv2d maps to the same size.
    """
    _check_input("conv_transpose2d", x, weight, channel_axis=0)
    in_channels, out_channels, kh, kw = weight.shape
    geometry = _geometry("conv_transpose2d", (kh, kw), stride, padding, dilation)
    (_, stride, padding, dilation) = geometry
    output_padding = as_pair(output_padding, "output_padding", "conv_transpose2d")
    if any(op >= max(s, d) or op < 0 for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be non-negative and "
                         f"smaller than stride {stride} or dilation {dilation}")
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op
                     in zip(x.shape[2:], stride, padding, dilation, (kh, kw), output_padding))
    if min(out_size) < 1:
        raise ValueError(f"conv_transpose2d: an input of spatial size {x.shape[2:]} gives an empty "
                         f"output {out_size} with padding {padding}")
    n = x.shape[0]
    if all(op < s for op, s in zip(output_padding, stride)):
        y = ConvInputGrad((n, out_channels) + out_size, stride, padding, dilation)(x, weight)   # (3)
    else:
        rows = reshape(x, n, in_channels, -1)                            # (N, C_in, H*W)
        cols = matmul(swapaxes(reshape(weight, in_channels, -1), 0, 1), rows)   # (N, C_out*kh*kw, H*W)
        y = _col2im_beyond_stride(cols, (n, out_channels), x.shape[2:], out_size, geometry)
    return _add_channel_bias("conv_transpose2d", y, bias)              # (N, C_out, OH, OW)


def _col2im_beyond_stride(cols: Tensor, leading: tuple[int, int], in_size: Sequence[int],
                          out_size: Sequence[int], geometry: Geometry) -> Tensor:
    """(3) when output_padding reaches a whole stride or more (dilation > stride): col2im cannot
    infer the patch count from such an output size, so lay the patches on the uncropped canvas,
    then crop `padding` from the top and left and fill the rows no patch reaches with zeros."""
    (kernel_size, stride, padding, dilation) = geometry
    canvas = tuple((n - 1) * s + d * (k - 1) + 1
                   for n, s, d, k in zip(in_size, stride, dilation, kernel_size))
    y = Col2Im(leading + canvas, kernel_size, stride, (0, 0), dilation)(cols)   # (N, C_out, CH, CW)
    y = y[:, :, padding[0]:padding[0] + out_size[0], padding[1]:padding[1] + out_size[1]]
    xp = array_module(y.data)
    for axis, (size, wanted) in enumerate(zip(y.shape[2:], out_size), start=2):
        if size < wanted:
            zeros = xp.zeros(y.shape[:axis] + (wanted - size,) + y.shape[axis + 1:], dtype=y.dtype)
            y = concatenate([y, Tensor(zeros)], axis=axis)               # rows no patch reaches
    return y


def avg_pool2d(x: Tensor, kernel_size: int | Pair, stride: int | Pair | None = None,
               padding: int | Pair = 0) -> Tensor:
    """The mean of each kh x kw window (PyTorch's defaults: stride = kernel_size, zero padding
    counted in the mean, floor of the output size)."""
    _check_input("avg_pool2d", x)
    geometry = _geometry("avg_pool2d", kernel_size, kernel_size if stride is None else stride, padding, 1)
    out_h, out_w = _output_size("avg_pool2d", x.shape[2:], *geometry)
    n, c, h, w = x.shape
    cols = Im2Col(*geometry)(reshape(x, n * c, 1, h, w))                 # (N*C, kh*kw, OH*OW)
    return reshape(cols.mean(axis=1), n, c, out_h, out_w)                # (N, C, OH, OW)


def upsample_nearest(x: Tensor, scale_factor: int | Pair) -> Tensor:
    """Repeat every pixel of x (N, C, H, W) into an sh x sw block -> (N, C, H*sh, W*sw)."""
    _check_input("upsample_nearest", x)
    sh, sw = as_pair(scale_factor, "scale_factor", "upsample_nearest")
    if min(sh, sw) < 1:
        raise ValueError(f"upsample_nearest: scale_factor must be positive, got {scale_factor!r}")
    n, c, h, w = x.shape
    blocks = broadcast_to(reshape(x, n, c, h, 1, w, 1), (n, c, h, sh, w, sw))   # (N, C, H, sh, W, sw)
    return reshape(blocks, n, c, h * sh, w * sw)                        # (N, C, H*sh, W*sw)
