"""Mixture of Bernoullis fit by expectation-maximization (Dempster, Laird and Rubin 1977; Bishop 2006, 9.3.3).

Model       p(x) = sum_k pi_k prod_d mu_kd^x_d (1 - mu_kd)^(1 - x_d)                       (1)
log p(x)    = logsumexp_k [log pi_k + sum_d x_d log mu_kd + (1 - x_d) log(1 - mu_kd)]      (2)
E step      r_nk = p(k | x_n) = softmax_k of the bracket in (2)                           (3)
M step      pi_k = (sum_n r_nk + a) / (N + K a),
            mu_kd = (sum_n r_nk x_nd + a) / (sum_n r_nk + 2 a)                             (4)
            (a MAP step, a = `smoothing`: a Dirichlet(1 + a) prior on pi and a Beta(1 + a, 1 + a)
            prior on each mu keep every mu strictly inside (0, 1), so no test pixel gets probability 0)
Sampling    k ~ Categorical(pi), then x_d ~ Bernoulli(mu_kd).

The exact log-likelihood (2) makes it the baseline row of the likelihood table.  The width D of an
example is given to the constructor (n_input) or learned from the data by the first fit.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import numpy as np


from .base import GenerativeModel
from .common import seeded_generator


@dataclass
class MixtureDefaults:
    """EM iterations from random responsibilities; the smoothing a of (4) was chosen on a validation
    split of the digits' training set."""
    epochs: int = 100
    smoothing: float = 0.25


class MixtureOfBernoullis(GenerativeModel):
    """K products of Bernoullis mixed by pi, fit by EM (3)-(4); `history["log_likelihood"]` holds
    the mean log p(x) of the training data (2) after each E step."""

    likelihood_kind = "exact"
    Defaults = MixtureDefaults
    size_argument = "n_input"
    binary = True
    log_mixing: np.ndarray                      # buffer: log pi (K,), set by the M step
    means: np.ndarray                           # buffer: the Bernoulli means (K, D), set by the M step

    def __init__(self, n_components: int, n_input: Optional[int] = None, seed: int = 0) -> None:
        super().__init__(n_components=n_components, n_input=n_input, seed=seed)
        self.n_components = n_components
        self.seed = seed
        self.history: Dict[str, List[float]] = {}

    def fit(self, X: Any, epochs: Optional[int] = None, smoothing: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True) -> "MixtureOfBernoullis":
        """EM for `epochs` iterations from random responsibilities (a fit of a few seconds: no progress bar)."""
        X = self._host_data(X, where="fit")
        if self.data_shape is None:                                # the width, learned once and kept in config
            self.data_shape = X.shape[1:]
            self.config["n_input"] = X.shape[1]
        s = self.settings(epochs=epochs, smoothing=smoothing)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        responsibilities = rng.dirichlet(np.ones(self.n_components), size=len(X))    # (N, K)
        self.history = {"log_likelihood": []}
        for _ in range(s.epochs):
            self._m_step(X, responsibilities, s.smoothing)
            responsibilities = self._e_step(X)
        self._m_step(X, responsibilities, s.smoothing)
        return self

    def _host_data(self, X, where):
        """Checked binary data as float64 on the host, where EM runs (CuPy input too)."""
        return self.check_data(X, where=where, dtype=np.float64, device="cpu")

    def _m_step(self, X, responsibilities, smoothing):
        weight = responsibilities.sum(axis=0)                                       # (K,)
        mixing = (weight + smoothing) / (len(X) + self.n_components * smoothing)  # (4), Dirichlet(1 + a)
        means = (responsibilities.T @ X + smoothing) / (weight[:, None] + 2 * smoothing)  # (4)  (K, D)
        self.register_buffer("log_mixing", np.log(mixing))
        self.register_buffer("means", means)

    def _e_step(self, X):
        """Responsibilities (3), (N, K); records the mean log-likelihood (2) they come with."""
        joint = self._log_joint(X)
        log_evidence = np.logaddexp.reduce(joint, axis=1, keepdims=True)          # (2)  (N, 1)
        self.history["log_likelihood"].append(float(log_evidence.mean()))
        return np.exp(joint - log_evidence)                                        # (3)

    def _log_joint(self, X):
        """log pi_k + log p(x | k) for every component: (n, K)                            (2)"""
        return self.log_mixing + X @ np.log(self.means).T + (1 - X) @ np.log1p(-self.means).T

    def log_prob(self, X: Any) -> np.ndarray:
        """Exact log p(x) in nats for each row: (n,)                                      (2)"""
        return np.logaddexp.reduce(self._log_joint(self._host_data(X, where="log_prob")), axis=1)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """k ~ Categorical(pi), then each pixel from its Bernoulli: (n, D) float32."""
        rng = seeded_generator(seed)
        components = rng.choice(self.n_components, size=n, p=np.exp(self.log_mixing))
        return (rng.random((n, self.means.shape[1])) < self.means[components]).astype(np.float32)
