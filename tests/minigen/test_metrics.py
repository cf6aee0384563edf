"""minigen.metrics against hand-computed cases and closed forms."""
import math
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import autograd
from minigen import metrics

TINY_CLASSIFIER = {"hidden": (16, 8), "epochs": 2, "batch_size": 128, "lr": 3e-3, "seed": 0, "version": 1}


def test_frechet_distance_of_gaussian_samples_matches_closed_form(rng):
    # Diagonal covariances commute: FD = |m1 - m2|^2 + sum_i (s1_i - s2_i)^2.
    mean_a, mean_b = np.array([0.0, 1.0, -1.0]), np.array([0.5, 1.0, 0.0])
    std_a, std_b = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5])
    a = mean_a + std_a * rng.standard_normal((200_000, 3))
    b = mean_b + std_b * rng.standard_normal((200_000, 3))
    expected = ((mean_a - mean_b) ** 2).sum() + ((std_a - std_b) ** 2).sum()
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, abs=0.03)


def test_frechet_distance_equals_the_formula_with_a_general_square_root(rng):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = rng.standard_normal((50, 4)) @ rng.standard_normal((4, 4))
    b = rng.standard_normal((60, 4)) @ rng.standard_normal((4, 4)) + 1.0
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cross = scipy_linalg.sqrtm(cov_a @ cov_b).real
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * cross)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


@given(arrays(np.float64, (12, 3), elements=st.floats(-5, 5)), arrays(np.float64, (9, 3), elements=st.floats(-5, 5)))
def test_frechet_distance_is_symmetric_nonnegative_and_zero_on_itself(a, b):
    forward, backward = metrics.frechet_distance(a, b), metrics.frechet_distance(b, a)
    assert forward >= 0 and forward == pytest.approx(backward, rel=1e-6, abs=1e-6)
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(ValueError, match="dimensions"):
        metrics.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))


def test_mmd_by_hand():
    x, y = np.array([[0.0], [1.0]]), np.array([[3.0], [5.0]])
    k = lambda a, b: math.exp(-((a - b) ** 2) / 2)                 # bandwidth 1
    expected = k(0, 1) + k(3, 5) - 2 * (k(0, 3) + k(0, 5) + k(1, 3) + k(1, 5)) / 4
    assert metrics.mmd(x, y, bandwidth=1.0) == pytest.approx(expected, rel=1e-12)


def test_mmd_median_heuristic_by_hand():
    x, y = np.array([[0.0], [1.0]]), np.array([[3.0], [5.0]])
    # pooled distances 1, 3, 5, 2, 4, 2 -> median 2.5
    assert metrics.median_bandwidth(x, y) == 2.5
    assert metrics.mmd(x, y) == metrics.mmd(x, y, bandwidth=2.5)


def test_mmd_near_zero_for_identical_distributions_and_not_otherwise(rng):
    x, y = rng.standard_normal((400, 2)), rng.standard_normal((400, 2))
    assert abs(metrics.mmd(x, y)) < 0.01
    assert metrics.mmd(x, y + 1.5) > 0.1


def test_mmd_refuses_bad_bandwidth():
    with pytest.raises(ValueError, match="bandwidth"):
        metrics.mmd(np.zeros((3, 1)), np.ones((3, 1)), bandwidth=0)


def test_mode_coverage_by_hand():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    samples = np.array([[0.5, 0.0],      # mode 0, high quality
                        [2.9, 0.0],      # mode 0, high quality (2.9 <= 3)
                        [3.1, 0.0],      # mode 0, too far
                        [10.0, 2.0],     # mode 1, high quality
                        [5.0, 5.0]])     # nowhere
    assert metrics.mode_coverage(samples, centers, std=1.0) == (2, 3 / 5)


def test_mode_coverage_of_the_toy_itself():
    from minigen.data import TOY_CENTERS, TOY_STD, toy_2d
    modes, quality = metrics.mode_coverage(toy_2d("8gaussians", 2500), TOY_CENTERS["8gaussians"],
                                           TOY_STD["8gaussians"])
    assert modes == 8 and quality > 0.98


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGEN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_digits_fd_is_cached_deterministic_and_leaves_the_global_generator(cache, monkeypatch):
    from minigen.data import load_digits
    state_before = autograd.random.get_state()
    first = metrics.digits_features(load_digits("test")[:20], TINY_CLASSIFIER)
    assert autograd.random.get_state() == state_before
    assert first.shape == (20, 8)
    assert len(os.listdir(cache)) == 1 and os.listdir(cache)[0].endswith(".npz")
    monkeypatch.setattr(metrics, "_train_classifier", lambda data, settings: pytest.fail("retrained"))
    np.testing.assert_array_equal(metrics.digits_features(load_digits("test")[:20], TINY_CLASSIFIER), first)


def test_digits_fd_retrains_identically_from_scratch(cache, tmp_path, monkeypatch):
    from minigen.data import load_digits
    first = metrics.digits_features(load_digits("test")[:20], TINY_CLASSIFIER)
    monkeypatch.setenv("MINIGEN_CACHE", str(tmp_path / "other"))
    np.testing.assert_array_equal(metrics.digits_features(load_digits("test")[:20], TINY_CLASSIFIER), first)


def test_digits_fd_floor_is_below_noise(cache, rng):
    floor = metrics.digits_fd_floor(TINY_CLASSIFIER)
    noise = metrics.digits_fd(rng.random((300, 64)).astype(np.float32), TINY_CLASSIFIER)
    assert 0 <= floor < noise / 5


def test_digits_fd_refuses_other_images(cache):
    with pytest.raises(ValueError, match="8x8 digits"):
        metrics.digits_fd(np.zeros((10, 784), dtype=np.float32), TINY_CLASSIFIER)


def test_broken_cache_is_retrained(cache):
    from minigen.data import load_digits
    first = metrics.digits_features(load_digits("test")[:5], TINY_CLASSIFIER)
    (path,) = cache.iterdir()
    path.write_bytes(b"garbage")
    np.testing.assert_array_equal(metrics.digits_features(load_digits("test")[:5], TINY_CLASSIFIER), first)


def test_classifier_accuracy_of_given_images_and_labels(cache):
    from minigen.data import load_digits
    X, y = load_digits("test", return_labels=True)
    predicted = metrics.predicted_labels(X, "digits", TINY_CLASSIFIER)
    assert predicted.shape == (300,) and set(np.unique(predicted)) <= set(range(10))
    assert metrics.classifier_accuracy(TINY_CLASSIFIER) == pytest.approx((predicted == y).mean())
    assert metrics.classifier_accuracy(TINY_CLASSIFIER, images=X[:50], labels=predicted[:50]) == 1.0
    wrong = (predicted[:50] + 1) % 10
    assert metrics.classifier_accuracy(TINY_CLASSIFIER, images=X[:50], labels=wrong) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.classifier_accuracy(TINY_CLASSIFIER, images=np.zeros((3, 64))), "both images and labels"),
    (lambda: metrics.classifier_accuracy(TINY_CLASSIFIER, images=np.zeros((3, 64)), labels=np.zeros(4)),
     r"shape \(3,\)"),
    (lambda: metrics.classifier_fd(np.zeros((3, 64)), "cifar10"), "digits, mnist"),
    (lambda: metrics.digits_fd(np.zeros(64), TINY_CLASSIFIER), r"shape \(64,\)"),
])
def test_classifier_metrics_refuse_bad_arguments_in_one_line(cache, call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
