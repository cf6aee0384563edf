"""Generative against discriminative classifiers (Ng and Jordan, NIPS 2002).

Gaussian naive Bayes models the joint p(x, y) = p(y) prod_d N(x_d; mu_yd, var_yd)        (1)
and classifies by Bayes' rule, through log-sum-exp:
    log p(y | x) = log p(y) + sum_d log N(x_d; mu_yd, var_yd) - log sum_y' (same)        (2)
The variances get a floor, var_smoothing * max_d Var(x_d), as scikit-learn's GaussianNB does
(the digits have pixels that are always 0, whose variance would be 0).                     (3)
With pooled=True every class shares one variance per feature, the within-class estimate
    var_d = (1/n) sum_i (x_id - mu_{y_i d})^2 = sum_y (n_y / n) var_yd   (+ the floor (3))   (3')
as in Ng and Jordan's continuous-input naive Bayes, N(mu_{d|y}, sigma_d^2): the quadratic terms of
(2) then cancel between classes and the classifier is linear in x, the same family as (4).
Being generative, it can also draw x ~ p(x | y): each pixel from its own Gaussian.

Logistic regression models only p(y | x) = softmax(W x + b)_y                              (4)
and is fit by minimizing the mean cross-entropy plus (l2 / 2) ||W||^2 with the engine.      (5)

The finding to reproduce: logistic regression has the lower asymptotic error, while naive Bayes
approaches its own, higher, asymptote with far fewer training examples.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

import autograd as ag
from autograd import optim
from autograd.backend import to_numpy
from autograd.nn import functional as F
from autograd.nn.module import Parameter

from .base import GenerativeModel
from .common import seeded_generator


def _checked_features(model, X, where):
    """X, checked (numbers, rows, width once fit, finite), as float64 (n, d) on the host: the fits are
    closed form or full batch and compared with scikit-learn's."""
    return model.check_data(X, where=where, dtype=np.float64, device="cpu")


def _checked_labels(model, X, y):
    """(X, y) for fit: checked features and one label per row; records the width of an example."""
    X = _checked_features(model, X, "fit")
    y = np.asarray(to_numpy(y))
    if y.shape != (X.shape[0],):
        raise ValueError(f"{model.name}.fit: y must hold one label per row of X ({X.shape[0]},), got shape {y.shape}")
    model.data_shape = X.shape[1:]
    return X, y


class GaussianNaiveBayes(GenerativeModel):
    """Per-class independent Gaussians over the features; predicts by Bayes' rule.

    pooled=True shares one variance per feature across the classes (3'); variances stay (C, D).
    The fit is closed form; `history["log_likelihood"]` holds the mean log p(x, y) of the training data (1).
    """

    classes: np.ndarray                 # buffers set by fit: the labels (C,), in sorted order
    means: np.ndarray                   # (C, D)
    variances: np.ndarray               # (C, D)
    log_priors: np.ndarray              # (C,)

    def __init__(self, var_smoothing: float = 1e-9, pooled: bool = False, seed: int = 0) -> None:
        super().__init__(var_smoothing=var_smoothing, pooled=pooled, seed=seed)
        self.var_smoothing = var_smoothing
        self.pooled = pooled
        self.seed = seed
        self.history: Dict[str, List[float]] = {}

    def fit(self, X: Any, y: Any) -> "GaussianNaiveBayes":
        X, y = _checked_labels(self, X, y)
        classes = np.unique(y)
        floor = self.var_smoothing * X.var(axis=0).max()                       # (3)
        self.register_buffer("classes", classes)
        means = np.stack([X[y == c].mean(axis=0) for c in classes])             # (C, D)
        if self.pooled:
            residuals = X - means[np.searchsorted(classes, y)]
            variances = np.broadcast_to((residuals ** 2).mean(axis=0), means.shape)   # (3')
        else:
            variances = np.stack([X[y == c].var(axis=0) for c in classes])
        self.register_buffer("means", means)
        self.register_buffer("variances", variances + floor)                   # (3)
        self.register_buffer("log_priors", np.log(np.array([np.mean(y == c) for c in classes])))
        joint = self._joint_log_likelihood(X)
        self.history = {"log_likelihood": [float(joint[np.arange(len(y)), np.searchsorted(classes, y)].mean())]}
        return self

    def joint_log_likelihood(self, X: Any) -> np.ndarray:
        """log p(x, y) for every class: (n, C)                                          (1)"""
        return self._joint_log_likelihood(_checked_features(self, X, "joint_log_likelihood"))

    def _joint_log_likelihood(self, X):
        X = X[:, None, :]                                                        # (n, 1, D)
        log_normal = -0.5 * (np.log(2 * np.pi * self.variances) + (X - self.means) ** 2 / self.variances)
        return self.log_priors + log_normal.sum(axis=2)                          # (n, C)

    def predict_proba(self, X: Any) -> np.ndarray:
        joint = self._joint_log_likelihood(_checked_features(self, X, "predict_proba"))
        log_evidence = np.logaddexp.reduce(joint, axis=1, keepdims=True)         # (2)
        return np.exp(joint - log_evidence)

    def predict(self, X: Any) -> np.ndarray:
        joint = self._joint_log_likelihood(_checked_features(self, X, "predict"))
        return self.classes[np.argmax(joint, axis=1)]

    def sample(self, n: int, y: Any = None, seed: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
        """Draw n examples x ~ p(x | y); classes from the prior when y is None.  Returns (X, y)."""
        rng = seeded_generator(seed)
        if y is None:
            labels = rng.choice(self.classes, size=n, p=np.exp(self.log_priors))
        else:
            labels = np.broadcast_to(np.asarray(y), (n,))
        rows = np.searchsorted(self.classes, labels)
        X = self.means[rows] + np.sqrt(self.variances[rows]) * rng.standard_normal((n, self.means.shape[1]))
        return X.astype(np.float32), labels


@dataclass
class LogisticRegressionDefaults:
    """Full-batch Adam on (5)."""
    steps: int = 300
    lr: float = 0.05


class LogisticRegression(GenerativeModel):
    """Multinomial logistic regression (4), trained full-batch with Adam on (5); `history["loss"]`
    holds (5) at every step."""

    Defaults = LogisticRegressionDefaults
    classes: np.ndarray                 # buffers set by fit: the labels (C,), in sorted order
    feature_mean: np.ndarray            # (D,)
    feature_scale: np.ndarray           # (D,)

    def __init__(self, l2: float = 1e-2, seed: int = 0) -> None:
        super().__init__(l2=l2, seed=seed)
        self.l2 = l2
        self.seed = seed
        self.history: Dict[str, List[float]] = {}

    def fit(self, X: Any, y: Any, steps: Optional[int] = None, lr: Optional[float] = None) -> "LogisticRegression":
        X, y = _checked_labels(self, X, y)
        s = self.settings(steps=steps, lr=lr)
        classes = np.unique(y)
        self.register_buffer("classes", classes)
        self.register_buffer("feature_mean", X.mean(axis=0))
        self.register_buffer("feature_scale", X.std(axis=0) + 1e-3)             # standardize to condition Adam
        inputs = ag.tensor(self._standardize(X))
        targets = np.searchsorted(classes, y)
        ag.manual_seed(self.seed)
        self.weight = Parameter(np.zeros((len(classes), X.shape[1]), dtype=np.float32))
        self.bias = Parameter(np.zeros(len(classes), dtype=np.float32))
        optimizer = optim.Adam([self.weight, self.bias], lr=s.lr)
        self.history = {"loss": []}
        for _ in range(s.steps):
            optimizer.zero_grad()
            logits = ag.linear(inputs, self.weight, self.bias)                  # (n, C)   (4)
            loss = F.cross_entropy(logits, targets) + 0.5 * self.l2 * (self.weight * self.weight).sum()  # (5)
            loss.backward()
            optimizer.step()
            self.history["loss"].append(float(loss.item()))
        return self

    def _standardize(self, X):
        return ((X - self.feature_mean) / self.feature_scale).astype(np.float32)

    def predict_proba(self, X: Any) -> np.ndarray:
        inputs = self._standardize(_checked_features(self, X, "predict_proba"))
        with ag.no_grad():
            return ag.softmax(ag.linear(ag.tensor(inputs), self.weight, self.bias), axis=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.classes[np.argmax(self.predict_proba(X), axis=1)]
