"""Conditional generation from the command line: train a class-conditional family on labelled
digits, then `sample --label seven` (a prompt word mapped to its class) draws that class."""
import json

import numpy as np
import pytest

from minigen import data, metrics
from tests.cli_helpers import run_cli


@pytest.mark.parametrize("family, extra", [("cvae", []), ("guided-ddpm", ["--guidance", "2"])])
def test_train_then_sample_a_class_by_its_name(tmp_path, capsys, family, extra):
    run_dir = tmp_path / family
    assert run_cli(["train", family, "--quick", "--out", str(run_dir), "--quiet"]) == 0
    info = json.loads((run_dir / "run.json").read_text())
    assert 0 <= info["metrics"]["class_accuracy"] <= 1 and info["metrics"]["fd_samples"] == 500
    out = tmp_path / "sevens.npy"
    assert run_cli(["sample", str(run_dir), "--n", "40", "--label", "seven", *extra, "--out", str(out)]) == 0
    sevens = np.load(out, allow_pickle=False)
    predicted = metrics.predicted_labels(sevens.reshape(40, -1), "digits")
    assert np.mean(predicted == 7) > 0.3                      # a quick run, read by the fixed classifier
    capsys.readouterr()
    assert run_cli(["sample", str(run_dir), "--label", "eleven"]) == 2
    assert "digit class" in capsys.readouterr().err


def test_label_words_and_unconditional_runs(tmp_path, capsys):
    assert [data.label_of(word) for word in ("0", "seven", " Nine ")] == [0, 7, 9]
    run_dir = tmp_path / "mixture"
    assert run_cli(["train", "mixture", "--quick", "--out", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert run_cli(["sample", str(run_dir), "--label", "3"]) == 2
    assert "not conditional" in capsys.readouterr().err
    assert run_cli(["train", "cvae", "--data", "moons", "--out", str(tmp_path / "c")]) == 2
    assert "class labels" in capsys.readouterr().err
