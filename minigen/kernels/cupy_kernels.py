"""CuPy versions of the model kernels: one ElementwiseKernel each, same signature as `reference.py`
(gibbs_step: the reference's sweep with the fused bernoulli_layer, so two cuBLAS products and two
launches a sweep).  The sigmoid is computed in float64 and rounded to the arrays' dtype, so the
probabilities agree with the reference's to rounding, and a sample can differ from the reference's
where u lies within that rounding of p (about 1e-7 of the float32 draws).

Imported only when the cupy backend is chosen; a call on host arrays goes to the NumPy reference.
"""
import math

import cupy

from autograd.kernels.cupy_kernels import device_or_host
from autograd.tensor import Array

from . import reference

SIGMOID = """
__device__ double minigen_sigmoid(double x) {
    double e = exp(-fabs(x));                                   // in (0, 1]: never overflows
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
"""

_sample_bernoulli = cupy.ElementwiseKernel(
    "T logits, U uniforms", "T probs, T samples",
    """
    double p = minigen_sigmoid((double)logits);                 // p = sigmoid(logits)
    probs = (T)p;
    samples = (double)uniforms < p ? (T)1 : (T)0;               // s = 1[u < p]
    """,
    "minigen_sample_bernoulli", preamble=SIGMOID)


def sample_bernoulli(logits: Array, uniforms: Array) -> tuple[Array, Array]:
    probs = cupy.empty_like(logits)
    samples = cupy.empty_like(logits)
    _sample_bernoulli(logits, uniforms, probs, samples)
    return probs, samples


_bernoulli_layer = cupy.ElementwiseKernel(
    "T inputs, T bias, U uniforms", "T logits, T probs, T samples",
    """
    logits = inputs + bias;                                     // the bias broadcasts over rows
    double p = minigen_sigmoid((double)logits);
    probs = (T)p;
    samples = (double)uniforms < p ? (T)1 : (T)0;
    """,
    "minigen_bernoulli_layer", preamble=SIGMOID)

_probability_layer = cupy.ElementwiseKernel(
    "T inputs, T bias", "T logits, T probs",
    """
    logits = inputs + bias;
    probs = (T)minigen_sigmoid((double)logits);
    """,
    "minigen_probability_layer", preamble=SIGMOID)


def bernoulli_layer(inputs: Array, bias: Array, uniforms: Array | None = None) -> tuple[Array, Array, Array | None]:
    """One launch for the bias, the sigmoid and the threshold of a layer (three outputs)."""
    if uniforms is None:
        return (*_probability_layer(inputs, bias.astype(inputs.dtype, copy=False)), None)
    return _bernoulli_layer(inputs, bias.astype(inputs.dtype, copy=False), uniforms)


_langevin = cupy.ElementwiseKernel(
    "T x, T score, T noise, T step_size, T noise_scale", "T out",
    "out = x + step_size * score + noise_scale * noise;",       # x + e s + sqrt(2 e) z
    "minigen_langevin_step")


def langevin_step(x: Array, score: Array, noise: Array, step_size: float) -> Array:
    t = x.dtype.type
    step_size = float(step_size)
    return _langevin(x, score, noise, t(step_size), t(math.sqrt(2 * step_size)))


_ddpm = cupy.ElementwiseKernel(
    "T x, T eps, T noise, T coef_x, T coef_eps, T sigma", "T out",
    "out = coef_x * (x - coef_eps * eps) + sigma * noise;",
    "minigen_ddpm_step")


def ddpm_step(x: Array, eps: Array, noise: Array, coef_x: float, coef_eps: float, sigma: float) -> Array:
    t = x.dtype.type
    return _ddpm(x, eps, noise, t(float(coef_x)), t(float(coef_eps)), t(float(sigma)))


KERNELS = {name: device_or_host(device_kernel, reference.KERNELS[name]) for name, device_kernel in {
    "sample_bernoulli": sample_bernoulli,
    "bernoulli_layer": bernoulli_layer,
    "gibbs_step": reference.gibbs_sweep(bernoulli_layer),      # two cuBLAS products, two fused launches
    "langevin_step": langevin_step,
    "ddpm_step": ddpm_step,
}.items()}
