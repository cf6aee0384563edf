"""Run directories: a trained model, its provenance, and how to rebuild it without pickle.

RUN_DIR/model.npz        the model's state dict (autograd.save)
RUN_DIR/checkpoint.npz   the training loop's checkpoint (model, optimizers, counters, random states),
                         written while training and on Ctrl-C, so `minigen train --resume RUN_DIR`
                         continues the run
RUN_DIR/run.json         family, model config, data, seed, options, status, backend, library versions,
                         argv, git commit, metrics, and the size and SHA-256 of model.npz

Every file is written to a temporary name and renamed.  run.json is written last and names the
model.npz it belongs to by its checksum, so a reader that finds the two disagreeing (a run being
overwritten at that moment) reads both again; the manifest is read and checked before any array
is decompressed.
"""
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import autograd
from autograd import nn
from autograd.serialize import atomic_file

if TYPE_CHECKING:
    from minigen.models import GenerativeModel
    from minigen.zoo import Entry

MODEL_FILE = "model.npz"
RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.npz"
RUN_FILES = (RUN_FILE, MODEL_FILE, CHECKPOINT_FILE)
LIBRARIES = ("numpy", "numba", "matplotlib", "scikit-learn", "tqdm", "cupy", "minigen")
CUPY_DISTRIBUTIONS = ("cupy", "cupy-cuda13x", "cupy-cuda12x", "cupy-cuda11x")
MAX_RUN_FILE_BYTES = 1 << 20           # a run.json is a few kB; more is not one of ours
MAX_CONFIG_SIZE = 1 << 20              # no size in a model's config (units, pixels, steps) is larger
READ_ATTEMPTS = 20                     # re-reads of a run being overwritten while we read it


class RunError(ValueError):
    """A run directory that is missing, incomplete or corrupt; the message is one line."""


def write_text_atomic(path: str, text: str) -> str:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    with atomic_file(path, "w") as file:
        file.write(text)
    return path


def write_json_atomic(path: str, payload: dict) -> str:
    return write_text_atomic(path, json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} to run.json")


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries a run depends on (None where one is absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        candidates = CUPY_DISTRIBUTIONS if name == "cupy" else (name,)
        versions[name] = next(filter(None, map(_installed_version, candidates)), None)
    versions["minigen"] = versions["minigen"] or _source_version()
    return versions


def _installed_version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _source_version():
    """minigen's version from setup.cfg, when it runs from a checkout that was not installed."""
    import configparser
    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    return config.get("metadata", "version", fallback=None)


def git_commit() -> str | None:
    """The commit of the source tree minigen runs from, or None outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def provenance(family: str, config: dict, data: str, seed: int | None,
               argv: Sequence[str] | None = None) -> dict[str, Any]:
    """What run.json records about where a run came from."""
    return {"family": family, "config": config, "data": data, "seed": seed,
            "backend": autograd.get_backend(), "versions": library_versions(),
            "argv": list(sys.argv if argv is None else argv), "git_commit": git_commit()}


def is_run(run_dir: str) -> bool:
    """Whether run_dir holds a minigen run (finished, or a checkpoint of one in progress)."""
    return any(os.path.isfile(os.path.join(run_dir, name)) for name in (RUN_FILE, CHECKPOINT_FILE))


def prepare_run_dir(run_dir: str, *, force: bool = False, resume: bool = False) -> bool:
    """Check that run_dir can receive a run before any training starts, and create it.

    A folder that holds files but no minigen run is refused unless `force`; one that holds a run is
    refused unless `force` (start over) or `resume` (continue it).  Returns True if the folder was
    created here (so a run that ends with nothing to keep can remove it again)."""
    if not run_dir:
        raise RunError("the run directory (--out) must not be empty")
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: exists and is not a folder")
    created = not os.path.exists(run_dir)
    if not created and os.listdir(run_dir) and not (force or resume):
        if is_run(run_dir):
            raise RunError(f"{run_dir}: already holds a run; add --force to replace it or --resume to continue it")
        raise RunError(f"{run_dir}: not empty and not a minigen run; add --force to write into it anyway")
    try:
        os.makedirs(run_dir, exist_ok=True)
        with atomic_file(os.path.join(run_dir, ".write-test"), "w") as probe:
            probe.write("")
        os.remove(os.path.join(run_dir, ".write-test"))
    except OSError as exc:
        raise RunError(f"{run_dir}: cannot write there ({exc.strerror or exc})") from None
    return created


def write_info(run_dir: str, info: dict) -> None:
    """Write run.json (atomically) as it stands."""
    write_json_atomic(os.path.join(run_dir, RUN_FILE), info)


def save_run(run_dir: str, model: nn.Module, info: dict) -> str:
    """Write model.npz, then run.json (info plus the model file's size and checksum); return run_dir."""
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, MODEL_FILE)
    autograd.save(model.state_dict(), path)
    info = dict(info, model_file=_file_digest(path))
    write_info(run_dir, info)
    return run_dir


def _file_digest(path):
    with open(path, "rb") as file:
        raw = file.read()
    return {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


def read_info(run_dir: str) -> dict[str, Any]:
    """The run.json of a run directory, checked; RunError (one line) for a missing, huge,
    unreadable or malformed one."""
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: no such run directory")
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_RUN_FILE_BYTES + 1)
    except FileNotFoundError:
        raise RunError(f"{path}: missing (not a run directory written by minigen train)") from None
    except OSError as exc:
        raise RunError(f"{path}: unreadable ({exc.strerror or exc})") from None
    if len(raw) > MAX_RUN_FILE_BYTES:
        raise RunError(f"{path}: larger than {MAX_RUN_FILE_BYTES} bytes; not a minigen run file")
    try:
        info = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise RunError(f"{path}: unreadable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    _check_info(info, path)
    return info


def _check_info(info, path):
    if not isinstance(info, dict) or not {"family", "config", "data"} <= set(info):
        raise RunError(f"{path}: not a minigen run file (needs family, config and data)")
    if not isinstance(info["family"], str) or not isinstance(info["data"], str):
        raise RunError(f"{path}: family and data must be names (strings)")
    if not isinstance(info["config"], dict):
        raise RunError(f"{path}: config must be an object of constructor arguments")
    seed = info.get("seed", 0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise RunError(f"{path}: seed must be an integer in [0, 2^32), got {seed!r}")
    for name, value in _numbers(info["config"]):
        if isinstance(value, float) and not math.isfinite(value):
            raise RunError(f"{path}: config value {name} is {value}")
        if abs(value) > MAX_CONFIG_SIZE and name != "seed":
            raise RunError(f"{path}: config value {name} = {value} is implausibly large")


def _numbers(value, name="config", depth=0):
    """(path, number) for every number inside a config (lists and objects walked)."""
    if depth > 8:
        raise RunError(f"{name}: the config is nested too deeply")
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [(name, value)]
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _numbers(item, f"{name}.{key}", depth + 1)]
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in _numbers(item, f"{name}[{i}]", depth + 1)]
    return []


def load_run(run_dir: str) -> tuple["Entry", "GenerativeModel", dict[str, Any]]:
    """(entry, model, info) rebuilt from a run directory: entry.model_class(**config), then its state
    (from model.npz, or from the training checkpoint of a run that was interrupted)."""
    from minigen import zoo
    for attempt in range(READ_ATTEMPTS):
        info = read_info(run_dir)
        state, consistent = _read_state(run_dir, info)
        if consistent:
            break
        time.sleep(0.01 * (attempt + 1))                # the run is being rewritten: read it again
    try:
        entry = zoo.get(info["family"])
    except KeyError as exc:
        raise RunError(f"{run_dir}: {exc.args[0]}") from None
    model = build_model(entry, info, run_dir)
    if not isinstance(state, dict):
        raise RunError(f"{run_dir}: the model file holds no state dict")
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        message = str(exc.args[0] if exc.args else exc).splitlines()[0]
        raise RunError(f"{os.path.join(run_dir, MODEL_FILE)}: does not fit a {info['family']} model "
                       f"({message})") from None
    model.eval()
    return entry, model, info


def build_model(entry, info, run_dir):
    try:
        return entry.model_class(**info["config"])
    except (TypeError, ValueError, ArithmeticError, MemoryError, RecursionError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunError(f"{os.path.join(run_dir, RUN_FILE)}: its config does not build a {info['family']} "
                       f"model ({message})") from None


def _read_state(run_dir, info):
    """(state dict, whether model.npz is the file run.json names).  A run interrupted before its
    model was saved is read from its checkpoint."""
    from minigen.train import CHECKPOINT_FORMAT
    path = os.path.join(run_dir, MODEL_FILE)
    if not os.path.exists(path) and os.path.isfile(os.path.join(run_dir, CHECKPOINT_FILE)):
        path = os.path.join(run_dir, CHECKPOINT_FILE)
    expected = info.get("model_file")
    consistent = not isinstance(expected, dict) or path.endswith(CHECKPOINT_FILE) or \
        (os.path.isfile(path) and _file_digest(path) == expected)
    state = autograd.load(path)
    if isinstance(state, dict) and state.get("format") == CHECKPOINT_FORMAT:    # a training checkpoint
        state = state["model"]
    return state, consistent
