"""save / load: nested state dicts round trip; files that need pickle, bare arrays, truncated or
missing files are refused with one line naming the file, and nothing in them is executed."""
import os
import pickle

import numpy as np
import pytest

import autograd as ag

SIDE_EFFECT_FILE = "side_effect_happened"


class Boom:
    """Unpickling this creates a file: a visible side effect that `load` must never trigger."""

    def __reduce__(self):
        return (open, (SIDE_EFFECT_FILE, "w"))


def test_nested_state_dict_round_trip(tmp_path):
    state = {
        "weights": np.arange(6, dtype=np.float32).reshape(2, 3),
        "scalar": np.float64(2.5), "count": 7, "rate": 1e-3, "name": "vae", "flag": True,
        "nothing": None, "list": [np.ones(2), 3, "x", [None, 1.5]],
        "nested": {"inner": {"a": np.zeros((0, 2)), "b": ag.tensor(np.array([1, 2], dtype=np.int64))}},
    }
    ag.save(state, tmp_path / "s.npz")
    loaded = ag.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(loaded["weights"], state["weights"])
    assert loaded["weights"].dtype == np.float32
    assert loaded["scalar"] == 2.5 and loaded["count"] == 7 and loaded["rate"] == 1e-3
    assert loaded["name"] == "vae" and loaded["flag"] is True and loaded["nothing"] is None
    np.testing.assert_array_equal(loaded["list"][0], np.ones(2))
    assert loaded["list"][1:] == [3, "x", [None, 1.5]]
    assert loaded["nested"]["inner"]["a"].shape == (0, 2)
    np.testing.assert_array_equal(loaded["nested"]["inner"]["b"], [1, 2])
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_save_refuses_what_needs_pickle(tmp_path):
    with pytest.raises(TypeError, match="without pickle"):
        ag.save({"object": object()}, tmp_path / "x.npz")


@pytest.mark.parametrize("kind", ["npz", "npy"])
def test_load_refuses_pickled_object_arrays_without_executing(tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    payload = np.array([Boom()], dtype=object)
    path = tmp_path / f"evil.{kind}"
    if kind == "npz":
        np.savez(path, __minigen_manifest__=np.frombuffer(b'{"array": "a0", "path": ""}', np.uint8),
                 a0=payload)
    else:
        np.save(path, payload, allow_pickle=True)
    assert not (tmp_path / SIDE_EFFECT_FILE).exists()
    with pytest.raises(ag.CheckpointError) as info:
        ag.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert not (tmp_path / SIDE_EFFECT_FILE).exists()


def test_load_refuses_a_raw_pickle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ag.CheckpointError, match="evil.npz"):
        ag.load(path)
    assert not (tmp_path / SIDE_EFFECT_FILE).exists()


def test_load_refuses_truncated_and_missing_files(tmp_path):
    path = tmp_path / "state.npz"
    ag.save({"w": np.ones((50, 50))}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, 10, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ag.CheckpointError, match="state.npz") as info:
            ag.load(path)
        assert "\n" not in str(info.value)
    with pytest.raises(ag.CheckpointError, match="no such file"):
        ag.load(tmp_path / "missing.npz")


def test_load_refuses_a_foreign_npz(tmp_path):
    np.savez(tmp_path / "foreign.npz", x=np.ones(3))
    with pytest.raises(ag.CheckpointError, match="foreign.npz.*not a minigen checkpoint"):
        ag.load(tmp_path / "foreign.npz")
