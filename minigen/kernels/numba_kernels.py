"""Numba versions of the model kernels: same signatures and numbers as `reference.py`.

bernoulli_layer (and gibbs_step, which is made of it): one compiled pass adds the bias, NumPy takes
the exp, and a second compiled pass turns e = exp(-|x|) into the probabilities and the samples,

    p = 1 / (1 + e)  for x >= 0,   e / (1 + e)  for x < 0;      s = 1[u < p]

where the reference makes about ten passes with a temporary each.  The exp stays NumPy's: it is
vectorized, where a compiled loop calls a scalar exp (the whole layer in one loop took twice as
long), and it gives the values the reference's sigmoid uses (its e^min(x, 0) is e for x < 0 and
exactly 1 otherwise), so both backends compute the same probabilities and draw the same samples, bit
for bit.  The matrix products of gibbs_step stay NumPy's too (BLAS).  A call that falls outside what
the loops handle (not host arrays, not C-contiguous, mixed dtypes) goes to the reference.  Nothing
compiles at import: `@njit(cache=True)` without signatures compiles on the first call for each
dtype (and for uniforms given or None).
"""
import numpy as np

from autograd.kernels import numba_kernels  # noqa: F401  (settles NUMBA_CACHE_DIR before numba is imported)
from numba import njit

from autograd.tensor import Array

from . import reference


@njit(cache=True, error_model="numpy")
def _add_bias(inputs, bias, logits, minus_magnitude):
    """logits = inputs + bias;  minus_magnitude = -|logits|   (the argument of the exp)"""
    for i in range(inputs.shape[0]):
        for j in range(inputs.shape[1]):
            x = inputs[i, j] + bias[j]
            logits[i, j] = x
            minus_magnitude[i, j] = -abs(x)


@njit(cache=True, error_model="numpy")
def _sigmoid_and_threshold(logits, probs, uniforms, samples):
    """probs = sigmoid(logits), in place of e = exp(-|logits|) held in probs;  samples = 1[u < probs]
    where uniforms are given (None compiles a loop without the threshold)"""
    one, zero = probs.dtype.type(1), probs.dtype.type(0)
    for i in range(logits.shape[0]):
        for j in range(logits.shape[1]):
            e = probs[i, j]
            p = (one if logits[i, j] >= 0 else e) / (one + e)
            probs[i, j] = p
            if uniforms is not None:
                samples[i, j] = one if uniforms[i, j] < p else zero


def _loops_apply(inputs, bias, uniforms):
    """Whether the loops take these arrays: C-contiguous host float arrays of one dtype, inputs (n, m),
    bias (m,) and uniforms (n, m) or None."""
    arrays = (inputs, bias) if uniforms is None else (inputs, bias, uniforms)
    return (all(type(a) is np.ndarray and a.dtype == inputs.dtype and a.flags.c_contiguous for a in arrays)
            and inputs.dtype.kind == "f" and inputs.ndim == 2 and bias.shape == inputs.shape[1:]
            and (uniforms is None or uniforms.shape == inputs.shape))


def bernoulli_layer(inputs: Array, bias: Array, uniforms: Array | None = None) -> tuple[Array, Array, Array | None]:
    if not _loops_apply(inputs, bias, uniforms):
        return reference.bernoulli_layer(inputs, bias, uniforms)
    logits, probs = np.empty_like(inputs), np.empty_like(inputs)
    samples = None if uniforms is None else np.empty_like(inputs)
    _add_bias(inputs, bias, logits, probs)                      # probs holds -|logits| ...
    np.exp(probs, out=probs)                                    # ... then e = exp(-|logits|) ...
    _sigmoid_and_threshold(logits, probs, uniforms, samples)    # ... then sigmoid(logits)
    return logits, probs, samples


KERNELS = {
    "bernoulli_layer": bernoulli_layer,
    "gibbs_step": reference.gibbs_sweep(bernoulli_layer),
}
