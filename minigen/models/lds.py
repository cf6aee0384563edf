"""Linear dynamical systems as dynamic textures (Doretto, Chiuso, Wu and Soatto, IJCV 2003).

The lecture's autoregressive slide: a video is an appearance C and a state x_t that moves linearly.
Model         x_t = A x_{t-1} + v_t,       v_t ~ N(0, Q)        (state, n_state dims)       (1)
              y_t = C x_t + mean + w_t,    w_t ~ N(0, r I)      (frame, D pixels)           (2)
Fit (closed form, suboptimal but fast, as in the paper):
    subtract the mean frame and take the SVD  Y^T = U S V^T                                  (3)
    C = U_n  (the n leading principal images),   X = S_n V_n^T  (the states, n x T)          (4)
    A = X_{2:T} X_{1:T-1}^+  (least squares)                                                  (5)
    Q = covariance of the state residuals X_{2:T} - A X_{1:T-1}                               (6)
    r = mean squared pixel residual of Y^T - C X                                              (7)
    A is kept stable: if its spectral radius is >= 1 it is scaled to `max_radius` < 1.       (8)
Synthesis runs (1) and (2) forward from the last fitted state.  The exact log-likelihood of a
video is computed by the Kalman filter as a sum over its frames:
    log p(y_1..T) = sum_t log p(y_t | y_<t),   p(y_t | y_<t) = N(y_t; C m_t|t-1 + mean, S_t),
    S_t = C P_t|t-1 C^T + r I                                                                 (9)
evaluated with n x n matrices only (Woodbury and the determinant lemma), starting from
x_1 ~ N(initial_state, state_covariance).  The data are frames x pixels, so a row is a frame and
log_prob(Y) returns the T terms of (9), each frame's predictive log-density given the frames
before it in Y: they sum to the exact log-likelihood of the video, and score(Y) is its mean per
frame.  (Rows are not exchangeable: reordering Y changes every term but the first.)
"""
from typing import Any, Dict, List, Optional

import numpy as np


from .base import GenerativeModel
from .common import seeded_generator


class LinearDynamicalSystem(GenerativeModel):
    """A dynamic texture (1)-(2) with n_state dimensions, fit in closed form (3)-(8).  The frame width
    D is given to the constructor (n_pixels) or learned from the first video fit; `history` holds the
    training video's log-likelihood per frame (9)."""

    likelihood_kind = "exact"
    size_argument = "n_pixels"
    mean: np.ndarray                    # buffers set by fit: the mean frame (D,)
    A: np.ndarray                       # (n, n)
    C: np.ndarray                       # (D, n)
    Q: np.ndarray                       # (n, n)
    observation_variance: np.ndarray    # r, 0-d
    last_state: np.ndarray              # (n,)
    initial_state: np.ndarray           # (n,)
    state_covariance: np.ndarray        # (n, n)

    def __init__(self, n_state: int, n_pixels: Optional[int] = None, max_radius: float = 0.999, seed: int = 0) -> None:
        super().__init__(n_state=n_state, n_pixels=n_pixels, max_radius=max_radius, seed=seed)
        self.n_state = n_state
        self.max_radius = max_radius
        self.seed = seed
        self.history: Dict[str, List[float]] = {}

    def _host_frames(self, Y, where):
        """Frames (T, D), checked, as float64 on the host, where the fit and the filter run (float32
        is too coarse for the filter's exact terms)."""
        return self.check_data(Y, where=where, dtype=np.float64, device="cpu")

    def fit(self, Y: Any) -> "LinearDynamicalSystem":
        """Fit A, C, Q, r and the mean frame to a video Y of shape (frames, pixels)."""
        Y = self._host_frames(Y, "fit")
        if Y.shape[0] <= self.n_state:
            raise ValueError(f"LinearDynamicalSystem.fit: Y must be (frames, pixels) with more than "
                             f"{self.n_state} frames, got {Y.shape}")
        if self.data_shape is None:                                # the width, learned once and kept in config
            self.data_shape = Y.shape[1:]
            self.config["n_pixels"] = Y.shape[1]
        mean = Y.mean(axis=0)
        U, S, Vt = np.linalg.svd((Y - mean).T, full_matrices=False)              # (3)
        C = U[:, :self.n_state]                                                  # (4)  (D, n)
        X = S[:self.n_state, None] * Vt[:self.n_state]                           # (4)  (n, T)
        A = X[:, 1:] @ np.linalg.pinv(X[:, :-1])                                 # (5)  (n, n)
        A = self._stabilized(A)                                                  # (8)
        state_residual = X[:, 1:] - A @ X[:, :-1]
        Q = state_residual @ state_residual.T / state_residual.shape[1]          # (6)
        pixel_residual = (Y - mean).T - C @ X
        self.register_buffer("mean", mean)
        self.register_buffer("A", A)
        self.register_buffer("C", C)
        self.register_buffer("Q", Q + 1e-9 * np.eye(self.n_state))
        self.register_buffer("observation_variance", np.array(max(np.mean(pixel_residual ** 2), 1e-12)))  # (7)
        self.register_buffer("last_state", X[:, -1])
        self.register_buffer("initial_state", X[:, 0])
        self.register_buffer("state_covariance", np.cov(X) + 1e-9 * np.eye(self.n_state))
        self.history = {"log_likelihood": [float(self._frame_log_likelihoods(Y).mean())]}
        return self

    def _stabilized(self, A):
        radius = np.max(np.abs(np.linalg.eigvals(A)))
        return A * (self.max_radius / radius) if radius >= 1 else A

    @property
    def R(self) -> np.ndarray:
        """The observation noise covariance r I of (2), (D, D)."""
        return float(self.observation_variance) * np.eye(len(self.mean))

    def sample(self, n_frames: int, seed: Optional[int] = None) -> np.ndarray:
        """Synthesize n_frames new frames by running (1) and (2) on from the last fitted state: (n_frames, D)."""
        rng = seeded_generator(seed)
        noise_factor = np.linalg.cholesky(self.Q)
        state = self.last_state
        frames = np.empty((n_frames, len(self.mean)))
        for t in range(n_frames):
            state = self.A @ state + noise_factor @ rng.standard_normal(self.n_state)     # (1)
            frames[t] = self.C @ state + self.mean + np.sqrt(self.observation_variance) * rng.standard_normal(len(self.mean))  # (2)
        return frames.astype(np.float32)

    def log_prob(self, Y: Any) -> np.ndarray:
        """log p(y_t | y_<t) in nats for each frame of the video Y (T, D): (T,), the terms of (9)."""
        return self._frame_log_likelihoods(self._host_frames(Y, "log_prob"))

    def log_likelihood(self, Y: Any) -> float:
        """Exact log p(y_1, ..., y_T) of the video Y in nats: the sum of (9)."""
        return float(self.log_prob(Y).sum())

    def _frame_log_likelihoods(self, Y):
        """The Kalman filter's predictive log-densities (9) of the frames of Y, in order: (T,)."""
        D, n = len(self.mean), self.n_state
        r = float(self.observation_variance)
        CtC = self.C.T @ self.C                                                  # (n, n)
        mean, cov = self.initial_state.copy(), self.state_covariance.copy()
        terms = np.empty(len(Y))
        for t, y in enumerate(Y):
            error = y - self.mean - self.C @ mean                               # innovation (D,)
            Ct_error = self.C.T @ error                                          # (n,)
            G = r * np.eye(n) + CtC @ cov                                        # S^-1 = (I - C P G^-1 C^T) / r
            PGinv_Ct_error = cov @ np.linalg.solve(G, Ct_error)
            quadratic = (error @ error - Ct_error @ PGinv_Ct_error) / r          # e^T S^-1 e
            log_det = (D - n) * np.log(r) + np.linalg.slogdet(G)[1]              # log |S|
            terms[t] = -0.5 * (D * np.log(2 * np.pi) + log_det + quadratic)      # (9)
            Ct_Sinv_C = (CtC - CtC @ cov @ np.linalg.solve(G, CtC)) / r          # C^T S^-1 C
            mean = mean + cov @ (Ct_error - CtC @ PGinv_Ct_error) / r            # filtered mean
            cov = cov - cov @ Ct_Sinv_C @ cov                                    # filtered covariance
            mean, cov = self.A @ mean, self.A @ cov @ self.A.T + self.Q          # predict with (1)
        return terms
