"""Optimizers: SGD (momentum, weight decay), Adam, AdamW, RMSprop, with PyTorch's update rules.

Each step is one fused kernel call per parameter (`autograd/kernels/reference.py` states the
equations), so the numba and cupy backends can run it in one pass over memory.  Parameters without
a gradient are skipped.

Parameters come in groups, as in PyTorch: `param_groups` is a list of dicts, each holding its
`params` and its own settings (`lr`, `weight_decay`, ...), which the step reads, so a learning-rate
scheduler (autograd.optim.lr_scheduler) or a hand-written schedule changes a group's `lr` between
steps.  A plain list of parameters makes one group; a list of dicts makes one group each, and a
setting a dict leaves out takes the optimizer's argument.

`state_dict()` holds plain arrays and numbers, so it saves with autograd.save: the per-parameter
state (in the order of the groups), the step count, each group's settings with the positions of
its parameters, and the first group's settings alone under "hyperparameters" (what a checkpoint
held before groups existed; such a checkpoint still loads, its settings given to every group).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backend import array_module, kernel, to_device
from ..tensor import Array, Tensor

Group = dict[str, Any]                         # "params" and the settings of one parameter group

# settings a group may carry beyond an optimizer's defaults: a scheduler's record of the base lr
SCHEDULER_KEYS = ("initial_lr",)


class Optimizer:
    """Base class: parameter groups, their per-parameter state, the step loop and state dicts."""

    defaults: dict[str, Any] = {}

    def __init__(self, params: Iterable[Tensor] | Iterable[Group], **settings: Any) -> None:
        unknown = set(settings) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown arguments {sorted(unknown)}")
        settings = {**self.defaults, **settings}
        self.param_groups: list[Group] = [self._group(given, settings) for given in self._given_groups(params)]
        self._check_each_parameter_once()
        self.state: list[dict[str, Any]] = [dict() for _ in self.params]
        self.step_count = 0

    def _given_groups(self, params: Iterable[Tensor] | Iterable[Group]) -> list[Group]:
        """The groups as given: a list of dicts, or one group for a list of parameters."""
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                            "got a single Tensor; wrap it in a list")
        given = list(params)
        if not given:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = [g for g in given if isinstance(g, dict)]
        if len(groups) == len(given):
            return groups
        if groups:
            raise TypeError(f"{type(self).__name__}: params mixes dicts (parameter groups) with Tensors")
        return [{"params": given}]

    def _group(self, given: Group, settings: dict[str, Any]) -> Group:
        """One parameter group: its parameters and every setting, the optimizer's filling gaps."""
        name = type(self).__name__
        if "params" not in given:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry, got keys {sorted(given)}")
        unknown = set(given) - set(self.defaults) - {"params", *SCHEDULER_KEYS}
        if unknown:
            raise TypeError(f"{name}: unknown settings {sorted(unknown)} in a parameter group")
        params = given["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group has an empty parameter list")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameters must be Tensors, got a {type(p).__name__}")
        return _tuple_betas({**settings, **given, "params": params})

    def _check_each_parameter_once(self) -> None:
        seen: set[int] = set()
        for p in self.params:
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears more than once "
                                 "(in one group or in two)")
            seen.add(id(p))

    # -- what the model code reads and writes -------------------------------------------------
    @property
    def params(self) -> list[Tensor]:
        """Every parameter, group after group (the order of `state`)."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    @property
    def hyperparameters(self) -> Group:
        """The first group itself (the only one when a plain list of parameters was given): writing
        a setting here changes the next step."""
        return self.param_groups[0]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter that has a gradient, with its group's settings."""
        self.step_count += 1
        states = iter(self.state)                    # one state per parameter, in group order
        for group in self.param_groups:
            for p, state in zip(group["params"], states):
                if p.grad is not None:
                    self.update(p.data, p.grad.data, state, group)

    def update(self, param: Array, grad: Array, state: dict[str, Any], group: Group) -> None:
        raise NotImplementedError

    def _buffer(self, state: dict[str, Any], name: str, param: Array) -> Array:
        if name not in state:
            state[name] = array_module(param).zeros_like(param)
        return state[name]

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        positions = iter(range(len(self.state)))
        groups = [{**_settings(group), "params": [next(positions) for _ in group["params"]]}
                  for group in self.param_groups]
        return {"hyperparameters": _settings(self.param_groups[0]), "param_groups": groups,
                "step_count": self.step_count, "state": [dict(s) for s in self.state]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore settings, step count and per-parameter state (copied to each parameter's device
        and dtype).  Everything is checked before anything changes; a mismatch names what differs."""
        name = f"{type(self).__name__}.load_state_dict"
        params = self.params
        if len(state_dict["state"]) != len(params):
            raise ValueError(f"{name}: state for {len(state_dict['state'])} parameters, this optimizer "
                             f"has {len(params)}")
        settings = self._saved_settings(state_dict, name)
        states = [self._saved_state(name, i, saved, p)
                  for i, (saved, p) in enumerate(zip(state_dict["state"], params))]
        for group, saved in zip(self.param_groups, settings):
            group.update(saved)
        self.step_count = int(state_dict["step_count"])
        self.state = states

    def _saved_settings(self, state_dict: dict[str, Any], name: str) -> list[dict[str, Any]]:
        """Each group's saved settings: from "param_groups", or "hyperparameters" for every group."""
        saved_groups = state_dict.get("param_groups")
        if saved_groups is None:
            return [_tuple_betas(dict(state_dict["hyperparameters"])) for _ in self.param_groups]
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"{name}: saved parameter groups of sizes {saved_sizes}, this optimizer's "
                             f"are {sizes}")
        settings = [_tuple_betas(_settings(g)) for g in saved_groups]
        for group in settings:
            unknown = set(group) - set(self.defaults) - set(SCHEDULER_KEYS)
            if unknown:
                raise ValueError(f"{name}: saved settings {sorted(unknown)} are not {type(self).__name__}'s")
        return settings

    def _saved_state(self, name: str, index: int, saved: dict[str, Any], p: Tensor) -> dict[str, Any]:
        """A copy of one parameter's saved state on its device and dtype, its arrays shaped like it."""
        state = {}
        for key, value in saved.items():
            if hasattr(value, "shape"):
                if tuple(value.shape) != p.shape:
                    raise ValueError(f"{name}: state/{index}/{key} has shape {tuple(value.shape)}, "
                                     f"the parameter has shape {p.shape}")
                value = to_device(value, p.device).astype(p.dtype)
            state[key] = value
        return state


def _settings(group: Group) -> dict[str, Any]:
    """A group's settings without its parameters."""
    return {k: v for k, v in group.items() if k != "params"}


def _tuple_betas(settings: dict[str, Any]) -> dict[str, Any]:
    """Adam's betas as a tuple (a list after a JSON round trip through autograd.save)."""
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    return settings


class SGD(Optimizer):
    """param -= lr * (momentum buffer of grad + weight_decay * param)"""
    defaults = {"lr": 1e-2, "momentum": 0.0, "weight_decay": 0.0}

    def __init__(self, params: Iterable[Tensor] | Iterable[Group], lr: float = 1e-2, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def update(self, param: Array, grad: Array, state: dict[str, Any], group: Group) -> None:
        velocity = self._buffer(state, "momentum_buffer", param) if group["momentum"] else None
        kernel("sgd_update")(param, grad, velocity, group["lr"], group["momentum"], group["weight_decay"])


class Adam(Optimizer):
    """Adam with bias correction; weight_decay adds weight_decay * param to the gradient."""
    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}
    decoupled = False

    def __init__(self, params: Iterable[Tensor] | Iterable[Group], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def update(self, param: Array, grad: Array, state: dict[str, Any], group: Group) -> None:
        beta1, beta2 = group["betas"]
        kernel("adam_update")(param, grad, self._buffer(state, "exp_avg", param),
                              self._buffer(state, "exp_avg_sq", param), group["lr"], beta1, beta2,
                              group["eps"], self.step_count, group["weight_decay"], self.decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter 2019): param *= 1 - lr * wd."""
    defaults = {**Adam.defaults, "weight_decay": 1e-2}
    decoupled = True

    def __init__(self, params: Iterable[Tensor] | Iterable[Group], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """square_avg = alpha square_avg + (1 - alpha) grad^2;  param -= lr grad / (sqrt(square_avg) + eps)"""
    defaults = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}

    def __init__(self, params: Iterable[Tensor] | Iterable[Group], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay)

    def update(self, param: Array, grad: Array, state: dict[str, Any], group: Group) -> None:
        kernel("rmsprop_update")(param, grad, self._buffer(state, "square_avg", param), group["lr"],
                                 group["alpha"], group["eps"], group["weight_decay"])
