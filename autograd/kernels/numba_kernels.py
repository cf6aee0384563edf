"""Numba versions of the hot-path kernels: same signatures and numerics as `reference.py`.

Each kernel is one compiled pass over memory where NumPy makes several (the fused optimizer
updates read each parameter, gradient and state element once).  Only kernels measured at least 2x
faster than their reference at the benchmark's sizes are here; the rest of the table is the NumPy
reference (benchmarks/RESULTS.md says what was measured and removed: the elementwise sigmoid,
softplus and BCE lose to NumPy's vectorized exp/log1p, the Langevin and DDPM steps on
digit-size batches are dominated by the call itself, im2col is one strided copy in NumPy already,
and the float64 exp of sample_bernoulli kept it at 1.5x).  The compiled loops work on flat
C-contiguous arrays; a call that falls outside what a loop handles (non-contiguous, mismatched shapes
or dtypes, CuPy arrays) goes to the NumPy reference, so the result never depends on it.

Scalars are cast to the array's dtype before they enter a loop and no literal appears inside one,
so float32 stays float32 and the arithmetic is done in the reference's order (LLVM may fuse a
multiply-add, so results agree with the reference to float rounding, not always bit for bit).
Nothing compiles at import: `@njit(cache=True)` without signatures compiles on the first call for
each dtype and keeps the machine code in NUMBA_CACHE_DIR (a user cache directory when the package
directory is read-only).

The loops are serial: they are bound by memory traffic, and on the machines measured
(benchmarks/RESULTS.md) a `prange` launch cost more than it saved at every size the models use.
`error_model="numpy"` lets division vectorize (no ZeroDivisionError check per element).
"""
import math
import os

import numpy as np

from . import reference


def _default_cache_dir():
    """Point NUMBA_CACHE_DIR at a user cache directory when the package directory is read-only."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.access(os.path.dirname(__file__), os.W_OK):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(base, "minigen", "numba")


_default_cache_dir()

from numba import njit  # noqa: E402  (after NUMBA_CACHE_DIR is settled)


# -- helpers --------------------------------------------------------------------------------

def _flat(*arrays):
    """Flat views of same-shape C-contiguous float arrays of one dtype, or None if any is not."""
    first = arrays[0]
    for a in arrays:
        if (type(a) is not np.ndarray or a.shape != first.shape or a.dtype.kind != "f"
                or a.dtype != first.dtype or not a.flags.c_contiguous):
            return None
    return [a.reshape(-1) for a in arrays]


def _contiguous_like(grad, param):
    """grad as a C-contiguous array of param's dtype (the gradient may be a transposed view)."""
    if type(grad) is not np.ndarray or grad.shape != param.shape:
        return None
    return np.ascontiguousarray(grad, dtype=param.dtype)


# -- optimizer updates (in place, one pass over each parameter) -----------------------------

@njit(cache=True, error_model="numpy")
def _adam(p, g, m, v, lr_bias1, one_minus_beta1, one_minus_beta2, inv_sqrt_bias2, eps,
          weight_decay, param_scale):
    for i in range(p.size):
        pi = p[i] * param_scale                          # AdamW: param *= 1 - lr wd
        gi = g[i] + weight_decay * pi                    # Adam: g + wd param (wd = 0 for AdamW)
        mi = m[i] + one_minus_beta1 * (gi - m[i])        # m = b1 m + (1 - b1) g
        vi = v[i] + one_minus_beta2 * (gi * gi - v[i])   # v = b2 v + (1 - b2) g^2
        m[i] = mi
        v[i] = vi
        p[i] = pi - lr_bias1 * mi / (np.sqrt(vi) * inv_sqrt_bias2 + eps)


def adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step, weight_decay, decoupled):
    contiguous_grad = _contiguous_like(grad, param)
    flat = None if contiguous_grad is None else _flat(param, contiguous_grad, exp_avg, exp_avg_sq)
    if flat is None:
        return reference.adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step,
                                     weight_decay, decoupled)
    t = param.dtype.type
    coupled_decay = 0.0 if decoupled else weight_decay
    param_scale = 1 - lr * weight_decay if decoupled else 1.0
    bias1, bias2 = 1 - beta1 ** step, 1 - beta2 ** step
    _adam(*flat, t(lr / bias1), t(1 - beta1), t(1 - beta2), t(1 / math.sqrt(bias2)), t(eps),
          t(coupled_decay), t(param_scale))


@njit(cache=True, error_model="numpy")
def _sgd(p, g, lr, weight_decay):
    for i in range(p.size):
        p[i] = p[i] - lr * (g[i] + weight_decay * p[i])  # param -= lr (g + wd param)


@njit(cache=True, error_model="numpy")
def _sgd_momentum(p, g, velocity, lr, momentum, weight_decay):
    for i in range(p.size):
        vi = velocity[i] * momentum + (g[i] + weight_decay * p[i])   # v = momentum v + g
        velocity[i] = vi
        p[i] = p[i] - lr * vi


def sgd_update(param, grad, velocity, lr, momentum, weight_decay):
    contiguous_grad = _contiguous_like(grad, param)
    flat = None if contiguous_grad is None else _flat(param, contiguous_grad,
                                                     *([velocity] if momentum else []))
    if flat is None:
        return reference.sgd_update(param, grad, velocity, lr, momentum, weight_decay)
    t = param.dtype.type
    if momentum:
        _sgd_momentum(*flat, t(lr), t(momentum), t(weight_decay))
    else:
        _sgd(*flat, t(lr), t(weight_decay))


@njit(cache=True, error_model="numpy")
def _rmsprop(p, g, s, lr, alpha, one_minus_alpha, eps, weight_decay):
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        si = s[i] * alpha + one_minus_alpha * gi * gi   # v = alpha v + (1 - alpha) g^2
        s[i] = si
        p[i] = p[i] - lr * gi / (np.sqrt(si) + eps)     # param -= lr g / (sqrt v + eps)


def rmsprop_update(param, grad, square_avg, lr, alpha, eps, weight_decay):
    contiguous_grad = _contiguous_like(grad, param)
    flat = None if contiguous_grad is None else _flat(param, contiguous_grad, square_avg)
    if flat is None:
        return reference.rmsprop_update(param, grad, square_avg, lr, alpha, eps, weight_decay)
    t = param.dtype.type
    _rmsprop(*flat, t(lr), t(alpha), t(1 - alpha), t(eps), t(weight_decay))


# -- convolution: columns back to patches -----------------------------------------------

@njit(cache=True, error_model="numpy")
def _col2im(cols, x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w):
    n_images, channels, height, width = x.shape
    for n in range(n_images):
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    for oh in range(out_h):
                        ih = oh * sh - ph + i * dh
                        if ih < 0 or ih >= height:
                            continue
                        for ow in range(out_w):
                            iw = ow * sw - pw + j * dw
                            if 0 <= iw < width:
                                x[n, c, ih, iw] += cols[n, row, oh * out_w + ow]


def col2im(cols, input_shape, kernel_size, stride, padding, dilation):
    """The adjoint of im2col: each column entry is added back to the pixel it was read from."""
    if type(cols) is not np.ndarray or cols.ndim != 3 or cols.dtype.kind != "f":
        return reference.col2im(cols, input_shape, kernel_size, stride, padding, dilation)
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    out_h = reference.conv_output_size(h, kh, sh, ph, dh)
    out_w = reference.conv_output_size(w, kw, sw, pw, dw)
    x = np.zeros((n, c, h, w), dtype=cols.dtype)
    _col2im(cols, x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w)
    return x


KERNELS = {
    "sgd_update": sgd_update,
    "adam_update": adam_update,
    "rmsprop_update": rmsprop_update,
    "col2im": col2im,
}
