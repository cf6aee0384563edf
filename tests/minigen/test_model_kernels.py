"""The model kernels (minigen.kernels): their references follow their equations, and they are
registered into the engine's kernel table on every backend."""
import numpy as np

from autograd import backend
from minigen.kernels import reference


def draw_array(seed, shape, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_sample_bernoulli_reference_is_sigmoid_then_threshold():
    logits = np.array([-800.0, -1.0, 0.0, 2.0, 800.0], dtype=np.float32)
    uniforms = np.array([0.5, 0.2, 0.5, 0.9, 0.999], dtype=np.float32)
    probs, samples = reference.sample_bernoulli(logits, uniforms)
    np.testing.assert_allclose(probs, [0.0, 0.26894142, 0.5, 0.88079708, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(samples, [0, 1, 0, 0, 1])


def test_langevin_and_ddpm_references_follow_their_equations():
    x, score, noise = (draw_array(k, (4, 5), np.float32) for k in range(3))
    out = reference.langevin_step(x, score, noise, np.float64(0.01))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x + 0.01 * score + np.sqrt(0.02) * noise, rtol=1e-6)
    alpha, alphabar = 0.98, 0.5
    out = reference.ddpm_step(x, score, noise, 1 / np.sqrt(alpha), (1 - alpha) / np.sqrt(1 - alphabar), 0.1)
    expected = (x - (1 - alpha) / np.sqrt(1 - alphabar) * score) / np.sqrt(alpha) + 0.1 * noise
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_the_model_kernels_are_in_every_backend_table():
    for name in ("numpy", "numba"):
        with backend.use_backend(name):
            for kernel_name, fn in reference.KERNELS.items():
                assert backend.kernel(kernel_name) is fn
