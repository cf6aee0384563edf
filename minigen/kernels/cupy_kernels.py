"""CuPy versions of the model kernels: one ElementwiseKernel each, same signature as `reference.py`.

Imported only when the cupy backend is chosen; a call on host arrays goes to the NumPy reference.
"""
import math

import cupy

from autograd.kernels.cupy_kernels import device_or_host

from . import reference

_sample_bernoulli = cupy.ElementwiseKernel(
    "T logits, U uniforms", "T probs, T samples",
    """
    double x = (double)logits;
    double e = exp(-fabs(x));                                   // in (0, 1]: never overflows
    double p = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);        // p = sigmoid(logits)
    probs = (T)p;
    samples = (double)uniforms < p ? (T)1 : (T)0;               // s = 1[u < p]
    """,
    "minigen_sample_bernoulli")


def sample_bernoulli(logits, uniforms):
    probs = cupy.empty_like(logits)
    samples = cupy.empty_like(logits)
    _sample_bernoulli(logits, uniforms, probs, samples)
    return probs, samples


_langevin = cupy.ElementwiseKernel(
    "T x, T score, T noise, T step_size, T noise_scale", "T out",
    "out = x + step_size * score + noise_scale * noise;",       # x + e s + sqrt(2 e) z
    "minigen_langevin_step")


def langevin_step(x, score, noise, step_size):
    t = x.dtype.type
    step_size = float(step_size)
    return _langevin(x, score, noise, t(step_size), t(math.sqrt(2 * step_size)))


_ddpm = cupy.ElementwiseKernel(
    "T x, T eps, T noise, T coef_x, T coef_eps, T sigma", "T out",
    "out = coef_x * (x - coef_eps * eps) + sigma * noise;",
    "minigen_ddpm_step")


def ddpm_step(x, eps, noise, coef_x, coef_eps, sigma):
    t = x.dtype.type
    return _ddpm(x, eps, noise, t(float(coef_x)), t(float(coef_eps)), t(float(sigma)))


KERNELS = {name: device_or_host(device_kernel, reference.KERNELS[name]) for name, device_kernel in {
    "sample_bernoulli": sample_bernoulli,
    "langevin_step": langevin_step,
    "ddpm_step": ddpm_step,
}.items()}
