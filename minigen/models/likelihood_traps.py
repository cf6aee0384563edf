"""Good likelihood does not mean good samples, nor the reverse (Theis, van den Oord and Bethge 2016,
"A note on the evaluation of generative models", section 3.2).

Mixing in noise   p_mix(x) = alpha p(x) + (1 - alpha) q(x),  q the noise model                 (1)
                  log p_mix(x) >= log alpha + log p(x)                                           (2)
                  so with alpha = 0.01 the average log-likelihood falls by at most log 100 = 4.61
                  nats per image, however large log p(x) is, while 99% of the samples are noise.
Memorizing        p_mem(x) = 1/N sum_n prod_d eps^[x_d != t_nd] (1 - eps)^[x_d = t_nd]          (3)
                  a kernel density on the N training images t_n with bit-flip probability eps: its
                  samples are training digits with a few flipped pixels (they look perfect, a
                  sample-quality score ranks them first), yet a test image that differs from every
                  training image in k pixels costs about k log(1 / eps) nats.

Both are GenerativeModels with exact log-likelihoods, so the two numbers a reader compares, the
likelihood and a sample-quality score, sit side by side (demos/72_likelihood_vs_samples.py).
"""
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from .base import GenerativeModel
from .common import seeded_generator


@dataclass
class NoDefaultsToTune:
    """Closed-form fits: nothing to tune."""


class NoisyMixture(GenerativeModel):
    """(1): a fitted model `good` mixed with uniform binary noise q(x) = 2^-D, weight alpha on `good`."""

    likelihood_kind = "exact"
    Defaults = NoDefaultsToTune
    binary = True

    def __init__(self, good: Any, alpha: float = 0.01) -> None:
        if isinstance(good, dict):                                    # a saved model's config
            good = GenerativeModel.by_name[good["class"]](**good["config"])
        if not 0 < alpha <= 1:
            raise ValueError(f"NoisyMixture: alpha must be in (0, 1], got {alpha}")
        if not isinstance(good, GenerativeModel) or good.likelihood_kind != "exact":
            raise TypeError("NoisyMixture: `good` must be a generative model with an exact likelihood")
        super().__init__(good={"class": good.name, "config": good.config}, alpha=float(alpha))
        self.good: Any = good                   # any family with an exact likelihood: fit, log_prob, sample
        self.alpha = float(alpha)
        self.data_shape = good.data_shape

    @property
    def n_input(self) -> int:
        return int(np.prod(self.good.data_shape))

    def fit(self, X: Any, **settings: Any) -> "NoisyMixture":
        """Fit the good model; the noise and alpha have nothing to learn."""
        self.good.fit(self.check_data(X, where="fit"), **settings)
        self.data_shape = self.good.data_shape
        return self

    def log_prob(self, X: Any) -> np.ndarray:
        """(1) per example, by log-sum-exp of the two weighted components: (n,)."""
        X = self.check_data(X, where="log_prob")
        good = math.log(self.alpha) + self.good.log_prob(X)                           # (n,)
        if self.alpha == 1:
            return good
        noise = math.log1p(-self.alpha) - self.n_input * math.log(2.0)                # log (1 - alpha) q(x)
        return np.logaddexp(good, noise)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """Each sample from `good` with probability alpha, else uniform bits: (n, D)."""
        rng = np.random.default_rng(seed)
        from_good = rng.random(n) < self.alpha                                        # (n,)
        samples = (rng.random((n, self.n_input)) < 0.5).astype(np.float32)            # (n, D) noise
        if from_good.any():
            samples[from_good] = np.asarray(self.good.sample(int(from_good.sum()), seed=seed)).reshape(-1, self.n_input)
        return samples

    def load_state_dict(self, state: Mapping[str, Any]) -> "NoisyMixture":
        """The state is the good model's (under "good."): it creates the buffers its fit makes."""
        self.good.load_state_dict({k[len("good."):]: v for k, v in state.items()})
        return self


class Memorizer(GenerativeModel):
    """(3): a kernel density over the training images with bit flips of probability eps."""

    likelihood_kind = "exact"
    Defaults = NoDefaultsToTune
    size_argument = "n_input"
    binary = True

    def __init__(self, n_input: int, eps: float = 0.01, seed: int = 0) -> None:
        if not 0 < eps < 0.5:
            raise ValueError(f"Memorizer: eps must be in (0, 0.5), got {eps}")
        super().__init__(n_input=n_input, eps=float(eps), seed=seed)
        self.eps = float(eps)
        self.register_buffer("memory", np.zeros((0, n_input), dtype=np.float32))

    def fit(self, X: Any) -> "Memorizer":
        """Memorize the training images (the whole fit)."""
        self.memory = self.check_data(X, where="fit", device="cpu").copy()
        return self

    def log_prob(self, X: Any) -> np.ndarray:
        """(3) per example: log-sum-exp over the memorized images of the flip log-likelihood, (n,)."""
        X = self.check_data(X, where="log_prob", dtype=np.float64, device="cpu")
        mismatches = X @ (1 - self.memory.T) + (1 - X) @ self.memory.T                # (n, N) flipped pixels
        per_image = mismatches * math.log(self.eps) + (X.shape[1] - mismatches) * math.log1p(-self.eps)
        return np.logaddexp.reduce(per_image, axis=1) - math.log(len(self.memory))    # (3)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """A memorized image with each pixel flipped with probability eps: (n, D)."""
        rng = seeded_generator(self.config["seed"] if seed is None else seed)
        chosen = self.memory[rng.integers(0, len(self.memory), size=n)]               # (n, D)
        flips = rng.random(chosen.shape) < self.eps
        return np.where(flips, 1 - chosen, chosen).astype(np.float32)
