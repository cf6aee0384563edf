"""The registry of model families that the command line, the demos and the likelihood table use.

Each family's module registers one Entry (at the bottom of minigen/models/<family>.py):

    register(Entry(name="vae", build=..., data="digits-binary", ...))

    build(data_shape, args) -> model     a fresh model for data of that shape (one example's shape;
                                        (n_characters,) for text); `args` is a dict of command-line
                                        options: seed, epochs, steps (None when not given), quick
                                        (bool), data (the data-set name), progress (bool)
    data                                 the default data set name (see minigen.data.load_named)
    fit_kwargs(args) -> dict             keyword arguments for model.fit from command-line options;
                                         --epochs / --steps given on the command line override them,
                                         and seed / progress are added when fit accepts them
    evaluate(model, X_test) -> dict      the family's metrics (numbers), for `minigen eval`
    likelihood(model, X_test) -> list    rows (label, kind, nll_nats) for the likelihood table, where
                                         kind is "exact", "AIS", "IWAE" or "bound"; None if intractable
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

REGISTRY = {}


@dataclass
class Entry:
    name: str
    model_class: type
    build: Callable
    data: str
    fit_kwargs: Callable = lambda args: {}
    evaluate: Optional[Callable] = None
    likelihood: Optional[Callable] = None
    description: str = ""


def mean_nll(model, X_test):
    """-mean log p(x) in nats over the test rows, for a model whose log_prob is exact."""
    return float(-np.mean(model.log_prob(X_test)))


def exact_likelihood(label):
    """The evaluate and likelihood hooks of a family with an exact log_prob (Entry(..., **these))."""
    return {"evaluate": lambda model, X_test: {"test_nll_nats": mean_nll(model, X_test)},
            "likelihood": lambda model, X_test: [(label, "exact", mean_nll(model, X_test))]}


def register(entry):
    REGISTRY[entry.name] = entry
    return entry


def names():
    """The registered family names, sorted (after the model families have registered)."""
    import minigen.models  # noqa: F401  (importing the models registers them)
    return sorted(REGISTRY)


def with_likelihood():
    """The entries whose family has a tractable likelihood or bound (rows of the likelihood table)."""
    return [REGISTRY[name] for name in names() if REGISTRY[name].likelihood is not None]


def get(name):
    """The Entry for a family name; a clear error for an unknown one."""
    import minigen.models  # noqa: F401  (importing the models registers them)
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none yet"
        raise KeyError(f"unknown model {name!r}; known models: {known}")
    return REGISTRY[name]
