"""NumPy references of the model kernels: the sampling steps of RBMs, Langevin dynamics and DDPM.

They are model math, so they live here and are registered into the engine's kernel table
(`autograd.backend.register_kernels`); each has the signature its faster versions keep.  The caller
draws the uniforms and the noise, so every backend agrees with the reference bit for bit.  Every
function works on NumPy and CuPy arrays alike (`@` and the engine's sigmoid follow the array).
"""
import math
from typing import Callable

from autograd.kernels.reference import sigmoid
from autograd.tensor import Array

Layer = Callable[[Array, Array, Array | None], tuple[Array, Array, Array | None]]   # bernoulli_layer's signature


def sample_bernoulli(logits: Array, uniforms: Array) -> tuple[Array, Array]:
    """The Gibbs step of an RBM: p = sigmoid(logits);  s = 1[u < p]   ->  (p, s), both of logits.dtype

    p is computed in the logits' dtype (float32 halves the time of the float64 it once used).  NumPy
    and Numba share this code, so they draw the same samples; the CuPy kernel computes p in float64,
    so a sample can differ where u lies within float32 rounding of p (about 1e-7 of the draws)."""
    probs = sigmoid(logits)
    return probs, (uniforms < probs).astype(logits.dtype)


def bernoulli_layer(inputs: Array, bias: Array, uniforms: Array | None = None) -> tuple[Array, Array, Array | None]:
    """A layer of Bernoulli units of an RBM given the product from the other layer (rbm.py (4), (5)):

        logits = inputs + bias;   p = sigmoid(logits);   s = 1[u < p]

    -> (logits, p, s), all of inputs.dtype; s is None when no uniforms are given (probabilities only)."""
    logits = inputs + bias
    if uniforms is None:
        return logits, sigmoid(logits), None
    return (logits, *sample_bernoulli(logits, uniforms))


def gibbs_sweep(layer: Layer) -> Callable[..., tuple[Array, Array, Array, Array | None]]:
    """The kernel gibbs_step, with `layer` computing each layer's bias, sigmoid and threshold: the
    reference passes `bernoulli_layer`; the numba and cupy versions pass their fused ones."""
    def gibbs_step(hidden, W, vbias, hbias, visible_noise, hidden_uniforms=None, gaussian=False):
        """One sweep of block Gibbs sampling in an RBM (rbm.py (4), (5)), from binary hidden states:

            v = 1[u_v < sigmoid(h W' + b)]     Bernoulli visibles, u_v = visible_noise ~ U[0, 1)   (5)
            v = h W' + b + z                   Gaussian visibles,  z = visible_noise ~ N(0, I)     (5)
            logits = v W + c;   q = sigmoid(logits) = p(h = 1 | v)                                  (4)
            h' = 1[u_h < q]                    only when hidden_uniforms are given                  (4)

        hidden (n, H), W (D, H), vbias (D,), hbias (H,), visible_noise (n, D), hidden_uniforms (n, H).
        Returns (v, logits, q, h'), h' None without hidden_uniforms: the last sweep of a CD-k chain
        needs only the statistics q of its visibles, so the caller draws no uniforms it would not use."""
        field = hidden @ W.T                                                      # (n, D)
        if gaussian:
            visible = field + vbias + visible_noise                               # (5), Gaussian
        else:
            visible = layer(field, vbias, visible_noise)[2]                       # (5)
        logits, probs, hidden_next = layer(visible @ W, hbias, hidden_uniforms)   # (4), (n, H) each
        return visible, logits, probs, hidden_next
    return gibbs_step


gibbs_step = gibbs_sweep(bernoulli_layer)


def langevin_step(x: Array, score: Array, noise: Array, step_size: float) -> Array:
    """Unadjusted Langevin:  x' = x + eps * score(x) + sqrt(2 eps) * z,   z ~ N(0, I)"""
    step_size = float(step_size)                         # a Python float keeps x's dtype
    return x + step_size * score + math.sqrt(2 * step_size) * noise


def ddpm_step(x: Array, eps: Array, noise: Array, coef_x: float, coef_eps: float, sigma: float) -> Array:
    """DDPM ancestral step (Ho et al. 2020, Alg. 2):  x' = coef_x (x - coef_eps eps) + sigma z,
    with coef_x = 1 / sqrt(alpha_t) and coef_eps = beta_t / sqrt(1 - alphabar_t)."""
    coef_x, coef_eps, sigma = float(coef_x), float(coef_eps), float(sigma)
    return coef_x * (x - coef_eps * eps) + sigma * noise


KERNELS = {
    "sample_bernoulli": sample_bernoulli,
    "bernoulli_layer": bernoulli_layer,
    "gibbs_step": gibbs_step,
    "langevin_step": langevin_step,
    "ddpm_step": ddpm_step,
}
