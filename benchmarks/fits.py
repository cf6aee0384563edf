"""`python -m benchmarks --fits`: how long each family's default fit takes on each backend.

A default fit runs for hours on the CPU (the VAE's 350 epochs, the DDPM's 8000 steps), so each is
timed on a few epochs or steps, after a one-unit warm-up fit (Numba compiles, caches fill), and
scaled to the default length.  The scaled time leaves out what a fit does once (building the
optimizer, moving the data), which is small next to thousands of steps.  Each row also counts one
short fit with autograd.costs and divides by its training steps: graph nodes and array-library
calls per step, what a GPU pays for.

    family   model                              data                      default length
    RBM      RBM(64, 16)                        binarized digits (train)  epochs
    VAE      VAE(64, 8)                         binarized digits (train)  epochs
    DDPM     DDPM((64,))                        digits (train)            steps
    GAN      GAN(2, latent_dim=2) (an MLP pair)  8 Gaussians (2,000)       steps
"""
import dataclasses
import math
from typing import Any, Callable

import numpy as np

from autograd import backend, costs

from .workloads import find_model


@dataclasses.dataclass
class FitCase:
    family: str
    build: Callable[[Any], Any]          # the model class -> a model
    data: Callable[[], np.ndarray]
    unit: str                            # "epochs" or "steps": the fit argument that sets its length
    timed_units: int                     # how many are timed
    quick_units: int                     # how many under --quick

    def steps_per_unit(self, model: Any, n: int) -> int:
        """Training steps (optimizer updates, generator updates for a GAN) in one unit."""
        if self.unit == "steps":
            return 1
        return math.ceil(n / model.settings().batch_size)


def _digits(binarize: bool) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from minigen.data import load_digits
        return load_digits("train", binarize=binarize)
    return load


def _toy() -> np.ndarray:
    from minigen.data import toy_2d
    return toy_2d("8gaussians", 2000)


CASES = [
    FitCase("RBM", lambda RBM: RBM(64, 16, seed=0), _digits(True), "epochs", 2, 1),
    FitCase("VAE", lambda VAE: VAE(64, 8, seed=0), _digits(True), "epochs", 2, 1),
    FitCase("DDPM", lambda DDPM: DDPM((64,), seed=0), _digits(False), "steps", 40, 5),
    FitCase("GAN", lambda GAN: GAN(2, latent_dim=2, seed=0), _toy, "steps", 40, 5),
]


def fit_rows(backends, quick, clock):
    """One row per family: the default length, and per backend the seconds of one unit and of
    the whole default fit (scaled), with the counted costs per training step."""
    rows = []
    for case in CASES:
        model_class = find_model(case.family)
        row = {"family": case.family, "unit": case.unit}
        if model_class is None:
            row["note"] = f"minigen.models.{case.family} has not landed"
            rows.append(row)
            continue
        X = case.data()
        units = case.quick_units if quick else case.timed_units
        for name in backends:
            backend.set_backend(name)
            row[name] = time_fit(case, model_class, X, units, clock)
        backend.set_backend("numpy")
        rows.append(row)
    return rows


def time_fit(case, model_class, X, units, clock):
    """Seconds per unit and for the default length, and costs per step, of `case` on the active backend."""
    def fit(model, n):
        return model.fit(X, **{case.unit: n}, progress=False)

    fit(case.build(model_class), 1)                                      # warm-up: compile, cache
    model = case.build(model_class)
    default_units = getattr(model.settings(), case.unit)
    start = clock()
    fit(model, units)
    per_unit = (clock() - start) / units
    counted = costs.count_step(lambda: fit(case.build(model_class), 1))
    steps = case.steps_per_unit(model, len(X))
    per_step = {key: (None if value is None else round(value / steps, 1))
                for key, value in dataclasses.asdict(counted).items()}
    return {"per_unit_s": per_unit, "default_units": default_units, "default_fit_s": per_unit * default_units,
            "per_step": per_step}


def format_fits(rows):
    """A Markdown table: the scaled default fit per backend, then the per-step counts."""
    backends = [k for row in rows for k in row if k not in ("family", "unit", "note")]
    backends = list(dict.fromkeys(backends))
    lines = ["| family | default length | " + " | ".join(f"{b} default fit" for b in backends)
             + " | per step (nodes; array calls per backend) | note |",
             "|---|---|" + "---|" * (len(backends) + 2)]
    for row in rows:
        timed = [row[b] for b in backends if b in row]
        length = f"{timed[0]['default_units']} {row['unit']}" if timed else "-"
        cells = [(f"{row[b]['default_fit_s']:.0f} s ({row[b]['per_unit_s'] * 1e3:.3g} ms per "
                  f"{row['unit'][:-1]})") if b in row else "-" for b in backends]
        per_step = "-"
        if timed:
            calls = ", ".join(f"{b} {row[b]['per_step']['calls']:g}" for b in backends
                              if b in row and row[b]['per_step']['calls'] is not None)
            per_step = f"{timed[0]['per_step']['nodes']:g} nodes; {calls}"
        lines.append(f"| {row['family']} | {length} | " + " | ".join(cells) + f" | {per_step} | {row.get('note', '')} |")
    return "\n".join(lines)
