"""Shared Hypothesis strategies: broadcastable shapes, float64 arrays inside an op's domain,
random upstream gradients.  Reusable by every test module (`from tests.strategies import ...`).

Sizes stay small on purpose: a float64 gradcheck evaluates the function twice per input element.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """One array shape; 0-d scalars and size-1 axes included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def mutually_broadcastable(n, min_dims=0, max_dims=3, max_side=4):
    """A tuple of `n` shapes that broadcast together (size-1 axes, missing axes and scalars)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             min_side=1, max_side=max_side).map(lambda s: s.input_shapes)


def float64_arrays(shape, low=-3.0, high=3.0, unique=False):
    """float64 arrays of `shape` with values in [low, high] (the op's domain).

    unique=True keeps every element distinct, so max/min/sort-like ops have no ties."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


def positive_arrays(shape, low=0.5, high=3.0):
    """float64 arrays inside the domain of log, sqrt and a pow base."""
    return float64_arrays(shape, low, high)


def away_from(shape, points, margin=0.05, low=-3.0, high=3.0):
    """float64 arrays whose elements keep `margin` from each of `points` (kinks of relu, abs, clip)."""
    def far(value):
        return all(abs(value - p) > margin for p in points)
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64).filter(far)
    return hnp.arrays(np.float64, shape, elements=elements)


def upstream_gradients(shape):
    """A random upstream gradient of `shape` (standard normal, drawn by Hypothesis' seed)."""
    return st.integers(0, 2**32 - 1).map(lambda seed: np.random.default_rng(seed).standard_normal(shape))


seeds = st.integers(0, 2**16)


def separated_arrays(shape, spacing=0.1, offset=0.0, unique=True):
    """float64 arrays on the grid offset + spacing * k, |k| <= 60: elements never tie (unique=True)
    and never meet another array drawn with a different offset, so max/min/maximum have no ties
    within a finite-difference step."""
    elements = st.integers(-60, 60).map(lambda k: offset + spacing * k)
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)
