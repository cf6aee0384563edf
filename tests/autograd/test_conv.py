"""Convolution, transposed convolution, pooling and upsampling: forward against direct loops,
float64 gradient checks, adjointness, and the layers' layouts and errors."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd
from autograd import gradcheck, gradgradcheck, nn
from autograd.backend import kernel
from autograd.nn import functional as F

# -- direct-loop references ------------------------------------------------------------------


def conv2d_loops(x, weight, bias, stride, padding, dilation):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, _, h, w = x.shape
    out_channels, _, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, out_channels, out_h, out_w))
    for b in range(n):
        for o in range(out_channels):
            for i in range(out_h):
                for j in range(out_w):
                    window = padded[b, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                                    j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[b, o, i, j] = np.sum(window * weight[o]) + (bias[o] if bias is not None else 0)
    return out


def conv_transpose2d_loops(x, weight, bias, stride, padding, output_padding, dilation):
    """Every input pixel scatters weight[c] * x[n, c, i, j] onto the output (before cropping)."""
    (sh, sw), (ph, pw), (dh, dw), (oph, opw) = stride, padding, dilation, output_padding
    n, in_channels, h, w = x.shape
    _, out_channels, kh, kw = weight.shape
    canvas = np.zeros((n, out_channels, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                       (w - 1) * sw + dw * (kw - 1) + 1 + opw))
    for b in range(n):
        for c in range(in_channels):
            for i in range(h):
                for j in range(w):
                    canvas[b, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw] += x[b, c, i, j] * weight[c]
    out = canvas[:, :, ph:canvas.shape[2] - ph, pw:canvas.shape[3] - pw]
    return out + (bias.reshape(1, -1, 1, 1) if bias is not None else 0)


def avg_pool2d_loops(x, kernel_size, stride, padding):
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h = (x.shape[2] + 2 * padding - kernel_size) // stride + 1
    out_w = (x.shape[3] + 2 * padding - kernel_size) // stride + 1
    out = np.zeros(x.shape[:2] + (out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            out[:, :, i, j] = window.mean(axis=(2, 3))
    return out


# -- drawn cases -----------------------------------------------------------------------------

pairs = st.tuples


@st.composite
def conv_cases(draw, max_size=6):
    """(x, weight, bias, stride, padding, dilation) with a non-empty output."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    stride = draw(pairs(st.integers(1, 2), st.integers(1, 2)))
    padding = draw(pairs(st.integers(0, 2), st.integers(0, 2)))
    dilation = draw(pairs(st.integers(1, 2), st.integers(1, 2)))
    low = [max(1, d * (k - 1) + 1 - 2 * p) for k, p, d in zip(kernel, padding, dilation)]
    h, w = (draw(st.integers(lo, max(lo, max_size))) for lo in low)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c) + kernel)
    bias = rng.standard_normal(o) if draw(st.booleans()) else None
    return x, weight, bias, stride, padding, dilation


@st.composite
def conv_transpose_cases(draw, max_size=5):
    """(x, weight (C_in, C_out, kh, kw), bias, stride, padding, output_padding, dilation)."""
    x, weight, bias, stride, padding, dilation = draw(conv_cases(max_size))
    weight = weight.transpose(1, 0, 2, 3).copy()                         # (C_in=x's C, C_out, kh, kw)
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    out_size = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op
                in zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding)]
    assume(min(out_size) >= 1)
    if bias is not None:
        bias = np.resize(bias, weight.shape[1])
    return x, weight, bias, stride, padding, output_padding, dilation


def tensors(*arrays):
    return [None if a is None else autograd.tensor(a) for a in arrays]


# -- kernels ---------------------------------------------------------------------------------

@given(conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    x, weight, _, stride, padding, dilation = case
    geometry = (weight.shape[2:], stride, padding, dilation)
    cols = kernel("im2col")(x, *geometry)
    other = np.random.default_rng(1).standard_normal(cols.shape)
    back = kernel("col2im")(other, x.shape, *geometry)
    assert back.shape == x.shape
    assert np.isclose(np.sum(cols * other), np.sum(x * back))             # <im2col x, c> = <x, col2im c>


def test_im2col_layout_is_channel_then_kernel_then_position():
    x = np.arange(2 * 2 * 4 * 5, dtype=np.float32).reshape(2, 2, 4, 5)
    cols = kernel("im2col")(x, (2, 3), (1, 2), (0, 1), (1, 1))
    assert cols.shape == (2, 2 * 2 * 3, 3 * 3)
    assert cols.dtype == np.float32
    # channel 1, tap (1, 2), output position (2, 1): x_pad[n, 1, 2 + 1, 1*2 + 2] = x[n, 1, 3, 3]
    assert np.array_equal(cols[:, 1 * 6 + 1 * 3 + 2, 2 * 3 + 1], x[:, 1, 3, 3])
    # tap (0, 0) at output (0, 0) reads the left padding: zero
    assert np.all(cols[:, 0, 0] == 0)


def test_col2im_adds_overlapping_patches():
    ones = np.ones((1, 1 * 3 * 3, 3 * 3))
    counts = kernel("col2im")(ones, (1, 1, 5, 5), (3, 3), (1, 1), (0, 0), (1, 1))
    # the centre pixel lies in all 9 windows of a 3x3 kernel over a 5x5 image, the corners in 1
    assert counts[0, 0, 2, 2] == 9 and counts[0, 0, 0, 0] == 1 and counts[0, 0, 0, 2] == 3


# -- forward against direct loops -----------------------------------------------------------

@given(conv_cases())
def test_conv2d_matches_direct_loops(case):
    x, weight, bias, stride, padding, dilation = case
    y = F.conv2d(*tensors(x, weight, bias), stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y.numpy(), conv2d_loops(x, weight, bias, stride, padding, dilation),
                               rtol=1e-10, atol=1e-10)


@given(conv_transpose_cases())
def test_conv_transpose2d_matches_direct_loops(case):
    x, weight, bias, stride, padding, output_padding, dilation = case
    y = F.conv_transpose2d(*tensors(x, weight, bias), stride=stride, padding=padding,
                           output_padding=output_padding, dilation=dilation)
    expected = conv_transpose2d_loops(x, weight, bias, stride, padding, output_padding, dilation)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)


@given(st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.integers(0, 2 ** 16))
def test_avg_pool2d_matches_direct_loops(kernel_size, stride, padding, seed):
    padding = min(padding, kernel_size // 2)                             # PyTorch's limit
    x = np.random.default_rng(seed).standard_normal((2, 2, 5, 4))
    y = F.avg_pool2d(autograd.tensor(x), kernel_size, stride, padding)
    np.testing.assert_allclose(y.numpy(), avg_pool2d_loops(x, kernel_size, stride, padding), atol=1e-12)


def test_avg_pool2d_stride_defaults_to_kernel_size():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y = F.avg_pool2d(autograd.tensor(x), 2)
    assert np.array_equal(y.numpy()[0, 0], [[2.5, 4.5], [10.5, 12.5]])


@given(st.integers(1, 3), st.integers(1, 3))
def test_upsample_nearest_repeats_each_pixel(sh, sw):
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 2))
    y = F.upsample_nearest(autograd.tensor(x), (sh, sw) if sh != sw else sh)
    assert np.array_equal(y.numpy(), x.repeat(sh, axis=2).repeat(sw, axis=3))


def test_output_sizes_match_pytorch_formulas():
    x = autograd.randn(2, 3, 28, 28)
    assert nn.Conv2d(3, 8, 4, stride=2, padding=1)(x).shape == (2, 8, 14, 14)
    assert nn.Conv2d(3, 8, 3, padding=2, dilation=2)(x).shape == (2, 8, 28, 28)
    z = autograd.randn(2, 8, 7, 7)
    assert nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)(z).shape == (2, 3, 14, 14)
    assert nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)(z).shape == (2, 3, 14, 14)


# -- adjointness (3) ---------------------------------------------------------------------------

@given(conv_cases())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(case):
    x, weight, _, stride, padding, dilation = case
    y = F.conv2d(*tensors(x, weight), stride=stride, padding=padding, dilation=dilation).numpy()
    other = np.random.default_rng(2).standard_normal(y.shape)
    # output_padding recovers the rows a strided conv2d dropped, so the shapes line up
    reached = [(o - 1) * s - 2 * p + d * (k - 1) + 1 for o, s, p, d, k
               in zip(y.shape[2:], stride, padding, dilation, weight.shape[2:])]
    output_padding = tuple(n - r for n, r in zip(x.shape[2:], reached))
    assume(all(op < max(s, d) for op, s, d in zip(output_padding, stride, dilation)))
    back = F.conv_transpose2d(*tensors(other, weight), stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation).numpy()
    assert back.shape == x.shape
    assert np.isclose(np.sum(y * other), np.sum(x * back))


# -- gradients (float64, random upstream gradient inside gradcheck) ----------------------------

def _drop_none(*arrays):
    return tuple(a for a in arrays if a is not None)


@given(conv_cases(max_size=5))
def test_conv2d_gradcheck(case):
    x, weight, bias, stride, padding, dilation = case

    def fn(x, weight, *bias):
        return F.conv2d(x, weight, bias[0] if bias else None, stride, padding, dilation)

    assert gradcheck(fn, _drop_none(x, weight, bias))


@given(conv_transpose_cases(max_size=4))
def test_conv_transpose2d_gradcheck(case):
    x, weight, bias, stride, padding, output_padding, dilation = case

    def fn(x, weight, *bias):
        return F.conv_transpose2d(x, weight, bias[0] if bias else None, stride, padding,
                                  output_padding, dilation)

    assert gradcheck(fn, _drop_none(x, weight, bias))


def test_conv2d_gradgradcheck():
    rng = np.random.default_rng(3)
    x, weight, bias = (rng.standard_normal(shape) for shape in ((2, 2, 4, 3), (2, 2, 2, 2), (2,)))
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1), (x, weight, bias))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, dilation=2, padding=(1, 0)), (x, weight))


def test_conv_transpose2d_gradgradcheck():
    rng = np.random.default_rng(4)
    x, weight = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 2, 3, 2))
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
                         (x, weight))


def test_wgan_gp_penalty_on_a_conv_critic_trains_the_weight():
    """The gradient-norm penalty's own gradient reaches the conv weights (double backward)."""
    rng = np.random.default_rng(5)
    x = autograd.tensor(rng.standard_normal((2, 1, 5, 5)), requires_grad=True)
    weight = autograd.tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    score = F.conv2d(x, weight, padding=1).relu().sum()
    (grad_x,) = autograd.grad(score, x, create_graph=True)
    penalty = ((grad_x.reshape(2, -1) ** 2).sum(axis=1).sqrt() - 1) ** 2
    penalty.mean().backward()
    assert weight.grad is not None and np.all(np.isfinite(weight.grad.numpy()))
    assert np.abs(weight.grad.numpy()).max() > 0


@given(st.integers(1, 3), st.sampled_from([None, 1, 2]), st.integers(0, 1))
def test_avg_pool2d_gradcheck(kernel_size, stride, padding):
    padding = min(padding, kernel_size // 2)
    x = np.random.default_rng(6).standard_normal((2, 2, 4, 5))
    assert gradcheck(lambda x: F.avg_pool2d(x, kernel_size, stride, padding), (x,))


@given(st.integers(1, 3), st.integers(1, 2))
def test_upsample_nearest_gradcheck(sh, sw):
    x = np.random.default_rng(7).standard_normal((1, 2, 3, 2))
    assert gradcheck(lambda x: F.upsample_nearest(x, (sh, sw)), (x,))


# -- inputs are not mutated; dtypes ---------------------------------------------------------

def test_inputs_are_not_mutated():
    rng = np.random.default_rng(8)
    x, weight, bias = (rng.standard_normal(shape) for shape in ((2, 3, 5, 5), (4, 3, 3, 3), (4,)))
    copies = [a.copy() for a in (x, weight, bias)]
    tx, tw, tb = (autograd.tensor(a, requires_grad=True) for a in (x, weight, bias))
    arrays = [t.data for t in (tx, tw, tb)]
    saved = [a.copy() for a in arrays]
    y = F.conv2d(tx, tw, tb, stride=2, padding=1)
    z = F.conv_transpose2d(y, tw, tb[:3], stride=2, padding=1)            # (4, 3, 3, 3): C_in=4
    F.upsample_nearest(F.avg_pool2d(z, 2), 2).sum().backward()
    for array, before in zip(arrays, saved):
        assert np.array_equal(array, before)
    cols = kernel("im2col")(x, (3, 3), (1, 1), (1, 1), (1, 1))
    kernel("col2im")(cols, x.shape, (3, 3), (1, 1), (1, 1), (1, 1))
    for array, before in zip((x, weight, bias), copies):
        assert np.array_equal(array, before)


def test_float32_stays_float32():
    x = autograd.randn(2, 3, 6, 6, requires_grad=True)
    conv, deconv = nn.Conv2d(3, 4, 3, padding=1), nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)
    y = deconv(conv(x))
    assert y.dtype == np.float32 and y.shape == (2, 3, 12, 12)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and conv.weight.grad.dtype == np.float32


# -- layers --------------------------------------------------------------------------------

def test_conv_layers_use_pytorch_layouts_and_init_bounds():
    conv = nn.Conv2d(3, 8, (3, 5))
    assert conv.weight.shape == (8, 3, 3, 5) and conv.bias.shape == (8,)
    bound = 1 / np.sqrt(3 * 3 * 5)
    assert np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.bias.numpy()).max() <= bound
    assert np.abs(conv.weight.numpy()).max() > 0.8 * bound              # uniform, not shrunk
    deconv = nn.ConvTranspose2d(8, 3, 4, bias=False)
    assert deconv.weight.shape == (8, 3, 4, 4) and deconv.bias is None
    assert np.abs(deconv.weight.numpy()).max() <= 1 / np.sqrt(3 * 4 * 4)
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv2d_layer_equals_functional():
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=1)
    x = autograd.randn(2, 2, 7, 7)
    expected = conv2d_loops(x.numpy().astype(np.float64), conv.weight.numpy().astype(np.float64),
                            conv.bias.numpy().astype(np.float64), (2, 2), (1, 1), (1, 1))
    np.testing.assert_allclose(conv(x).numpy(), expected, rtol=1e-5, atol=1e-5)


# -- errors -----------------------------------------------------------------------------------

def test_channel_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"conv2d.*\(2, 4, 6, 6\).*\(8, 3, 3, 3\)"):
        F.conv2d(autograd.randn(2, 4, 6, 6), autograd.randn(8, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d.*\(2, 4, 6, 6\).*\(3, 8, 3, 3\)"):
        F.conv_transpose2d(autograd.randn(2, 4, 6, 6), autograd.randn(3, 8, 3, 3))


@pytest.mark.parametrize("op", [
    lambda x: F.conv2d(x, autograd.randn(2, 3, 3, 3)),
    lambda x: F.conv_transpose2d(x, autograd.randn(3, 2, 3, 3)),
    lambda x: F.avg_pool2d(x, 2),
    lambda x: F.upsample_nearest(x, 2),
])
def test_non_4d_input_says_so(op):
    with pytest.raises(ValueError, match=r"4-D input .* got shape \(3, 6, 6\)"):
        op(autograd.randn(3, 6, 6))


def test_empty_output_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="empty output"):
        F.conv2d(autograd.randn(1, 1, 2, 2), autograd.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(autograd.randn(1, 1, 4, 4), autograd.randn(1, 1, 3, 3), stride=0)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(autograd.randn(1, 1, 4, 4), autograd.randn(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv2d: bias of shape \(3,\).*4 channels"):
        F.conv2d(autograd.randn(1, 1, 4, 4), autograd.randn(4, 1, 3, 3), autograd.randn(3))
    with pytest.raises(ValueError, match="scale_factor"):
        F.upsample_nearest(autograd.randn(1, 1, 4, 4), 1.5)
