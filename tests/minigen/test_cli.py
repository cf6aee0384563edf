"""minigen.cli: train / sample / eval / table round trips on a tiny family, and every error path.

The tiny family is registered inside these tests (and removed afterwards) so that the command line
is tested without depending on the real model families.
"""
import json
import os
import sys
import types

import numpy as np
import pytest

import autograd
import minigen.models  # noqa: F401  (the real families register now, not inside our patched registry)
from minigen import cli, runs, zoo
from minigen.models.base import GenerativeModel
from tests.cli_helpers import one_line_error, run_cli


class TinyIndependent(GenerativeModel):
    """Independent pixels: Gaussian for real data, Bernoulli for binary data (exact log-likelihood)."""

    def __init__(self, dim, binary=False, seed=0):
        super().__init__(dim=dim, binary=binary, seed=seed)
        self.register_buffer("mean", np.zeros(dim, dtype=np.float32))
        self.register_buffer("std", np.ones(dim, dtype=np.float32))
        self.fitted_with = None

    def fit(self, X, *, epochs=None, seed=None, progress=True):
        self.fitted_with = {"epochs": epochs, "seed": seed}
        self.mean = X.mean(axis=0).astype(np.float32)
        self.std = X.std(axis=0).astype(np.float32) + np.float32(1e-3)
        return self

    def sample(self, n, seed=None):
        rng = np.random.default_rng(seed)
        if self.config["binary"]:
            return (rng.random((n, self.config["dim"])) < self.mean).astype(np.float32)
        return (self.mean + self.std * rng.standard_normal((n, self.config["dim"]))).astype(np.float32)

    def log_prob(self, X):
        if self.config["binary"]:
            p = np.clip(self.mean, 1e-3, 1 - 1e-3)
            return (X * np.log(p) + (1 - X) * np.log1p(-p)).sum(axis=1)
        return (-0.5 * ((X - self.mean) / self.std) ** 2 - np.log(self.std) - 0.5 * np.log(2 * np.pi)).sum(1)


def _build(shape, options):
    return TinyIndependent(dim=int(np.prod(shape)), binary=options["data"].endswith("binary"),
                           seed=options["seed"])


def _nll(model, X):
    return float(-model.log_prob(X).mean())


TINY = zoo.Entry(name="tiny", model_class=TinyIndependent, build=_build, data="8gaussians",
                 evaluate=lambda model, X: {"nll": _nll(model, X), "n_test": len(X)},
                 likelihood=lambda model, X: [("tiny independent pixels", "exact", _nll(model, X))])


@pytest.fixture(autouse=True)
def tiny_registry(monkeypatch):
    monkeypatch.setattr(zoo, "REGISTRY", {"tiny": TINY})
    yield


@pytest.fixture
def trained_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert run_cli(["train", "tiny", "--out", str(run_dir), "--seed", "3", "--epochs", "2"]) == 0
    capsys.readouterr()
    return run_dir


def test_train_writes_model_and_provenance(trained_run):
    info = json.loads((trained_run / "run.json").read_text())
    assert info["family"] == "tiny" and info["data"] == "8gaussians" and info["seed"] == 3
    assert info["config"] == {"dim": 2, "binary": False, "seed": 3}
    assert info["backend"] == "numpy" and info["versions"]["numpy"] == np.__version__
    assert info["argv"][:2] == ["train", "tiny"]
    assert info["metrics"]["n_test"] == 1000 and np.isfinite(info["metrics"]["nll"])
    state = autograd.load(trained_run / "model.npz")
    assert set(state) == {"mean", "std"}
    assert not [name for name in os.listdir(trained_run) if name.startswith(".tmp-")]


def test_train_passes_epochs_and_seed_to_fit(tmp_path, monkeypatch):
    seen = {}
    original_fit = TinyIndependent.fit

    def spy(self, X, *, epochs=None, seed=None, progress=True):
        seen.update(epochs=epochs, seed=seed, progress=progress)
        return original_fit(self, X, epochs=epochs, seed=seed, progress=progress)

    monkeypatch.setattr(TinyIndependent, "fit", spy)
    assert run_cli(["train", "tiny", "--out", str(tmp_path / "r"), "--epochs", "4", "--seed", "7"]) == 0
    assert seen == {"epochs": 4, "seed": 7, "progress": True}


def test_run_rebuilds_the_same_model(trained_run):
    entry, model, info = runs.load_run(str(trained_run))
    assert entry is TINY and isinstance(model, TinyIndependent)
    train, _ = minigen.data.load_named("8gaussians")
    np.testing.assert_allclose(model.mean, train.mean(axis=0), rtol=1e-6)


def test_sample_writes_a_scatter_for_2d_data(trained_run, tmp_path, capsys):
    out = tmp_path / "s.png"
    assert run_cli(["sample", str(trained_run), "--n", "50", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert str(out) in capsys.readouterr().out


def test_sample_writes_an_image_grid_for_digits(tmp_path):
    run_dir = tmp_path / "digits-run"
    assert run_cli(["train", "tiny", "--data", "digits-binary", "--out", str(run_dir)]) == 0
    assert run_cli(["sample", str(run_dir), "--n", "9"]) == 0
    assert (run_dir / "samples.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_prints_metrics_and_json(trained_run, capsys):
    assert run_cli(["eval", str(trained_run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    info = json.loads((trained_run / "run.json").read_text())
    assert metrics == info["metrics"]
    assert run_cli(["eval", str(trained_run)]) == 0
    assert "n_test: 1000" in capsys.readouterr().out


def test_likelihood_table_trains_once_then_uses_the_cache(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    assert run_cli(["eval", "--table", "--quick", "--runs", str(runs_dir)]) == 0
    first = capsys.readouterr()
    assert "training tiny" in first.err
    assert (runs_dir / "table-tiny-quick" / "run.json").exists()
    assert "| tiny independent pixels | exact |" in first.out
    for label, kind, nll in cli.REFERENCE_NLL["digits-binary"]:
        assert f"| {label} | {kind} | {nll:.2f} | reference |" in first.out
    assert run_cli(["eval", "--table", "--quick", "--runs", str(runs_dir)]) == 0
    second = capsys.readouterr()
    assert "training" not in second.err and second.out == first.out


def test_likelihood_table_nll_matches_the_model(tmp_path):
    rows = cli.likelihood_rows(str(tmp_path), quick=True, echo=lambda line: None)
    X_train, X_test = minigen.data.load_named("digits-binary")
    p = np.clip(X_train.mean(axis=0), 1e-3, 1 - 1e-3)
    expected = -(X_test * np.log(p) + (1 - X_test) * np.log1p(-p)).sum(axis=1).mean()
    (label, kind, nll), = rows
    assert kind == "exact" and nll == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("argv, words", [
    ([], "required"),
    (["fly"], "invalid choice"),
    (["train"], "required"),
    (["train", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["train", "tiny", "--epochs", "many"], "invalid int"),
    (["train", "tiny", "--epochs", "0"], "at least 1"),
    (["train", "tiny", "--steps", "10"], "does not take --steps"),
    (["train", "tiny", "--backend", "tpu"], "invalid choice"),
    (["train", "tiny", "--data", "cifar10"], "unknown data set 'cifar10'"),
    (["sample"], "required"),
    (["sample", "/no/such/run"], "no such run directory"),
    (["eval"], "RUN_DIR"),
    (["eval", "/no/such/run", "--json"], "no such run directory"),
    (["train", "tiny", "--bogus"], "unrecognized arguments"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, words, tmp_path):
    assert words in one_line_error(capsys, argv)


def test_unavailable_backend(capsys, tmp_path):
    if autograd.backend.cupy_or_none() is not None:
        pytest.skip("CuPy is available here")
    err = one_line_error(capsys, ["train", "tiny", "--backend", "cupy", "--out", str(tmp_path / "r")])
    assert "backend 'cupy' is unavailable" in err
    assert not (tmp_path / "r").exists()
    assert autograd.get_backend() == "numpy"


def test_malformed_idx_data(capsys, tmp_path):
    path = tmp_path / "broken.idx"
    path.write_bytes(b"\x00\x01\x08\x01")
    err = one_line_error(capsys, ["train", "tiny", "--data", str(path), "--out", str(tmp_path / "r")])
    assert "malformed header" in err and str(path) in err
    assert not (tmp_path / "r").exists()


def test_corrupt_and_missing_run_files(capsys, trained_run):
    model_file = trained_run / "model.npz"
    model_file.write_bytes(model_file.read_bytes()[:100])
    err = one_line_error(capsys, ["sample", str(trained_run)])
    assert "model.npz" in err and "corrupt" in err
    assert not (trained_run / "samples.png").exists()
    (trained_run / "run.json").write_text("{not json")
    assert "run.json" in one_line_error(capsys, ["eval", str(trained_run)])
    (trained_run / "run.json").unlink()
    assert "missing" in one_line_error(capsys, ["sample", str(trained_run)])


def test_pickled_checkpoint_is_refused(capsys, trained_run):
    np.save(trained_run / "model.npz.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    os.replace(trained_run / "model.npz.npy", trained_run / "model.npz")
    assert "model.npz" in one_line_error(capsys, ["eval", str(trained_run)])


def test_run_of_an_unknown_family(capsys, trained_run):
    info = json.loads((trained_run / "run.json").read_text())
    (trained_run / "run.json").write_text(json.dumps(dict(info, family="gone")))
    assert "unknown model 'gone'" in one_line_error(capsys, ["sample", str(trained_run)])


def test_state_that_does_not_fit_the_model(capsys, trained_run):
    autograd.save({"mean": np.zeros(2, np.float32)}, trained_run / "model.npz")
    assert "does not fit a tiny model" in one_line_error(capsys, ["sample", str(trained_run)])


def test_demo_errors(capsys, tmp_path, monkeypatch):
    from minigen import demo
    monkeypatch.setattr(demo, "demos_folder", lambda: tmp_path)
    assert "no demos found" in one_line_error(capsys, ["demo", "all"])
    (tmp_path / "01_first.py").write_text("raise SystemExit(3)\n")
    assert "unknown demo 'vae'" in one_line_error(capsys, ["demo", "vae"])
    assert run_cli(["demo", "first", "--quick", "--out", str(tmp_path / "out")]) == 1
    assert "demo failed: 01_first" in capsys.readouterr().err


def test_bench_missing_and_forwarding(capsys, monkeypatch):
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    assert "benchmarks are not available" in one_line_error(capsys, ["bench"])
    monkeypatch.undo()
    seen = []
    monkeypatch.setattr(cli.subprocess, "run", lambda argv: seen.append(argv) or types.SimpleNamespace(returncode=0))
    assert run_cli(["bench", "--backends", "numpy,numba", "--json"]) == 0
    assert seen == [[sys.executable, "-m", "benchmarks", "--backends", "numpy,numba", "--json"]]


@pytest.mark.parametrize("command", ["train", "sample", "eval", "demo", "bench"])
def test_help_everywhere(capsys, command):
    assert run_cli([command, "--help"]) == 0
    assert "usage: minigen " + command in capsys.readouterr().out


@pytest.mark.parametrize("error, status, words", [(FloatingPointError("loss became nan at step 7"), 1, "step 7"),
                                                   (KeyboardInterrupt(), 130, "interrupted")])
def test_training_failures_leave_no_run(capsys, monkeypatch, tmp_path, error, status, words):
    def failing_fit(self, X, **kwargs):
        raise error

    monkeypatch.setattr(TinyIndependent, "fit", failing_fit)
    assert run_cli(["train", "tiny", "--out", str(tmp_path / "r")]) == status
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_sample_from_a_training_checkpoint(capsys, trained_run):
    from minigen.train import CHECKPOINT_FORMAT
    state = autograd.load(trained_run / "model.npz")
    autograd.save({"format": CHECKPOINT_FORMAT, "model": state, "step": 3}, trained_run / "model.npz")
    assert run_cli(["sample", str(trained_run), "--n", "5"]) == 0
    assert (trained_run / "samples.png").exists()


class TinyEncoder(TinyIndependent):
    """A family that fits and evaluates but cannot sample (like a deterministic autoencoder)."""
    sample = None


def test_sample_from_a_model_without_sample_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    entry = zoo.Entry(name="encoder", model_class=TinyEncoder, build=lambda shape, options: TinyEncoder(2),
                      data="8gaussians")
    monkeypatch.setitem(zoo.REGISTRY, "encoder", entry)
    run_dir = tmp_path / "enc"
    assert run_cli(["train", "encoder", "--out", str(run_dir)]) == 0
    capsys.readouterr()
    one_line_error(capsys, ["sample", str(run_dir)])


def test_likelihood_table_on_mnist_has_its_own_references_and_cache(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    assert run_cli(["eval", "--table", "--quick", "--data", "mnist-binary", "--runs", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert "mnist-binary" in out and "QUICK MODE" in out
    assert (runs_dir / "table-mnist-binary-tiny-quick" / "run.json").exists()
    for label, kind, nll in cli.REFERENCE_NLL["mnist-binary"]:
        assert f"| {label} | {kind} | {nll:.2f} | reference |" in out
    assert "must be one of" in one_line_error(capsys, ["eval", "--table", "--data", "moons"])


def test_list_shows_every_family_with_its_data_and_likelihood(capsys, monkeypatch):
    monkeypatch.setattr(zoo, "REGISTRY", {"tiny": TINY})
    assert run_cli(["list"]) == 0
    line, = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("tiny") and "8gaussians" in line and "likelihood" in line
    assert run_cli(["train", "--help"]) == 0
    assert "tiny" in capsys.readouterr().out


def test_printed_metrics_carry_their_units():
    assert cli._format_number(18.3712, "test_nll_iwae_k5000") == "18.37 nats per example"
    assert cli._format_number(1.9041, "bits_per_char") == "1.904 bits per character"
    assert cli._format_number(6.5671, "digits_fd") == "6.567"
    assert cli._format_number(2500, "fd_samples") == "2500"
