"""NumPy references of the hot-path kernels.  Every function here works on numpy and cupy arrays
alike (`xp` is whichever module owns the input); the Numba versions must agree with these.

The numerics are decided here, once:
  sigmoid(x)          = e^min(x, 0) / (1 + e^-|x|): 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for
                        x < 0 (no overflow), without a select (np.where on a mask of random signs
                        costs 10x the arithmetic)
  softplus(x)         = logaddexp(0, x) = max(x, 0) + log1p(e^-|x|)
  logsumexp(x)        = m + log sum exp(x - m),  m = max x
  bce_with_logits(l,t)= max(l, 0) - l t + log1p(e^-|l|)          (-log Bernoulli(t; sigmoid l))
  gelu(x)             = 0.5 x (1 + tanh(u)),  u = c (x + k x^3)    (GPT-2's tanh approximation)
  gelu_grad(gy, x)    = gy (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2)),  t = tanh(u)

Long chains of elementwise NumPy calls on large arrays (GELU, layer norm) run block by block on the
host (`blocked`): each call then reads and writes a block that is still in the cache, instead of
streaming a temporary of the whole array through memory once per call.
"""
import math

import numpy

from ..backend import array_module

GELU_C, GELU_K = math.sqrt(2 / math.pi), 0.044715
BLOCK = 1 << 16          # elements per block: a block and a few temporaries fit in a core's L2 cache


def sigmoid(x):
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))                               # in (0, 1]: never overflows
    numerator = xp.exp(xp.minimum(x, 0))                 # 1 for x >= 0, e for x < 0
    return (numerator / (1 + e)).astype(x.dtype, copy=False)


def softplus(x):
    xp = array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def logsumexp(x, axis=None, keepdims=False):
    xp = array_module(x)
    m = x.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)                   # all -inf rows give -inf, not nan
    out = xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True)) + m
    if not keepdims:
        out = out.squeeze(axis=axis) if axis is not None else out.reshape(())
    return out


def softmax(x, axis=-1):
    xp = array_module(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis=axis, keepdims=True)


def bce_with_logits(logits, targets):
    xp = array_module(logits)
    return xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))


def row_blocks(rows, width, xp):
    """Slices of `rows` rows of `width` elements that make blocks of about BLOCK elements on the
    host; one slice of everything on a device (where each call is a launch, and blocks would
    multiply them)."""
    if xp is not numpy:
        return [slice(None)]
    step = max(1, BLOCK // max(width, 1))
    return [slice(start, start + step) for start in range(0, rows, step)]


def blocked(compute, out, *inputs):
    """compute(out, *inputs) (which writes out = f(inputs) elementwise) block by block when every
    array is C-contiguous and of out's shape; in one piece otherwise (broadcast or strided inputs,
    0-d arrays).  Returns out."""
    if not all(a.shape == out.shape and a.flags.c_contiguous for a in inputs) or not out.ndim:
        compute(out, *inputs)
        return out
    out_flat, inputs_flat = out.reshape(-1), [a.reshape(-1) for a in inputs]
    for block in row_blocks(out.size, 1, array_module(out)):
        compute(out_flat[block], *(a[block] for a in inputs_flat))
    return out


def _gelu_into(y, x):
    xp = array_module(y)
    xp.multiply(x, x, out=y)
    y *= GELU_C * GELU_K
    y += GELU_C
    y *= x                                               # u = c (x + k x^3)
    xp.tanh(y, out=y)
    y += 1
    y *= x
    y *= 0.5                                             # 0.5 x (1 + tanh u)


def gelu(x):
    return blocked(_gelu_into, array_module(x).empty_like(x), x)


def _gelu_grad_into(g, gy, x):
    xp = array_module(g)
    slope = x * x                                        # a temporary of one block
    xp.multiply(slope, GELU_C * GELU_K, out=g)
    g += GELU_C
    g *= x
    xp.tanh(g, out=g)                                    # t = tanh(u)
    slope *= 3 * GELU_C * GELU_K
    slope += GELU_C
    slope *= x
    slope *= 0.5                                         # 0.5 x c (1 + 3 k x^2)
    slope *= 1 - g * g                                   # ... (1 - t^2)
    g += 1
    g *= 0.5
    g += slope                                           # gelu'(x)
    g *= gy


def gelu_grad(gy, x):
    xp = array_module(x)
    return blocked(_gelu_grad_into, xp.empty(x.shape, dtype=xp.result_type(gy, x)), gy, x)


def layer_norm(x, weight, bias, eps):
    """y = xhat w + b,  xhat = (x - mean) rstd,  rstd = 1 / sqrt(var + eps) over the last axis (var
    biased); returns y, xhat and rstd (rstd with the last axis kept, of size 1)."""
    xp = array_module(x)
    width = x.shape[-1]
    rows = x.reshape(-1, width)                                          # (R, C)
    y, xhat = xp.empty_like(rows), xp.empty_like(rows)
    rstd = xp.empty((rows.shape[0], 1), dtype=x.dtype)                   # (R, 1)
    for block in row_blocks(rows.shape[0], width, xp):
        x_b, xhat_b, y_b, rstd_b = rows[block], xhat[block], y[block], rstd[block]
        xp.subtract(x_b, x_b.mean(axis=-1, keepdims=True), out=xhat_b)
        xp.multiply(xhat_b, xhat_b, out=y_b)
        rstd_b[...] = y_b.mean(axis=-1, keepdims=True)
        rstd_b += eps
        xp.sqrt(rstd_b, out=rstd_b)
        xp.reciprocal(rstd_b, out=rstd_b)
        xhat_b *= rstd_b
        xp.multiply(xhat_b, weight, out=y_b)
        y_b += bias
    return y.reshape(x.shape), xhat.reshape(x.shape), rstd.reshape(x.shape[:-1] + (1,))


def layer_norm_grad(gy, xhat, rstd, weight):
    """dx = rstd (g - mean(g) - xhat mean(g xhat)),  g = gy w, over the last axis (layer_norm's
    gradient with respect to x)."""
    xp = array_module(xhat)
    width = xhat.shape[-1]
    gy_rows = xp.broadcast_to(gy, xhat.shape).reshape(-1, width)         # (R, C)
    xhat_rows, rstd_rows = xhat.reshape(-1, width), rstd.reshape(-1, 1)
    gx = xp.empty(xhat_rows.shape, dtype=xp.result_type(gy, xhat))
    for block in row_blocks(gx.shape[0], width, xp):
        g = gx[block]
        xp.multiply(gy_rows[block], weight, out=g)                       # g = gy w
        projection = g * xhat_rows[block]
        projection = xhat_rows[block] * projection.mean(axis=-1, keepdims=True)
        g -= g.mean(axis=-1, keepdims=True)
        g -= projection
        g *= rstd_rows[block]
    return gx.reshape(xhat.shape)


# -- optimizer updates: one call per parameter, arrays updated in place ----------------------

def sgd_update(param, grad, velocity, lr, momentum, weight_decay):
    """g = grad + wd * param;  v = momentum * v + g;  param -= lr * v   (PyTorch's SGD)"""
    g = grad + weight_decay * param if weight_decay else grad
    if momentum:
        velocity *= momentum
        velocity += g
        g = velocity
    param -= lr * g


def adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step, weight_decay, decoupled):
    """Adam (Kingma and Ba 2015), and AdamW's decoupled weight decay when `decoupled`.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    param -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """
    xp = array_module(param)
    if weight_decay and decoupled:
        param *= 1 - lr * weight_decay
    elif weight_decay:
        grad = grad + weight_decay * param
    scratch = xp.subtract(grad, exp_avg)                # the one temporary, reused below
    scratch *= 1 - beta1
    exp_avg += scratch                                   # m = b1 m + (1 - b1) g
    xp.multiply(grad, grad, out=scratch)
    scratch -= exp_avg_sq
    scratch *= 1 - beta2
    exp_avg_sq += scratch                                # v = b2 v + (1 - b2) g^2
    root_bias2 = math.sqrt(1 - beta2 ** step)            # sqrt(v/c2) + eps = (sqrt(v) + eps root) / root
    xp.sqrt(exp_avg_sq, out=scratch)
    scratch += eps * root_bias2
    xp.divide(exp_avg, scratch, out=scratch)
    scratch *= lr * root_bias2 / (1 - beta1 ** step)
    param -= scratch


def rmsprop_update(param, grad, square_avg, lr, alpha, eps, weight_decay):
    """v = alpha v + (1 - alpha) g^2;  param -= lr * g / (sqrt(v) + eps)   (PyTorch's RMSprop)"""
    xp = array_module(param)
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    param -= lr * grad / (xp.sqrt(square_avg) + eps)


# -- convolution: patches to columns and back ------------------------------------------------

def conv_output_size(size, kernel, stride, padding, dilation):
    """Positions a kernel of `kernel` taps, spread by `dilation`, takes along an axis of `size`."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _patch_slices(i, j, out_h, out_w, stride, dilation):
    """The index of the padded input (N, C, H, W) that tap (i, j) of the kernel touches at every
    output position: a strided view of shape (N, C, OH, OW)."""
    row, col = i * dilation[0], j * dilation[1]
    return (slice(None), slice(None),
            slice(row, row + stride[0] * (out_h - 1) + 1, stride[0]),
            slice(col, col + stride[1] * (out_w - 1) + 1, stride[1]))


def im2col(x, kernel_size, stride, padding, dilation):
    """cols[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh*sh + i*dh, ow*sw + j*dw]

    x: (N, C, H, W) -> cols: (N, C*kh*kw, OH*OW).  The windows are one strided view of the
    (zero-)padded input, (N, C, kh, kw, OH, OW); the reshape makes the only copy.
    """
    xp = array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    out_h = conv_output_size(h, kh, sh, ph, dh)
    out_w = conv_output_size(w, kw, sw, pw, dw)
    if ph or pw:
        padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w] = x
    else:
        padded = x
    step_n, step_c, step_h, step_w = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, (n, c, kh, kw, out_h, out_w),
        (step_n, step_c, step_h * dh, step_w * dw, step_h * sh, step_w * sw))  # (N, C, kh, kw, OH, OW)
    return windows.reshape(n, c * kh * kw, out_h * out_w)


def col2im(cols, input_shape, kernel_size, stride, padding, dilation):
    """The adjoint of im2col: every column entry is added back to the pixel it was read from.

    cols: (N, C*kh*kw, OH*OW) -> x: input_shape (N, C, H, W); overlapping patches add up and
    entries that fall on the padding are dropped.  Loops only over the kh*kw kernel taps; each
    adds one (N, C, OH, OW) slab of columns into a strided view of the padded image.
    """
    xp = array_module(cols)
    n, c, h, w = input_shape
    (kh, kw), (ph, pw) = kernel_size, padding
    out_h = conv_output_size(h, kh, stride[0], ph, dilation[0])
    out_w = conv_output_size(w, kw, stride[1], pw, dilation[1])
    patches = cols.reshape(n, c, kh, kw, out_h, out_w)
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[_patch_slices(i, j, out_h, out_w, stride, dilation)] += patches[:, :, i, j]
    if ph or pw:
        return xp.ascontiguousarray(padded[:, :, ph:ph + h, pw:pw + w])
    return padded


# -- convolution: one matrix product per chunk of images -------------------------------------
#
# The columns of a chunk of images are laid out channel-major, cols[(c, i, j), (n, oh, ow)], so that
#   y = W cols            (O, C*kh*kw) @ (C*kh*kw, n*OH*OW)   conv2d
#   dW += dy cols^T       (O, n*OH*OW) @ (n*OH*OW, C*kh*kw)    its weight gradient
#   dcols = W^T dy        then col2im                          its input gradient
# are each one large matrix product per chunk, and a chunk's columns (about CONV_CHUNK_BYTES) are
# still in the cache when the product reads them.  On a device the whole batch is one chunk.

CONV_CHUNK_BYTES = 1 << 20


def image_chunks(n_images, bytes_per_image, xp):
    """Slices of the batch whose columns take about CONV_CHUNK_BYTES each (all of it on a device)."""
    if xp is not numpy:
        return [slice(0, n_images)]
    step = max(1, CONV_CHUNK_BYTES // max(bytes_per_image, 1))
    return [slice(start, min(start + step, n_images)) for start in range(0, n_images, step)]


class ConvPlan:
    """Where the columns of a convolution of images `input_shape` (N, C, H, W) read.

    A chunk's zero-padded images lie in one flat buffer (n, C, plane), plane = Hp*Wp + slack.  With
    stride 1 along the width, each output row is extended to the padded width Wp: positions ow in
    [OW, Wp) read padding (their outputs are dropped, their gradients are zero), and in exchange the
    positions of an output plane are one contiguous run of the padded plane, shifted by
    i*dh*Wp + j*dw for tap (i, j), so the columns are copied and added back in long runs.  The slack
    (dw*(kw-1) zeros after each plane) keeps the last run inside its own plane."""

    def __init__(self, input_shape, kernel_size, stride, padding, dilation):
        _, self.channels, self.height, self.width = input_shape
        (self.kh, self.kw), (self.sh, self.sw) = kernel_size, stride
        (self.ph, self.pw), (self.dh, self.dw) = padding, dilation
        self.out_h = conv_output_size(self.height, self.kh, self.sh, self.ph, self.dh)
        self.out_w = conv_output_size(self.width, self.kw, self.sw, self.pw, self.dw)
        self.padded_h, self.padded_w = self.height + 2 * self.ph, self.width + 2 * self.pw
        extended = self.sw == 1
        self.row = self.padded_w if extended else self.out_w             # positions per output row
        slack = self.dw * (self.kw - 1) if extended else 0
        self.plane = self.padded_h * self.padded_w + slack
        self.rows = self.channels * self.kh * self.kw                    # rows of the columns
        self.positions = self.out_h * self.row                           # columns per image

    def padded(self, x):
        """x (n, C, H, W) zero-padded, as the flat buffer (n, C, plane)."""
        xp = array_module(x)
        flat = xp.zeros((x.shape[0], self.channels, self.plane), dtype=x.dtype)
        self.image(flat)[...] = x
        return flat

    def image(self, flat):
        """The (n, C, H, W) images inside the flat padded buffer (a view)."""
        planes = flat[:, :, :self.padded_h * self.padded_w].reshape(flat.shape[:2] + (self.padded_h, self.padded_w))
        return planes[:, :, self.ph:self.ph + self.height, self.pw:self.pw + self.width]

    def _view(self, flat, shape, steps, offset=0):
        """A strided view of the flat buffer; steps count elements."""
        item = flat.itemsize
        return array_module(flat).lib.stride_tricks.as_strided(
            flat.reshape(-1)[offset:], shape, tuple(s * item for s in steps))

    def windows(self, flat):
        """cols[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw] as a view
        (C, kh, kw, n, OH, row) of the flat padded buffer."""
        n = flat.shape[0]
        return self._view(flat, (self.channels, self.kh, self.kw, n, self.out_h, self.row),
                          (self.plane, self.dh * self.padded_w, self.dw, self.channels * self.plane,
                           self.sh * self.padded_w, self.sw))

    def tap(self, flat, i, j):
        """Where tap (i, j) reads, for every image, channel and position: a view (n, C, OH, row)."""
        n = flat.shape[0]
        return self._view(flat, (n, self.channels, self.out_h, self.row),
                          (self.channels * self.plane, self.plane, self.sh * self.padded_w, self.sw),
                          offset=i * self.dh * self.padded_w + j * self.dw)

    def columns(self, x):
        """The channel-major columns (C*kh*kw, n*OH*row) of the images x (n, C, H, W)."""
        cols = array_module(x).empty((self.rows, x.shape[0] * self.positions), dtype=x.dtype)
        cols.reshape(self.channels, self.kh, self.kw, x.shape[0], self.out_h, self.row)[...] = \
            self.windows(self.padded(x))
        return cols

    def add_columns(self, cols, n):
        """The adjoint of `columns`: each entry of cols (C*kh*kw, n*OH*row) added back to the pixel
        of n images it was read from; returns the images (n, C, H, W) (a view)."""
        flat = array_module(cols).zeros((n, self.channels, self.plane), dtype=cols.dtype)
        taps = cols.reshape(self.channels, self.kh, self.kw, n, self.out_h, self.row)
        for i in range(self.kh):
            for j in range(self.kw):
                destination = self.tap(flat, i, j)                        # distinct pixels per (i, j)
                destination += taps[:, i, j].transpose(1, 0, 2, 3)
        return self.image(flat)

    def outputs(self, products):
        """The (n, O, OH, OW) outputs in products (O, n*OH*row), without the extended positions."""
        out_channels = products.shape[0]
        grid = products.reshape(out_channels, -1, self.out_h, self.row)[..., :self.out_w]
        return grid.transpose(1, 0, 2, 3)

    def gradient_matrix(self, gy):
        """gy (n, O, OH, OW) as the matrix (O, n*OH*row), zero at the extended positions."""
        xp = array_module(gy)
        n, out_channels = gy.shape[:2]
        matrix = xp.zeros((out_channels, n, self.out_h, self.row), dtype=gy.dtype)
        matrix[..., :self.out_w] = gy.transpose(1, 0, 2, 3)
        return matrix.reshape(out_channels, -1)

    def chunks(self, n_images, itemsize, xp):
        return image_chunks(n_images, self.rows * self.positions * itemsize, xp)


def conv2d(x, weight, bias, stride, padding, dilation):
    """y[n, o] = sum_{c,i,j} W[o, c, i, j] x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw] (+ b[o]):
    x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None -> (N, O, OH, OW)."""
    xp = array_module(x)
    plan = ConvPlan(x.shape, weight.shape[2:], stride, padding, dilation)
    matrix = weight.reshape(weight.shape[0], plan.rows)                       # (O, C*kh*kw)
    y = xp.empty((x.shape[0], weight.shape[0], plan.out_h, plan.out_w), dtype=xp.result_type(x, weight))
    for chunk in plan.chunks(x.shape[0], x.itemsize, xp):
        products = plan.outputs(matrix @ plan.columns(x[chunk]))             # (n, O, OH, OW)
        if bias is None:
            y[chunk] = products
        else:
            xp.add(products, bias.reshape(-1, 1, 1), out=y[chunk])
    return y


def conv2d_input_grad(gy, weight, input_shape, stride, padding, dilation):
    """The adjoint of conv2d in x (a transposed convolution): dx = col2im(W^T dy), for dy
    (N, O, OH, OW) and weight (O, C, kh, kw) -> input_shape (N, C, H, W)."""
    xp = array_module(gy)
    plan = ConvPlan(input_shape, weight.shape[2:], stride, padding, dilation)
    transposed = weight.reshape(weight.shape[0], plan.rows).T                # (C*kh*kw, O)
    gx = xp.empty(input_shape, dtype=xp.result_type(gy, weight))
    for chunk in plan.chunks(input_shape[0], gy.itemsize, xp):
        cols = transposed @ plan.gradient_matrix(gy[chunk])                  # (C*kh*kw, n*OH*row)
        gx[chunk] = plan.add_columns(cols, chunk.stop - chunk.start)
    return gx


def conv2d_weight_grad(x, gy, kernel_size, stride, padding, dilation):
    """dW[o, c, i, j] = sum_{n,oh,ow} dy[n, o, oh, ow] x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]:
    conv2d's gradient in its weight, for x (N, C, H, W) and dy (N, O, OH, OW) -> (O, C, kh, kw)."""
    xp = array_module(x)
    plan = ConvPlan(x.shape, kernel_size, stride, padding, dilation)
    out_channels = gy.shape[1]
    gw_transposed = xp.zeros((plan.rows, out_channels), dtype=xp.result_type(x, gy))   # (C*kh*kw, O)
    for chunk in plan.chunks(x.shape[0], x.itemsize, xp):
        gw_transposed += plan.columns(x[chunk]) @ plan.gradient_matrix(gy[chunk]).T   # BLAS's faster order
    return xp.ascontiguousarray(gw_transposed.T).reshape((out_channels, x.shape[1]) + tuple(kernel_size))


KERNELS = {
    "sgd_update": sgd_update,
    "adam_update": adam_update,
    "rmsprop_update": rmsprop_update,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "logsumexp": logsumexp,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "bce_with_logits": bce_with_logits,
    "gelu": gelu,
    "gelu_grad": gelu_grad,
    "layer_norm": layer_norm,
    "layer_norm_grad": layer_norm_grad,
    "im2col": im2col,
    "col2im": col2im,
    "conv2d": conv2d,
    "conv2d_input_grad": conv2d_input_grad,
    "conv2d_weight_grad": conv2d_weight_grad,
}
