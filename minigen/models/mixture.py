"""Mixture of Bernoullis fit by expectation-maximization (Dempster, Laird and Rubin 1977; Bishop 2006, 9.3.3).

Model       p(x) = sum_k pi_k prod_d mu_kd^x_d (1 - mu_kd)^(1 - x_d)                       (1)
log p(x)    = logsumexp_k [log pi_k + sum_d x_d log mu_kd + (1 - x_d) log(1 - mu_kd)]      (2)
E step      r_nk = p(k | x_n) = softmax_k of the bracket in (2)                           (3)
M step      pi_k = (sum_n r_nk + a) / (N + K a),
            mu_kd = (sum_n r_nk x_nd + a) / (sum_n r_nk + 2 a)                             (4)
            (a MAP step, a = `smoothing`: a Dirichlet(1 + a) prior on pi and a Beta(1 + a, 1 + a)
            prior on each mu keep every mu strictly inside (0, 1), so no test pixel gets probability 0)
Sampling    k ~ Categorical(pi), then x_d ~ Bernoulli(mu_kd).

The exact log-likelihood (2) makes it the baseline row of the likelihood table.
"""
import numpy as np

from autograd.backend import to_numpy

from .base import GenerativeModel


class MixtureOfBernoullis(GenerativeModel):

    def __init__(self, n_components, seed=0):
        super().__init__(n_components=n_components, seed=seed)
        self.n_components = n_components
        self.seed = seed

    def fit(self, X, epochs=None, smoothing=None, seed=None, progress=True):
        """EM for `epochs` iterations (default 100) from random responsibilities.  The default
        smoothing 0.25 was chosen on a validation split of the digits' training set."""
        X = np.asarray(to_numpy(X), dtype=np.float64)           # EM runs on the host (CuPy input too)
        if X.ndim != 2:
            raise ValueError(f"MixtureOfBernoullis.fit: X must be (n, d), got {X.shape}")
        epochs = 100 if epochs is None else epochs
        smoothing = 0.25 if smoothing is None else smoothing
        rng = np.random.default_rng(self.seed if seed is None else seed)
        responsibilities = rng.dirichlet(np.ones(self.n_components), size=len(X))    # (N, K)
        for _ in range(epochs):
            self._m_step(X, responsibilities, smoothing)
            responsibilities = np.exp(self._log_posterior(X))                        # (3)
        self._m_step(X, responsibilities, smoothing)
        return self

    def _m_step(self, X, responsibilities, smoothing):
        weight = responsibilities.sum(axis=0)                                       # (K,)
        mixing = (weight + smoothing) / (len(X) + self.n_components * smoothing)  # (4), Dirichlet(1 + a)
        means = (responsibilities.T @ X + smoothing) / (weight[:, None] + 2 * smoothing)  # (4)  (K, D)
        self.register_buffer("log_mixing", np.log(mixing))
        self.register_buffer("means", means)

    def _log_joint(self, X):
        """log pi_k + log p(x | k) for every component: (n, K)                            (2)"""
        X = np.asarray(to_numpy(X), dtype=np.float64)           # EM runs on the host (CuPy input too)
        return self.log_mixing + X @ np.log(self.means).T + (1 - X) @ np.log1p(-self.means).T

    def _log_posterior(self, X):
        joint = self._log_joint(X)
        return joint - np.logaddexp.reduce(joint, axis=1, keepdims=True)

    def log_prob(self, X):
        """Exact log p(x) in nats for each row: (n,)                                      (2)"""
        return np.logaddexp.reduce(self._log_joint(X), axis=1)

    def sample(self, n, seed=None):
        rng = np.random.default_rng(self.seed if seed is None else seed)
        components = rng.choice(self.n_components, size=n, p=np.exp(self.log_mixing))
        return (rng.random((n, self.means.shape[1])) < self.means[components]).astype(np.float32)
