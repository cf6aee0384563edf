"""CuPy versions of the hot-path kernels: same signatures and formulas as `reference.py`.

On a GPU a training step is bound by kernel launches, not arithmetic, so each kernel here is one
ElementwiseKernel where the reference launches several (Adam: ~10 launches -> 1).  The reference
functions already run on CuPy arrays (they use `xp`), so kernels not listed in KERNELS (logsumexp,
softmax, log_softmax, layer norm, im2col, col2im, the convolutions) run as the reference on the
device.  A call on host arrays (a
CPU tensor under the cupy backend) goes to the NumPy reference too: an ElementwiseKernel refuses
NumPy arrays with a TypeError.  Only this module imports cupy, and only when the cupy backend is
chosen; each kernel compiles on its first call per dtype.

Scalars are passed as the array's dtype (float32 stays float32).  Random numbers never come from
here: the caller draws uniforms / noise with `autograd.random.generator("cuda")`.
"""
import math

import cupy

from . import reference

_adam = cupy.ElementwiseKernel(
    "T grad, T lr_bias1, T one_minus_beta1, T one_minus_beta2, T inv_sqrt_bias2, T eps, "
    "T weight_decay, T param_scale",
    "T param, T exp_avg, T exp_avg_sq",
    """
    T p = param * param_scale;                                  // AdamW: param *= 1 - lr wd
    T g = grad + weight_decay * p;                              // Adam: g + wd param
    exp_avg = exp_avg + one_minus_beta1 * (g - exp_avg);        // m = b1 m + (1 - b1) g
    exp_avg_sq = exp_avg_sq + one_minus_beta2 * (g * g - exp_avg_sq);   // v = b2 v + (1 - b2) g^2
    param = p - lr_bias1 * exp_avg / (sqrt(exp_avg_sq) * inv_sqrt_bias2 + eps);
    """,
    "minigen_adam_update")


def adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step, weight_decay, decoupled):
    t = param.dtype.type
    bias1, bias2 = 1 - beta1 ** step, 1 - beta2 ** step
    _adam(grad.astype(param.dtype, copy=False), t(lr / bias1), t(1 - beta1), t(1 - beta2),
          t(1 / math.sqrt(bias2)), t(eps), t(0.0 if decoupled else weight_decay),
          t(1 - lr * weight_decay if decoupled else 1.0), param, exp_avg, exp_avg_sq)


_sgd = cupy.ElementwiseKernel(
    "T grad, T lr, T weight_decay", "T param",
    "param = param - lr * (grad + weight_decay * param);",
    "minigen_sgd_update")

_sgd_momentum = cupy.ElementwiseKernel(
    "T grad, T lr, T momentum, T weight_decay", "T param, T velocity",
    """
    velocity = velocity * momentum + (grad + weight_decay * param);   // v = momentum v + g
    param = param - lr * velocity;
    """,
    "minigen_sgd_momentum_update")


def sgd_update(param, grad, velocity, lr, momentum, weight_decay):
    t = param.dtype.type
    grad = grad.astype(param.dtype, copy=False)
    if momentum:
        _sgd_momentum(grad, t(lr), t(momentum), t(weight_decay), param, velocity)
    else:
        _sgd(grad, t(lr), t(weight_decay), param)


_rmsprop = cupy.ElementwiseKernel(
    "T grad, T lr, T alpha, T one_minus_alpha, T eps, T weight_decay", "T param, T square_avg",
    """
    T g = grad + weight_decay * param;
    square_avg = square_avg * alpha + one_minus_alpha * g * g;   // v = alpha v + (1 - alpha) g^2
    param = param - lr * g / (sqrt(square_avg) + eps);
    """,
    "minigen_rmsprop_update")


def rmsprop_update(param, grad, square_avg, lr, alpha, eps, weight_decay):
    t = param.dtype.type
    _rmsprop(grad.astype(param.dtype, copy=False), t(lr), t(alpha), t(1 - alpha), t(eps),
             t(weight_decay), param, square_avg)


_sigmoid = cupy.ElementwiseKernel(
    "T x", "T out",
    "T e = exp(-fabs(x)); out = x >= 0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e);",
    "minigen_sigmoid")

_softplus = cupy.ElementwiseKernel(
    "T x", "T out", "out = fmax(x, (T)0) + log1p(exp(-fabs(x)));", "minigen_softplus")

_bce_with_logits = cupy.ElementwiseKernel(
    "T logits, U targets", "T out",
    "out = fmax(logits, (T)0) - logits * (T)targets + log1p(exp(-fabs(logits)));",
    "minigen_bce_with_logits")


_gelu = cupy.ElementwiseKernel(
    "T x, T c, T k", "T y",
    "y = (T)0.5 * x * ((T)1 + tanh(x * (c + c * k * x * x)));",      # 0.5 x (1 + tanh(c (x + k x^3)))
    "minigen_gelu")

_gelu_grad = cupy.ElementwiseKernel(
    "T gy, T x, T c, T k", "T g",
    """
    T t = tanh(x * (c + c * k * x * x));                          // t = tanh(c (x + k x^3))
    g = gy * ((T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * c * ((T)1 + (T)3 * k * x * x));
    """,
    "minigen_gelu_grad")


def gelu(x):
    t = x.dtype.type
    return _gelu(x, t(reference.GELU_C), t(reference.GELU_K))


def gelu_grad(gy, x):
    dtype = cupy.result_type(gy, x)
    t = dtype.type
    return _gelu_grad(gy.astype(dtype, copy=False), x.astype(dtype, copy=False), t(reference.GELU_C),
                      t(reference.GELU_K))


def sigmoid(x):
    return _sigmoid(x)


def softplus(x):
    return _softplus(x)


def bce_with_logits(logits, targets):
    return _bce_with_logits(logits, targets)


def device_or_host(device_kernel, host_kernel):
    """`device_kernel` when the first argument is a CuPy array, else `host_kernel` (the NumPy reference)."""
    def dispatch(first, *args):
        return (device_kernel if isinstance(first, cupy.ndarray) else host_kernel)(first, *args)
    return dispatch


KERNELS = {name: device_or_host(device_kernel, reference.KERNELS[name]) for name, device_kernel in {
    "sgd_update": sgd_update,
    "adam_update": adam_update,
    "rmsprop_update": rmsprop_update,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "bce_with_logits": bce_with_logits,
    "gelu": gelu,
    "gelu_grad": gelu_grad,
}.items()}
