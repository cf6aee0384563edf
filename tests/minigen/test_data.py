"""minigen.data: the fixed digits split, the toys, bars-and-stripes, IDX files, text, video."""
import gzip

import numpy as np
import pytest
from hypothesis import given, strategies as st

from minigen import data


def test_digits_split_sizes_and_disjoint():
    train, test, everything = (data.load_digits(s) for s in ("train", "test", "all"))
    assert train.shape == (1497, 64) and test.shape == (300, 64) and everything.shape == (1797, 64)
    assert train.dtype == test.dtype == np.float32
    perm = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(train, everything[perm[:1497]])
    np.testing.assert_array_equal(test, everything[perm[1497:]])


def test_digits_values_binarization_and_labels():
    X, y = data.load_digits("test", return_labels=True)
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.shape == (300,) and set(np.unique(y)) <= set(range(10))
    binary = data.load_digits("test", binarize=True)
    assert binary.dtype == np.float32 and set(np.unique(binary)) == {0.0, 1.0}
    np.testing.assert_array_equal(binary, (X >= 0.5).astype(np.float32))


def test_digits_bad_split_names_it():
    with pytest.raises(ValueError, match="validation"):
        data.load_digits("validation")


@pytest.mark.parametrize("name", data.TOY_NAMES)
def test_toys_shape_dtype_and_seed(name):
    a, b, c = data.toy_2d(name, 300, seed=1), data.toy_2d(name, 300, seed=1), data.toy_2d(name, 300, seed=2)
    assert a.shape == (300, 2) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mixture_points_lie_near_their_centers(name):
    points = data.toy_2d(name, 2000)
    centers = data.TOY_CENTERS[name]
    distance = np.linalg.norm(points[:, None, :] - centers[None], axis=2).min(axis=1)
    assert distance.max() < 6 * data.TOY_STD[name]
    nearest = np.linalg.norm(points[:, None, :] - centers[None], axis=2).argmin(axis=1)
    assert len(np.unique(nearest)) == len(centers)


def test_eight_gaussians_centers_on_circle_of_radius_two():
    centers = data.TOY_CENTERS["8gaussians"]
    assert centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0)
    assert data.TOY_STD["8gaussians"] == 0.02


def test_unknown_toy_lists_the_names():
    with pytest.raises(ValueError, match="checkerboard"):
        data.toy_2d("spiral", 10)


@pytest.mark.parametrize("side", [1, 2, 3, 4])
def test_bars_and_stripes_are_all_distinct_patterns(side):
    patterns = data.bars_and_stripes(side)
    assert patterns.shape == (2 ** (side + 1) - 2, side * side)
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    images = patterns.reshape(-1, side, side)
    rows_constant = (images == images[:, :, :1]).all(axis=(1, 2))
    columns_constant = (images == images[:, :1, :]).all(axis=(1, 2))
    assert (rows_constant | columns_constant).all()


def _idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


IDX_CODES = {np.uint8: 0x08, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


@given(dtype=st.sampled_from(sorted(IDX_CODES, key=str)),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), compressed=st.booleans())
def test_load_idx_round_trip(tmp_path_factory, dtype, shape, compressed):
    array = (np.arange(np.prod(shape)) % 120).astype(dtype).reshape(shape)
    raw = _idx_bytes(array, IDX_CODES[dtype])
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if compressed else "a.idx")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    loaded = data.load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.shape == tuple(shape)
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize("raw, reason", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "malformed header"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "malformed header"),
    (b"\x00\x00\x08\x02\x00\x00", "header shorter"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "file holds 1"),
])
def test_load_idx_refuses_malformed_files(tmp_path, raw, reason):
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=reason) as info:
        data.load_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_text_corpus_splits():
    train, valid, everything = (data.text_corpus(s) for s in ("train", "valid", "all"))
    assert train + valid == everything
    assert len(train) == int(0.9 * len(everything))
    from pydoc_data.topics import topics
    first = sorted(topics)[0]
    assert everything.startswith(topics[first])
    with pytest.raises(ValueError, match="test"):
        data.text_corpus("test")


def test_synthetic_video_is_deterministic_low_rank_and_finite():
    video = data.synthetic_video(n_frames=60, side=8, seed=3, noise=0.0)
    assert video.shape == (60, 64) and video.dtype == np.float32
    np.testing.assert_array_equal(video, data.synthetic_video(n_frames=60, side=8, seed=3, noise=0.0))
    singular = np.linalg.svd(video - video.mean(axis=0), compute_uv=False)
    assert singular[8:].max() < 1e-3 * singular[0]          # 3 travelling waves + 1 standing: rank <= 8


@pytest.mark.parametrize("name", list(data.DATA_SETS))
def test_load_named_pairs(name):
    train, test = data.load_named(name)
    assert type(train) is type(test) and len(train) > 0 and len(test) > 0


def test_load_named_idx_path_scales_and_splits(tmp_path):
    images = (np.arange(20 * 4 * 4) % 256).astype(np.uint8).reshape(20, 4, 4)
    path = tmp_path / "images.idx"
    path.write_bytes(_idx_bytes(images, 0x08))
    train, test = data.load_named(str(path))
    assert train.shape == (18, 16) and test.shape == (2, 16) and train.dtype == np.float32
    assert 0.0 <= train.min() and test.max() <= 1.0
    np.testing.assert_allclose(np.sort(np.concatenate([train, test]).sum(1)),
                               np.sort(images.reshape(20, -1).sum(1) / 255.0), rtol=1e-5)


def test_load_named_unknown_lists_names():
    with pytest.raises(ValueError, match="digits-binary") as info:
        data.load_named("cifar10")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("array, reason", [
    (np.zeros((0, 4, 4), np.uint8), "holds 0 examples"),
    (np.zeros((1, 4, 4), np.uint8), "holds 1 examples; at least 2"),
    (np.array([[0.5, np.nan], [0.1, 0.2]], np.float32), "non-finite"),
    (np.array([[0.5, np.inf], [0.1, 0.2]], np.float64), "non-finite"),
])
def test_load_named_refuses_idx_files_it_cannot_split_or_train_on(tmp_path, array, reason):
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}[array.dtype]
    path = tmp_path / "bad.idx"
    path.write_bytes(_idx_bytes(array, code))
    with pytest.raises(ValueError, match=reason) as info:
        data.load_named(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_load_named_idx_of_two_examples_keeps_one_to_train_on(tmp_path):
    path = tmp_path / "two.idx"
    path.write_bytes(_idx_bytes(np.arange(8, dtype=np.uint8).reshape(2, 2, 2), 0x08))
    train, test = data.load_named(str(path))
    assert train.shape == (1, 4) and test.shape == (1, 4)
