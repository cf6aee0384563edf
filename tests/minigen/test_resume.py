"""Ctrl-C during `minigen train` keeps a checkpoint in the run directory, and `train --resume`
ends with the same model, bit for bit on the numpy backend, as a run that was never interrupted,
wherever the interruption fell (mid-epoch, at an epoch's end, at the first step)."""
import os
import signal

import numpy as np
import pytest

import autograd
from minigen import train
from tests.cli_helpers import run_cli

EPOCHS = ["--epochs", "3"]                      # 12 minibatches an epoch on the digits


def ctrl_c_at(monkeypatch, step):
    """Send SIGINT to this process when the loop logs `step` (the real signal path of Ctrl-C)."""
    original = train._log

    def log_then_interrupt(loop, losses, bar, log_every, guard):
        original(loop, losses, bar, log_every, guard)
        if loop.step == step:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(train, "_log", log_then_interrupt)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "whole"
    assert run_cli(["train", "vae", *EPOCHS, "--out", str(run_dir), "--quiet"]) == 0
    return autograd.load(run_dir / "model.npz")


@pytest.mark.parametrize("step", [1, 12, 17, 35])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, monkeypatch, capsys, uninterrupted, step):
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        ctrl_c_at(patch, step)
        assert run_cli(["train", "vae", *EPOCHS, "--out", str(run_dir), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert f"minigen train --resume {run_dir}" in err and len(err.strip().splitlines()) == 1
    assert (run_dir / "checkpoint.npz").exists() and not (run_dir / "model.npz").exists()
    assert run_cli(["train", "--resume", str(run_dir), "--quiet"]) == 0
    resumed = autograd.load(run_dir / "model.npz")
    assert resumed.keys() == uninterrupted.keys()
    for name in uninterrupted:
        np.testing.assert_array_equal(resumed[name], uninterrupted[name], err_msg=name)


def test_a_finished_run_has_nothing_to_resume(tmp_path, capsys):
    run_dir = tmp_path / "done"
    assert run_cli(["train", "mixture", "--quick", "--out", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert run_cli(["train", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "nothing to resume" in err or "no checkpoint" in err
