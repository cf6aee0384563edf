"""Theis et al. 2016's two traps: mixing in 99% noise costs at most log 100 nats per image, and a
memorizer's likelihood is the kernel density (3), computed here by brute force."""
import math

import numpy as np
import pytest

from minigen.data import load_digits
from minigen.models import Memorizer, MixtureOfBernoullis, NoisyMixture


@pytest.fixture(scope="module")
def digits():
    return load_digits("train", binarize=True)[:300], load_digits("test", binarize=True)[:100]


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_mixing_in_noise_costs_at_most_log_one_over_alpha(digits, alpha):
    X, X_test = digits
    good = MixtureOfBernoullis(5).fit(X, epochs=5)
    noisy = NoisyMixture(good, alpha=alpha)
    gap = good.log_prob(X_test) - noisy.log_prob(X_test)
    assert np.all(gap <= math.log(1 / alpha) + 1e-9) and np.all(gap > 0)
    noise = math.log1p(-alpha) - 64 * math.log(2)
    np.testing.assert_allclose(noisy.log_prob(X_test), np.logaddexp(math.log(alpha) + good.log_prob(X_test), noise))
    drawn = noisy.sample(4000, seed=0)
    from_noise = good.log_prob(drawn) < -64 * math.log(2)        # likelier as noise than as a digit
    assert abs(from_noise.mean() - (1 - alpha)) < 0.05


def test_the_memorizer_is_the_flip_kernel_density(digits):
    X, X_test = digits
    eps = 0.05
    model = Memorizer(64, eps=eps).fit(X[:20])
    x = X_test[0]
    brute = np.log(np.mean([np.prod(np.where(x == t, 1 - eps, eps)) for t in X[:20]]))
    assert model.log_prob(x[None])[0] == pytest.approx(brute, rel=1e-10)
    drawn = model.sample(2000, seed=1)
    nearest = np.min(np.abs(drawn[:, None, :] - X[:20][None]).sum(axis=2), axis=1)   # flipped pixels
    assert nearest.mean() == pytest.approx(64 * eps, rel=0.15)
    assert model.score(X[:20]) > model.score(X_test)            # it remembers its training images
