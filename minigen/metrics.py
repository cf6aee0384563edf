"""Sample-quality metrics that need no downloaded network.

frechet_distance   ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)   (Heusel et al. 2017)
mmd                unbiased MMD^2 with an RBF kernel, bandwidth by the median heuristic  (Gretton et al. 2012)
mode_coverage      VEEGAN's modes captured and fraction of high-quality samples         (Srivastava et al. 2017)
digits_fd          the Frechet distance on the penultimate features of a small digits classifier
                   trained with the engine (an FID for 8x8 digits); digits_fd_floor() is the
                   real-vs-real value (train split against test split), the best one can expect.

Frechet distances depend on the sample count: report it, and the floor, beside every number.
"""
import contextlib
import hashlib
import json
import os

import numpy as np

import autograd
from autograd import nn, optim
from autograd.nn import functional as F

DIGITS_CLASSIFIER = {"hidden": (128, 64), "epochs": 20, "batch_size": 64, "lr": 3e-3, "seed": 0,
                     "version": 1}


def _as_2d_float64(name, values):
    values = np.asarray(autograd.backend.to_numpy(values), dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {values.shape}")
    return values


def _sqrt_psd(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix (eigendecomposition)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance(features_a, features_b):
    """The Frechet distance between Gaussians fitted to two samples of features (n_a, d), (n_b, d).

    tr((S_a S_b)^1/2) is computed as tr((S_a^1/2 S_b S_a^1/2)^1/2): the same eigenvalues, but the
    product is symmetric PSD, so an eigendecomposition gives it without a general matrix square root.
    """
    a, b = _as_2d_float64("features_a", features_a), _as_2d_float64("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features have {a.shape[1]} and {b.shape[1]} dimensions; they must match")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs at least 2 samples on each side")
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    dims = a.shape[1]
    cov_a = np.cov(a, rowvar=False).reshape(dims, dims)                  # (d, d), also when d == 1
    cov_b = np.cov(b, rowvar=False).reshape(dims, dims)
    root_a = _sqrt_psd(cov_a)
    cross_eigenvalues = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_cross = np.sqrt(np.clip(cross_eigenvalues, 0, None)).sum()
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_cross
    return float(max(distance, 0.0))


def _squared_distances(x, y):
    return np.clip((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T, 0, None)


def median_bandwidth(x, y):
    """The median heuristic: the median distance between distinct points of the pooled sample."""
    pooled = np.concatenate([x, y])
    distances = np.sqrt(_squared_distances(pooled, pooled)[np.triu_indices(len(pooled), k=1)])
    return float(np.median(distances))


def mmd(x, y, bandwidth=None):
    """Unbiased MMD^2 between samples x (n, d) and y (m, d) with k(a, b) = exp(-|a - b|^2 / (2 h^2)).

    MMD^2_u = sum_{i != j} k(x_i, x_j) / (n (n-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
              - 2 sum_{i, j} k(x_i, y_j) / (n m)                   (Gretton et al. 2012, eq. 3)
    It can be slightly negative when the distributions are equal. bandwidth=None: the median heuristic.
    """
    x, y = _as_2d_float64("x", x), _as_2d_float64("y", y)
    if len(x) < 2 or len(y) < 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd needs at least 2 samples on each side with equal dimensions, "
                         f"got {x.shape} and {y.shape}")
    h = median_bandwidth(x, y) if bandwidth is None else float(bandwidth)
    if not h > 0:
        raise ValueError(f"mmd: the bandwidth must be positive, got {h}")
    n, m = len(x), len(y)
    k_xx, k_yy, k_xy = (np.exp(-_squared_distances(a, b) / (2 * h * h)) for a, b in ((x, x), (y, y), (x, y)))
    within_x = (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def mode_coverage(samples, centers, std):
    """(modes captured, fraction of high-quality samples), VEEGAN's definitions.

    A sample is high quality when it lies within 3 std of its nearest mode; a mode is captured when
    it is the nearest mode of at least one high-quality sample.
    """
    samples, centers = _as_2d_float64("samples", samples), _as_2d_float64("centers", centers)
    distances = np.sqrt(_squared_distances(samples, centers))          # (n, modes)
    nearest = distances.argmin(axis=1)
    high_quality = distances.min(axis=1) <= 3 * std
    return int(len(np.unique(nearest[high_quality]))), float(high_quality.mean())


# -- the digits classifier behind digits_fd ------------------------------------------------
class DigitsClassifier(nn.Module):
    """An MLP 64 -> 128 -> 64 -> 10; its 64 penultimate ReLU units are the features."""

    def __init__(self, hidden=(128, 64)):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, hidden[0]), nn.ReLU(),
                                  nn.Linear(hidden[0], hidden[1]), nn.ReLU())
        self.head = nn.Linear(hidden[1], 10)

    def features(self, x):
        return self.body(x)                                              # (n, hidden[1])

    def forward(self, x):
        return self.head(self.features(x))                               # (n, 10) logits


def cache_dir():
    """$MINIGEN_CACHE, else $XDG_CACHE_HOME/minigen, else ~/.cache/minigen."""
    if os.environ.get("MINIGEN_CACHE"):
        return os.environ["MINIGEN_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigen")


def _settings_key(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _global_generator_untouched():
    """Run a block (which seeds and draws) and give the global generator its state back after it."""
    saved_state = autograd.random.get_state()
    try:
        yield
    finally:
        autograd.random.set_state(saved_state)


def _train_classifier(settings):
    """Train the classifier on the digits train split from settings["seed"]."""
    from minigen.data import load_digits
    from minigen.train import objective_step, train
    autograd.manual_seed(settings["seed"])
    model = DigitsClassifier(tuple(settings["hidden"]))
    X, y = load_digits("train", return_labels=True)
    optimizer = optim.Adam(model.parameters(), lr=settings["lr"])

    def loss(batch):
        images, labels = batch
        return F.cross_entropy(model(autograd.tensor(images)), labels)

    step = objective_step(loss, optimizer)
    with autograd.enable_grad():
        train(model, (X, y), step, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"],
              seed=settings["seed"], progress=False)
    return model.eval()


def digits_classifier(settings=None):
    """The trained classifier, from the disk cache when one was trained with the same settings.

    Building and training draw from the global generator; its state is restored afterwards, so
    computing a metric never changes what a model samples next.
    """
    settings = dict(DIGITS_CLASSIFIER if settings is None else settings)
    path = os.path.join(cache_dir(), f"digits-classifier-{_settings_key(settings)}.npz")
    with _global_generator_untouched():
        if os.path.exists(path):
            try:
                model = DigitsClassifier(tuple(settings["hidden"]))
                return model.load_state_dict(autograd.load(path)).eval()
            except (autograd.CheckpointError, KeyError, ValueError):
                pass                                                     # a stale or broken cache: retrain
        model = _train_classifier(settings)
    autograd.save(model.state_dict(), path)
    return model


def digits_features(images, settings=None):
    """Penultimate-layer features (n, 64) of digits given as (n, 64) or (n, 8, 8) in [0, 1]."""
    images = np.asarray(autograd.backend.to_numpy(images), dtype=np.float32).reshape(len(images), -1)
    if images.shape[1] != 64:
        raise ValueError(f"digits_fd needs 8x8 digits (n, 64), got {images.shape[1]} pixels per sample")
    model = digits_classifier(settings)
    with autograd.no_grad():
        return model.features(autograd.tensor(images, device=autograd.backend.default_device())).numpy()


def digits_fd(samples, settings=None):
    """Frechet distance between the classifier features of `samples` and of the digits test split."""
    from minigen.data import load_digits
    return frechet_distance(digits_features(samples, settings), digits_features(load_digits("test"), settings))


def digits_fd_floor(settings=None):
    """The real-vs-real floor: digits_fd of the train split against the test split."""
    from minigen.data import load_digits
    return digits_fd(load_digits("train"), settings)


def classifier_accuracy(settings=None):
    """Test-split accuracy of the feature classifier (a sanity check that its features mean something)."""
    from minigen.data import load_digits
    X, y = load_digits("test", return_labels=True)
    model = digits_classifier(settings)
    with autograd.no_grad():
        logits = model(autograd.tensor(X, device=autograd.backend.default_device())).numpy()
    return float((logits.argmax(axis=1) == y).mean())
