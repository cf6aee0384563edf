"""Hostile and careless input, as a new user would give it: every case ends in one line and exit
status 2 (CLI) or a clear ValueError / TypeError naming the model (Python API), never a traceback,
a hang, a silently wrong number or a lost file.

To add a case: append a row to CLI_CASES (arguments, words the one-line error must contain), or a
test below for the Python API.  The CLI cases run in-process against the real families, with data
and sizes small enough that nothing trains for long.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd
from minigen import cli, data, runs
from minigen.models import MADE, RBM, VAE, MixtureOfBernoullis
from tests.cli_helpers import one_line_error, run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "vae"
    assert run_cli(["train", "vae", "--epochs", "1", "--out", str(run_dir), "--quiet"]) == 0
    return run_dir


def write_idx(path, array):
    """An uncompressed IDX file of uint8 images (the MNIST format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())
    return path


CLI_CASES = [
    (["train", "vae", "--steps", "3"], "does not take --steps"),
    (["train", "vae", "--seed", "-1"], "--seed"),
    (["train", "vae", "--data", "text"], "arrays of numbers"),
    (["train", "char-transformer", "--data", "digits"], "trains on text"),
    (["train", "vae", "--data", "swissroll"], "binary"),
    (["train", "made", "--data", "swissroll"], "binary"),
    (["train", "rbm", "--data", "moons", "--quick"], "binary"),
    (["train", "vae", "--data", "digits"], "binary"),
    (["train", "mixture", "--data", "digits"], "binary"),
    (["train", "vae", "--out", ""], "must not be empty"),
    (["train", "--resume", "/no/such/run"], "no such run directory"),
    (["train", "vae", "--resume", "/no/such/run"], "give no MODEL"),
    (["train"], "MODEL is required"),
    (["sample", "/no/such/run", "--n", "3"], "no such run directory"),
    (["bench", "--backends", "tpu"], "unknown backend"),
]


@pytest.mark.parametrize("argv, words", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_cli_refuses_with_one_line(capsys, tmp_path, argv, words):
    argv = [a if a != "OUT" else str(tmp_path / "r") for a in argv]
    if argv[0] == "train" and "--out" not in argv and "--resume" not in argv and len(argv) > 1:
        argv += ["--out", str(tmp_path / "r")]
    assert words in one_line_error(capsys, argv)
    assert not (tmp_path / "r").exists()


def test_out_at_a_file_under_a_file_and_in_proc(capsys, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    assert "not a folder" in one_line_error(capsys, ["train", "vae", "--out", str(a_file)])
    assert "cannot write" in one_line_error(capsys, ["train", "vae", "--out", str(a_file / "run")])
    assert "cannot write" in one_line_error(capsys, ["train", "vae", "--out", "/proc/minigen-run"])
    assert a_file.read_text() == "mine"


def test_out_never_overwrites_what_the_user_had(capsys, tmp_path, vae_run):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "model.npz").write_bytes(b"my own file")
    assert "not a minigen run" in one_line_error(capsys, ["train", "vae", "--out", str(folder)])
    assert (folder / "model.npz").read_bytes() == b"my own file"
    assert "already holds a run" in one_line_error(capsys, ["train", "vae", "--out", str(vae_run)])


def test_an_empty_or_tiny_training_split_is_refused(capsys, tmp_path):
    one = write_idx(tmp_path / "one.idx", np.zeros((1, 8, 8)))
    assert "examples" in one_line_error(capsys, ["train", "ddpm", "--data", str(one), "--steps", "5",
                                             "--out", str(tmp_path / "r")])
    with pytest.raises(ValueError, match="no rows"):
        VAE(64, 2).fit(np.zeros((0, 64), np.float32), epochs=1, progress=False)


def test_bad_environment_backends_leave_help_and_explicit_backends_working(tmp_path):
    for value in ("bogus", "cupy"):
        env = dict(os.environ, MINIGEN_BACKEND=value, PYTHONPATH=ROOT, MPLBACKEND="Agg")
        if value == "cupy" and autograd.backend.cupy_or_none() is not None:
            continue
        help_run = subprocess.run([sys.executable, "-m", "minigen", "train", "--help"], env=env,
                                  capture_output=True, text=True, timeout=120)
        assert help_run.returncode == 0 and "Traceback" not in help_run.stderr
        listing = subprocess.run([sys.executable, "-m", "minigen", "list"], env=env, capture_output=True,
                                 text=True, timeout=120)
        assert listing.returncode == 0 and "vae" in listing.stdout
        train = subprocess.run([sys.executable, "-m", "minigen", "train", "mixture", "--quick", "--quiet",
                                "--out", str(tmp_path / value)], env=env, capture_output=True, text=True,
                               timeout=300)
        assert train.returncode == 2 and len(train.stderr.strip().splitlines()) == 1, train.stderr
        explicit = subprocess.run([sys.executable, "-m", "minigen", "train", "mixture", "--quick", "--quiet",
                                   "--backend", "numpy", "--out", str(tmp_path / f"{value}-numpy")], env=env,
                                  capture_output=True, text=True, timeout=300)
        assert explicit.returncode == 0, explicit.stderr


@pytest.mark.parametrize("edit, words", [
    (lambda info: info.update(config=None), "config"),
    (lambda info: info.update(config=[1, 2]), "config"),
    (lambda info: info["config"].update(bogus=1), "does not build"),
    (lambda info: info.update(family="rbm"), "does not build"),
    (lambda info: info.update(family="nosuch"), "unknown model"),
    (lambda info: info["config"].update(n_input="64"), "does not build"),
    (lambda info: info["config"].update(n_latent=0), "does not build"),
    (lambda info: info["config"].update(n_input=10**12), "implausibly large"),
    (lambda info: info.update(seed=float("nan")), "seed"),
    (lambda info: info.update(config={"a": [[[[[[[[[[[[1]]]]]]]]]]]]}), "nested"),
])
def test_edited_run_files_are_refused_in_one_line(capsys, tmp_path, vae_run, edit, words):
    run_dir = tmp_path / "edited"
    run_dir.mkdir()
    for name in ("model.npz", "run.json"):
        (run_dir / name).write_bytes((vae_run / name).read_bytes())
    info = json.loads((run_dir / "run.json").read_text())
    edit(info)
    (run_dir / "run.json").write_text(json.dumps(info))
    assert words in one_line_error(capsys, ["eval", str(run_dir)])


def test_run_file_that_is_a_link_to_an_endless_device(capsys, tmp_path, vae_run):
    run_dir = tmp_path / "zero"
    run_dir.mkdir()
    (run_dir / "model.npz").write_bytes((vae_run / "model.npz").read_bytes())
    os.symlink("/dev/zero", run_dir / "run.json")
    assert "run.json" in one_line_error(capsys, ["sample", str(run_dir)])


@pytest.mark.parametrize("manifest", [[1, 2], 3, "text"])
def test_model_files_whose_manifest_is_not_a_state_dict(capsys, tmp_path, vae_run, manifest):
    run_dir = tmp_path / "manifest"
    run_dir.mkdir()
    (run_dir / "run.json").write_bytes((vae_run / "run.json").read_bytes())
    autograd.save(manifest, run_dir / "model.npz")
    one_line_error(capsys, ["eval", str(run_dir)])


def test_sample_output_by_extension(capsys, tmp_path, vae_run):
    assert run_cli(["sample", str(vae_run), "--n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy", allow_pickle=False).shape == (5, 64)
    assert run_cli(["sample", str(vae_run), "--n", "5", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz", allow_pickle=False) as archive:
        assert archive["samples"].shape == (5, 64)
    assert run_cli(["sample", str(vae_run), "--n", "5", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert "unknown format" in one_line_error(capsys, ["sample", str(vae_run), "--out", str(tmp_path / "s.jpg")])
    assert "text models" in one_line_error(capsys, ["sample", str(vae_run), "--out", "-"])
    assert not os.path.exists("-")
    assert "--n must be" in one_line_error(capsys, ["sample", str(vae_run), "--n", "200000"])
    assert "--n must be" in one_line_error(capsys, ["sample", str(vae_run), "--n", "0"])


def test_the_table_retrains_a_cache_of_another_family(capsys, tmp_path, vae_run):
    runs_dir = tmp_path / "runs"
    forged = runs_dir / "table-mixture-quick"
    forged.mkdir(parents=True)
    for name in ("model.npz", "run.json"):
        (forged / name).write_bytes((vae_run / name).read_bytes())
    entry = cli.zoo.get("mixture")
    model = cli._cached_table_model(entry, str(runs_dir), True, echo=lambda line: None)
    assert isinstance(model, MixtureOfBernoullis)
    assert json.loads((forged / "run.json").read_text())["family"] == "mixture"


@pytest.mark.parametrize("model", [lambda: VAE(64, 2, hidden=(8,)), lambda: RBM(64, 4),
                                   lambda: MADE(64, hidden=(8,), n_masks=1)])
def test_bernoulli_models_refuse_real_valued_data_everywhere(model):
    X = data.load_digits("train")[:50]                      # pixels / 16: not binary
    with pytest.raises(ValueError, match="binary"):
        model().fit(X, epochs=1, progress=False)
    fitted = model().fit(data.load_digits("train", binarize=True)[:50], epochs=1, progress=False)
    with pytest.raises(ValueError, match="binary"):
        fitted.log_prob(X)


@pytest.mark.parametrize("n, error", [(-1, ValueError), (2.5, TypeError), ("3", TypeError)])
def test_sample_counts(n, error):
    with pytest.raises(error, match="VAE.sample"):
        VAE(64, 2, hidden=(8,)).sample(n)


def test_a_mistyped_resume_path_is_an_error_not_a_fresh_start(tmp_path):
    X = data.load_digits("train", binarize=True)[:50]
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        VAE(64, 2, hidden=(8,)).fit(X, epochs=1, progress=False, resume=str(tmp_path / "typo.npz"))


def test_a_finished_run_is_never_half_updated_while_it_is_read(vae_run, tmp_path):
    """run.json names its model.npz by checksum: a reader that sees a rewrite in progress reads again."""
    run_dir = tmp_path / "busy"
    run_dir.mkdir()
    for name in ("model.npz", "run.json"):
        (run_dir / name).write_bytes((vae_run / name).read_bytes())
    _, model, info = runs.load_run(str(run_dir))
    other = VAE(**info["config"])                            # untrained: different weights
    autograd.save(other.state_dict(), run_dir / "model.npz")  # a writer between its two renames
    assert runs._read_state(str(run_dir), info)[1] is False     # model.npz is not the one run.json names
    runs.save_run(str(run_dir), other, info)
    assert runs._read_state(str(run_dir), runs.read_info(str(run_dir)))[1] is True


def test_a_small_file_that_would_expand_hugely_is_refused_before_decompressing(tmp_path):
    import io
    import zipfile
    bomb = tmp_path / "model.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        payload = io.BytesIO()
        np.save(payload, np.zeros(20_000_000, np.uint8))
        archive.writestr("a0.npy", payload.getvalue())
    with pytest.raises(autograd.CheckpointError, match="expand"):
        autograd.load(bomb)


def test_a_model_file_that_is_a_link_to_a_device_is_refused(tmp_path):
    os.symlink("/dev/zero", tmp_path / "model.npz")
    with pytest.raises(autograd.CheckpointError, match="not a regular file"):
        autograd.load(tmp_path / "model.npz")
