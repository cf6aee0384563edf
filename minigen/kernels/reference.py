"""NumPy references of the model kernels: the sampling steps of RBMs, Langevin dynamics and DDPM.

They are model math, so they live here and are registered into the engine's kernel table
(`autograd.backend.register_kernels`); each has the signature its faster versions keep.  The caller
draws the uniforms and the noise, so every backend agrees with the reference bit for bit.
"""
import math

from autograd.kernels.reference import sigmoid


def sample_bernoulli(logits, uniforms):
    """The Gibbs step of an RBM: p = sigmoid(logits);  s = 1[u < p]   ->  (p, s), both of logits.dtype

    p is computed in the logits' dtype (float32 halves the time of the float64 it once used).  NumPy
    and Numba share this code, so they draw the same samples; the CuPy kernel computes p in float64,
    so a sample can differ where u lies within float32 rounding of p (about 1e-7 of the draws)."""
    probs = sigmoid(logits)
    return probs, (uniforms < probs).astype(logits.dtype)


def langevin_step(x, score, noise, step_size):
    """Unadjusted Langevin:  x' = x + eps * score(x) + sqrt(2 eps) * z,   z ~ N(0, I)"""
    step_size = float(step_size)                         # a Python float keeps x's dtype
    return x + step_size * score + math.sqrt(2 * step_size) * noise


def ddpm_step(x, eps, noise, coef_x, coef_eps, sigma):
    """DDPM ancestral step (Ho et al. 2020, Alg. 2):  x' = coef_x (x - coef_eps eps) + sigma z,
    with coef_x = 1 / sqrt(alpha_t) and coef_eps = beta_t / sqrt(1 - alphabar_t)."""
    coef_x, coef_eps, sigma = float(coef_x), float(coef_eps), float(sigma)
    return coef_x * (x - coef_eps * eps) + sigma * noise



KERNELS = {
    "sample_bernoulli": sample_bernoulli,
    "langevin_step": langevin_step,
    "ddpm_step": ddpm_step,
}
