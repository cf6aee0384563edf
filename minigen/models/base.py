"""The contract every generative family keeps, written once.

    model.fit(X, ...) -> model          X checked by `check_data`; None settings mean `Class.Defaults`
    model.sample(n, seed=None)          an array shaped like the data; n checked here for every family
    model.likelihood_kind               "exact" | "AIS" | "IWAE" | "bound" | None
    model.log_prob(X) -> (n,)           log p(x), or the estimate or bound that likelihood_kind names
    model.score(X) -> float             mean log_prob (higher is better, as in scikit-learn)
    model.save(path);  Class.load(path);  minigen.models.load(path)

A model is a Module whose constructor arguments are remembered in `self.config`, so that
`type(model)(**model.config)` rebuilds an untrained twin; its state is its state dict (parameters
and buffers).  `save` writes both into one .npz (never pickle); `load` rebuilds the class by name.
"""
import dataclasses
import functools
import inspect
import math
import numbers
import os
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, TypeVar

import numpy as np

import autograd
from autograd import nn
from autograd.backend import array_module, default_device, to_device
from autograd.tensor import Array

LIKELIHOOD_KINDS = ("exact", "AIS", "IWAE", "bound")
MODEL_FORMAT = "minigen-model-1"
Model = TypeVar("Model", bound="GenerativeModel")


@dataclasses.dataclass
class NoDefaults:
    """A family without tuned fit settings."""


class GenerativeModel(nn.Module):
    """Base class of the generative families (the module docstring states the contract).

    Subclasses call `super().__init__(**config)` with the JSON-able arguments they were built with.
    State that is not a Parameter (counts, means, tables) is registered with `register_buffer` so it
    is saved too.  Class attributes a family sets:

        likelihood_kind   what log_prob returns (None: no likelihood, log_prob raises)
        Defaults          a dataclass of the tuned fit settings, the one place they live
        size_argument     the constructor argument holding the width (or shape) of one example
        binary            whether the likelihood is Bernoulli (then fit and log_prob need 0/1 data);
                          a property where it depends on the configuration
    """

    likelihood_kind: ClassVar[Optional[str]] = None
    Defaults: ClassVar[type] = NoDefaults
    size_argument: ClassVar[Optional[str]] = None
    by_name: ClassVar[Dict[str, Type["GenerativeModel"]]] = {}      # every family, to rebuild a saved one
    config: Dict[str, Any]                   # the constructor arguments, set once by __init__

    @property
    def binary(self) -> bool:
        """Whether the likelihood is Bernoulli: then fit and log_prob need 0/1 data."""
        return False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        GenerativeModel.by_name[cls.__name__] = cls
        if callable(cls.__dict__.get("sample")):
            setattr(cls, "sample", _checked_sample(cls.__dict__["sample"]))

    def __init__(self, **config: Any) -> None:
        super().__init__()
        object.__setattr__(self, "config", dict(config))
        if self.size_argument and config.get(self.size_argument) is not None:
            check_sizes(self.name, **{self.size_argument: config[self.size_argument]})
        self.data_shape: Optional[Tuple[int, ...]] = self._shape_from_config()   # None: learned by fit

    @property
    def name(self) -> str:
        return type(self).__name__

    # -- sizes and data ------------------------------------------------------------------------
    def _shape_from_config(self) -> Optional[Tuple[int, ...]]:
        """The shape of one example, from the constructor argument `size_argument` names."""
        size = self.config.get(self.size_argument) if self.size_argument else None
        if size is None:
            return None
        return tuple(int(s) for s in size) if isinstance(size, (list, tuple)) else (int(size),)

    def check_data(self, X: Any, *, where: str = "fit", binary: Optional[bool] = None, dtype: Any = np.float32,
                   device: Optional[str] = None) -> Array:
        """X as `dtype` (n, *data_shape) on `device` (default: the active backend's), or a one-line
        error naming the model: an array of real numbers, at least one row, every value finite, the
        model's width, and only 0s and 1s where the likelihood is Bernoulli.  A flat
        (n, prod(data_shape)) X is accepted.  Closed-form fits ask for float64 on the "cpu"."""
        who = f"{self.name}.{where}"
        X = _as_real_array(X, who)
        if X.ndim < 2:
            raise ValueError(f"{who}: expected a 2-D array (examples x features), got shape {tuple(X.shape)}")
        if X.shape[0] == 0:
            raise ValueError(f"{who}: the data has no rows")
        shape = self.data_shape
        if shape is not None:
            if math.prod(X.shape[1:]) != math.prod(shape):
                raise ValueError(f"{who}: expected examples of shape {shape}, got {tuple(X.shape[1:])}")
            X = X.reshape(len(X), *shape)
        xp = array_module(X)
        if not bool(xp.isfinite(X).all()):
            raise ValueError(f"{who}: the data contains NaN or infinite values")
        if (self.binary if binary is None else binary) and not bool(((X == 0) | (X == 1)).all()):
            low, high = float(X.min()), float(X.max())
            raise ValueError(f"{who}: this model's likelihood is Bernoulli and needs binary data (0 or 1), "
                             f"got values in [{low:.4g}, {high:.4g}]; binarize it first (e.g. X >= 0.5)")
        return to_device(X, device or default_device()).astype(dtype, copy=False)

    def settings(self, **overrides: Any) -> Any:
        """The family's Defaults with every override that is not None (a typo is a TypeError)."""
        known = {field.name for field in dataclasses.fields(self.Defaults)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"{self.name}.fit: unknown setting(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
        return dataclasses.replace(self.Defaults(), **{k: v for k, v in overrides.items() if v is not None})

    # -- what every family defines ----------------------------------------------------------------
    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """fit(X, ...) -> self: fit the model to the rows of X (check_data first; None settings mean
        Defaults).  Each family defines it."""
        raise NotImplementedError(f"{self.name} does not define fit")

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        """sample(n, seed=None) -> n samples shaped like the data (n is checked before a family's
        sample runs).  Each family that can sample defines it."""
        raise NotImplementedError(f"{self.name} cannot draw samples")

    # -- likelihood ------------------------------------------------------------------------------
    def log_prob(self, X: Any) -> np.ndarray:
        """log p(x) per example, (n,): exact, or the estimate or bound that `likelihood_kind` names."""
        raise NotImplementedError(f"{self.name} has no tractable likelihood (likelihood_kind is None)")

    def score(self, X: Any) -> float:
        """The mean of log_prob over the rows of X, in nats (higher is better, as in scikit-learn)."""
        return float(np.mean(self.log_prob(X)))

    # -- saving and loading ------------------------------------------------------------------------
    def save(self, path: "os.PathLike[str] | str") -> None:
        """Write the model's class, config and state to one .npz (atomically; no pickle)."""
        autograd.save({"format": MODEL_FORMAT, "class": self.name, "config": self.config,
                       "state": self.state_dict()}, path)

    @classmethod
    def load(cls: Type[Model], path: "os.PathLike[str] | str") -> Model:
        """A model saved by `save`; loaded through a family class, the file must hold that family."""
        saved = autograd.load(path)
        if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
            raise autograd.CheckpointError(f"{os.fspath(path)}: not a minigen model file (written by model.save)")
        klass = GenerativeModel.by_name.get(saved.get("class", ""))
        if klass is None or not issubclass(klass, cls):
            raise autograd.CheckpointError(f"{os.fspath(path)}: holds a {saved.get('class')} model, "
                                           f"not a {cls.__name__}")
        if not isinstance(saved.get("config"), dict) or not isinstance(saved.get("state"), dict):
            raise autograd.CheckpointError(f"{os.fspath(path)}: the model file has no config or state")
        model = klass(**saved["config"])
        model.load_state_dict(saved["state"])
        model.eval()
        return model

    def load_state_dict(self: Model, state: Mapping[str, Any]) -> Model:
        """Load a state dict, first creating the buffers that fitting makes (their shapes depend on
        the data), so that `type(model)(**model.config).load_state_dict(...)` restores a fitted model."""
        known = {name for name, _ in self.named_parameters()} | {name for name, _, _ in self.named_buffers()}
        for name, value in state.items():
            if name not in known and "." not in name:
                self.register_buffer(name, value)
        return super().load_state_dict(state)


def load(path: "os.PathLike[str] | str") -> GenerativeModel:
    """Any model written by `model.save(path)`, rebuilt as its own class."""
    return GenerativeModel.load(path)


def check_sizes(who: str, **sizes: Any) -> None:
    """Every size (an int, or a shape: a list or tuple of ints) is a positive integer; else a
    ValueError naming the model and the argument."""
    for name, size in sizes.items():
        values = size if isinstance(size, (list, tuple)) else [size]
        if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in values):
            raise ValueError(f"{who}: {name} must be a positive integer (or a shape of them), got {size!r}")


def check_count(n: Any, who: str) -> int:
    """n as a positive int; a TypeError for a non-integer, a ValueError for n < 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{who}: n must be a positive integer, got {n!r}")
    if n < 1:
        raise ValueError(f"{who}: n must be a positive integer, got {n}")
    return int(n)


def _checked_sample(sample):
    """`sample` with its count (the first argument, however it is named) checked first: every
    family's sample(n, ...) shares this check."""
    count_name = list(inspect.signature(sample).parameters)[1]

    @functools.wraps(sample)
    def checked(self, *args, **kwargs):
        who = f"{type(self).__name__}.sample"
        if args:
            args = (check_count(args[0], who), *args[1:])
        elif count_name in kwargs:
            kwargs[count_name] = check_count(kwargs[count_name], who)
        return sample(self, *args, **kwargs)
    return checked


def _as_real_array(X: Any, who: str):
    """X as a NumPy or CuPy array of real numbers; a TypeError for anything else."""
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError):
            raise TypeError(f"{who}: expected an array of numbers, got a {type(X).__name__}") from None
    kind = np.dtype(X.dtype).kind
    if kind not in "fiub":
        raise TypeError(f"{who}: expected real numbers, got an array of dtype {X.dtype}")
    return X
