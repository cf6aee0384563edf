"""The convolution kernels work one chunk of images at a time: any chunk size gives the same
result, and the three kernels are each other's adjoints: <conv2d(x, W), g> = <x, input_grad(g, W)>
= <W, weight_grad(x, g)>."""
import numpy as np
import pytest

from autograd.kernels import reference

GEOMETRIES = [((1, 1), (1, 1), (1, 1)), ((2, 1), (0, 2), (1, 1)), ((1, 2), (1, 0), (2, 1)), ((1, 1), (0, 1), (1, 2))]


def direct_conv2d(x, weight, stride, padding, dilation):
    """y[n, o, oh, ow] = sum_{c,i,j} W[o, c, i, j] x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw], by loops."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = weight.shape[2:]
    out_h = reference.conv_output_size(x.shape[2], kh, sh, ph, dh)
    out_w = reference.conv_output_size(x.shape[3], kw, sw, pw, dw)
    y = np.zeros((x.shape[0], weight.shape[0], out_h, out_w))
    for oh in range(out_h):
        for ow in range(out_w):
            window = padded[:, :, oh * sh:oh * sh + dh * (kh - 1) + 1:dh, ow * sw:ow * sw + dw * (kw - 1) + 1:dw]
            y[:, :, oh, ow] = np.tensordot(window, weight, axes=([1, 2, 3], [1, 2, 3]))
    return y


@pytest.mark.parametrize("chunk_bytes", [1, 3000, 1 << 30])           # one image, a few, the whole batch
@pytest.mark.parametrize("stride, padding, dilation", GEOMETRIES)
def test_every_chunk_size_gives_the_direct_convolution_and_its_adjoints(monkeypatch, rng, chunk_bytes,
                                                                         stride, padding, dilation):
    monkeypatch.setattr(reference, "CONV_CHUNK_BYTES", chunk_bytes)
    x = rng.standard_normal((5, 3, 7, 6))
    weight = rng.standard_normal((4, 3, 3, 2))
    bias = rng.standard_normal(4)
    y = reference.conv2d(x, weight, bias, stride, padding, dilation)
    np.testing.assert_allclose(y, direct_conv2d(x, weight, stride, padding, dilation) + bias.reshape(-1, 1, 1),
                               rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    gx = reference.conv2d_input_grad(g, weight, x.shape, stride, padding, dilation)
    gw = reference.conv2d_weight_grad(x, g, (3, 2), stride, padding, dilation)
    inner = np.sum((y - bias.reshape(-1, 1, 1)) * g)
    assert np.sum(x * gx) == pytest.approx(inner, rel=1e-10)
    assert np.sum(weight * gw) == pytest.approx(inner, rel=1e-10)
