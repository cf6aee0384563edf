"""Optimizers: SGD (momentum, weight decay), Adam, AdamW, RMSprop, with PyTorch's update rules.

Each step is one fused kernel call per parameter group (`autograd/kernels/reference.py` states the
equations), so the numba and cupy backends run it in one pass over memory and one launch.  For
that, a group's parameters are views of one contiguous buffer (`FlatGroup`): their gradients are
gathered into a second one (one concatenation), and the per-parameter state (Adam's moments, ...) is
views of flat buffers too, so one call updates every parameter.  The arithmetic is elementwise, so
the result is bit for bit the one a call per parameter gives.  A parameter whose array was replaced
(`.to(device)`, another optimizer flattening it, `p.data = ...`) is flattened again at the next
step; a group with a parameter without a gradient, or with mixed dtypes or devices, is updated one
parameter at a time, skipping those without a gradient.

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

import itertools
from collections.abc import Iterable
from typing import Any, cast

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
        self._flat_groups: dict[int, FlatGroup] = {}     # group index -> its flat buffers

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
        for index, group in enumerate(self.param_groups):
            params = group["params"]
            group_states = [next(states) for _ in params]
            flat = self._flat_group(index, params, group_states)
            if flat is not None:
                flat.gather_gradients(params)
                self.update(flat.param, flat.grad, flat.state, group)   # every parameter in one call
                flat.share_state(group_states)
                continue
            for p, state in zip(params, group_states):
                if p.grad is not None:
                    self.update(p.data, p.grad.data, state, group)

    def _flat_group(self, index: int, params: list[Tensor], states: list[dict[str, Any]]) -> FlatGroup | None:
        """The flat buffers of group `index`, (re)built when a parameter or state array was replaced;
        None when the group cannot be updated in one call."""
        if not FlatGroup.applies(params):
            return None
        flat = self._flat_groups.get(index)
        if flat is None or not flat.intact(params, states):
            flat = self._flat_groups[index] = FlatGroup(params, states)
        return flat

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


class FlatGroup:
    """The parameters of one group as views of one contiguous buffer, their gradients gathered into
    another, and their optimizer state as views of flat buffers: one update call serves them all."""

    def __init__(self, params: list[Tensor], states: list[dict[str, Any]]) -> None:
        xp = array_module(params[0].data)
        self.shapes = [p.shape for p in params]
        ends = list(itertools.accumulate(p.size for p in params))
        self.slices = [slice(end - p.size, end) for p, end in zip(params, ends)]
        dtype = params[0].dtype
        self.param = xp.empty(ends[-1], dtype=dtype)                   # (total,)
        self.grad = xp.empty(ends[-1], dtype=dtype)                    # (total,)
        self.views = self._views(self.param)
        for p, view in zip(params, self.views):
            view[...] = p.data
            p.data = view                                              # the parameter now lives here
        self.state: dict[str, Array] = {}
        self.state_views: dict[str, list[Array]] = {}
        for name in {name for state in states for name, value in state.items() if hasattr(value, "shape")}:
            self.state[name] = xp.zeros(ends[-1], dtype=dtype)          # a missing state starts at zero
            for state, view in zip(states, self._views(self.state[name])):
                if name in state:
                    view[...] = state[name]
        self.share_state(states)

    @staticmethod
    def applies(params: list[Tensor]) -> bool:
        """One call can update the group: every parameter has a gradient and all share a dtype and
        a device."""
        first = params[0].data
        return all(p.grad is not None and type(p.data) is type(first) and p.data.dtype == first.dtype
                   for p in params)

    def _views(self, flat: Array) -> list[Array]:
        return [flat[where].reshape(shape) for where, shape in zip(self.slices, self.shapes)]

    def intact(self, params: list[Tensor], states: list[dict[str, Any]]) -> bool:
        """Every parameter and state array is still the view this group made."""
        if any(p.data is not view for p, view in zip(params, self.views)):
            return False
        return all(state.get(name) is view for name, views in self.state_views.items()
                   for state, view in zip(states, views))

    def gather_gradients(self, params: list[Tensor]) -> None:
        xp = array_module(self.grad)
        grads = [cast(Tensor, p.grad).data for p in params]           # every one is there (`applies`)
        xp.concatenate([g.reshape(-1) for g in grads], out=self.grad)

    def share_state(self, states: list[dict[str, Any]]) -> None:
        """Give each parameter's state dict its views of the flat state buffers (an update may have
        made a new buffer, as Adam does on its first step)."""
        for name, flat in self.state.items():
            if name not in self.state_views:
                self.state_views[name] = self._views(flat)
                for state, view in zip(states, self.state_views[name]):
                    state[name] = view


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
