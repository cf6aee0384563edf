"""save / load of state dicts as .npz files: arrays as arrays, everything else as JSON, never pickle.

A state dict may nest dicts and lists (an optimizer's state does).  `save` flattens it: each array
is stored under its path ("state/0/exp_avg"), and a JSON manifest records the nesting and the
plain values (numbers, strings, booleans, None).  The file is written to a temporary name in the
same folder and renamed, so an interrupted save never leaves half a file.  `load` opens it with
allow_pickle=False and refuses anything it did not write, with one line that names the file.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from . import backend
from .tensor import Tensor

MANIFEST = "__minigen_manifest__"
STORABLE_KINDS = "biufUS"       # booleans, integers, floats and strings: what a state holds


class CheckpointError(ValueError):
    """A file that is not a readable minigen state dict."""


def _flatten(value: Any, path: str, arrays: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able description of `value`; its arrays go into `arrays` under their path."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.generic):
        value = value.item()
    if hasattr(value, "__array_interface__") or hasattr(value, "__cuda_array_interface__"):
        if value.dtype.kind not in STORABLE_KINDS:
            raise TypeError(f"save: cannot store {value.dtype} values at {path!r}; a state holds "
                            "real numbers and strings")
        name = f"a{len(arrays)}"
        arrays[name] = backend.to_numpy(value)
        return {"array": name, "path": path}
    if isinstance(value, dict):
        return {"dict": [[str(k), _flatten(v, f"{path}/{k}", arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"list": [_flatten(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TypeError(f"save: cannot store a {type(value).__name__} at {path!r} without pickle")


def _unflatten(node: dict[str, Any], arrays: dict[str, np.ndarray], file: str) -> Any:
    """The value `node` describes, its arrays taken from `arrays`; an array `save` would not have
    written (complex, structured) is refused, naming its key and the file."""
    if "array" in node:
        array = arrays[node["array"]]
        if array.dtype.kind not in STORABLE_KINDS:
            raise CheckpointError(f"{file}: {node['path'].lstrip('/')!r} holds {array.dtype} values; "
                                  "a minigen checkpoint holds real numbers and strings")
        return array
    if "dict" in node:
        return {k: _unflatten(v, arrays, file) for k, v in node["dict"]}
    if "list" in node:
        return [_unflatten(v, arrays, file) for v in node["list"]]
    return node["value"]


def save(state_dict: Any, path: str | os.PathLike[str]) -> None:
    """Write a (nested) state dict of arrays and plain values to `path` (.npz), atomically."""
    arrays: dict[str, Any] = {}
    manifest = _flatten(state_dict, "", arrays)
    arrays[MANIFEST] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    with atomic_file(path, "wb") as file:
        np.savez(file, **arrays)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path` for writing; on success it is flushed, synced and renamed
    onto `path`, so readers see the old file or the whole new one, never half a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _check_sizes(raw: bytes, path: str) -> None:
    """Refuse an archive whose members would decompress to much more than the file holds, before
    anything is decompressed: `save` stores arrays uncompressed, so a larger total is not ours."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        return                                          # not a zip: np.load says what it is
    if expanded > 2 * len(raw) + (1 << 20):
        raise CheckpointError(f"{path}: its arrays would expand to {expanded} bytes from a {len(raw)}-byte "
                              "file; not a minigen checkpoint")


def load(path: str | os.PathLike[str]) -> Any:
    """Read a state dict written by `save`.  Never unpickles; a foreign or broken file is refused."""
    path = os.fspath(path)
    try:
        if os.path.exists(path) and not os.path.isfile(path):
            raise CheckpointError(f"{path}: not a regular file")
        with open(path, "rb") as file:
            raw = file.read()
        _check_sizes(raw, path)
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: not a minigen checkpoint (a bare array, not an .npz)")
        with archive:
            if MANIFEST not in archive.files:
                raise CheckpointError(f"{path}: not a minigen checkpoint (no manifest)")
            manifest = json.loads(archive[MANIFEST].tobytes().decode())
            arrays = {name: archive[name] for name in archive.files if name != MANIFEST}
        return _unflatten(manifest, arrays, path)
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: corrupt or not a minigen checkpoint ({reason})") from None
