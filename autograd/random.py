"""Seeded random generators, one per device.

`manual_seed(s)` seeds the host generator (a numpy Generator, PCG64) and, when CuPy is in use, the
device generator.  Everything random in the library (randn, dropout, minibatch order, noise in
samplers) draws from these, so a seed fixes a whole run.  CuPy's streams differ from NumPy's: the
same seed gives the same numbers on numpy and numba, and the same distribution on cupy.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from . import backend

_generators = {"cpu": np.random.default_rng(0)}
_seed = {"value": 0}


def manual_seed(seed: int) -> None:
    """Seed the generators of every device."""
    _seed["value"] = int(seed)
    _generators["cpu"] = np.random.default_rng(seed)
    _generators.pop("cuda", None)


def generator(device: str | None = "cpu") -> Any:
    """The generator that draws numbers for `device` ("cpu" or "cuda")."""
    device = "cpu" if device in (None, "cpu") else "cuda"
    if device not in _generators:
        cupy = backend.require_cupy()
        _generators["cuda"] = cupy.random.default_rng(_seed["value"])
    return _generators[device]


def get_state() -> str:
    """The host generator's state as a JSON string (saved in checkpoints, no pickle)."""
    return json.dumps(_generators["cpu"].bit_generator.state)


def set_state(state: str) -> None:
    _generators["cpu"].bit_generator.state = json.loads(state)
