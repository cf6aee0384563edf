"""Run directories: a trained model, its provenance, and how to rebuild it without pickle.

RUN_DIR/model.npz   the model's state dict (autograd.save)
RUN_DIR/run.json    family, model config, data, seed, backend, library versions, argv, git commit,
                    final metrics

Every file is written to a temporary name and renamed, run.json last, so a folder with a run.json
always holds a complete run.
"""
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import autograd
from autograd.serialize import atomic_file

MODEL_FILE = "model.npz"
RUN_FILE = "run.json"
LIBRARIES = ("numpy", "numba", "matplotlib", "scikit-learn", "tqdm", "cupy", "minigen")


class RunError(ValueError):
    """A run directory that is missing, incomplete or corrupt; the message is one line."""


def write_text_atomic(path, text):
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    with atomic_file(path, "w") as file:
        file.write(text)
    return path


def write_json_atomic(path, payload):
    return write_text_atomic(path, json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} to run.json")


def library_versions():
    """Installed versions of the libraries a run depends on (None where one is absent)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["minigen"] = versions["minigen"] or _source_version()
    return versions


def _source_version():
    """minigen's version from setup.cfg, when it runs from a checkout that was not installed."""
    import configparser
    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    return config.get("metadata", "version", fallback=None)


def git_commit():
    """The commit of the source tree minigen runs from, or None outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def provenance(family, config, data, seed, argv=None):
    """What run.json records about where a run came from."""
    return {"family": family, "config": config, "data": data, "seed": seed,
            "backend": autograd.get_backend(), "versions": library_versions(),
            "argv": list(sys.argv if argv is None else argv), "git_commit": git_commit()}


def save_run(run_dir, model, info):
    """Write model.npz and then run.json (info plus nothing else) into run_dir; return run_dir."""
    os.makedirs(run_dir, exist_ok=True)
    autograd.save(model.state_dict(), os.path.join(run_dir, MODEL_FILE))
    write_json_atomic(os.path.join(run_dir, RUN_FILE), info)
    return run_dir


def read_info(run_dir):
    """The run.json of a run directory; RunError for a missing or unreadable one."""
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: no such run directory")
    try:
        with open(path) as file:
            info = json.load(file)
    except FileNotFoundError:
        raise RunError(f"{path}: missing (not a run directory written by minigen train)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({str(exc).splitlines()[0]})") from None
    if not isinstance(info, dict) or not {"family", "config", "data"} <= set(info):
        raise RunError(f"{path}: not a minigen run file (needs family, config and data)")
    return info


def load_run(run_dir):
    """(entry, model, info) rebuilt from a run directory: entry.model_class(**config), then its state."""
    from minigen import zoo
    from minigen.train import CHECKPOINT_FORMAT
    info = read_info(run_dir)
    try:
        entry = zoo.get(info["family"])
    except KeyError as exc:
        raise RunError(f"{run_dir}: {exc.args[0]}") from None
    model = entry.model_class(**info["config"])
    state = autograd.load(os.path.join(run_dir, MODEL_FILE))
    if state.get("format") == CHECKPOINT_FORMAT:                      # a training checkpoint also works
        state = state["model"]
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        message = str(exc.args[0] if exc.args else exc).splitlines()[0]
        raise RunError(f"{os.path.join(run_dir, MODEL_FILE)}: does not fit a {info['family']} model "
                       f"({message})") from None
    model.eval()
    return entry, model, info
