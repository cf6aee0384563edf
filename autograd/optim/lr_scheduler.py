"""Learning-rate schedules, as PyTorch's torch.optim.lr_scheduler: each sets the `lr` of every
parameter group of an optimizer from the group's base rate lr_0 and a counter e (`last_epoch`).

    StepLR             lr_e = lr_0 gamma^floor(e / step_size)
    CosineAnnealingLR  lr_e = eta_min + (lr_0 - eta_min) (1 + cos(pi e / T_max)) / 2
    LambdaLR           lr_e = lr_0 lambda(e)

Habits as in PyTorch: building a scheduler records each group's lr as `initial_lr` (lr_0) and
applies e = 0; call `scheduler.step()` after `optimizer.step()`, once per epoch (or per step, if
e counts steps); `get_last_lr()` gives the rates just set.  Every rate is computed from the formula
above (PyTorch's closed forms), not by updating the previous rate, so a schedule resumed from
`state_dict()` continues exactly.  To resume, load the optimizer's and the scheduler's state dicts
(in either order) into a freshly built optimizer and scheduler.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .optimizers import Optimizer

Factor = Callable[[int], float]                 # LambdaLR's lambda: the step counter -> a factor


class LRScheduler:
    """Base class: keeps the counter `last_epoch` and the base rates; subclasses give `lr_at`."""

    unsaved: tuple[str, ...] = ("optimizer",)          # attributes that state_dict leaves out

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an autograd.optim Optimizer, "
                            f"got a {type(optimizer).__name__}")
        _check_int(type(self).__name__, "last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        missing = [i for i, group in enumerate(optimizer.param_groups) if "initial_lr" not in group]
        if missing:
            raise ValueError(f"{type(self).__name__}: last_epoch={last_epoch} resumes a schedule, but "
                             f"parameter groups {missing} have no 'initial_lr'; load the optimizer's "
                             "state dict first, or start with last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, epoch: int) -> list[float]:
        """The learning rate of every group at counter value `epoch`."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance the counter by one and set every group's learning rate for it."""
        self.last_epoch += 1
        self._apply(self.lr_at(self.last_epoch))

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step set, one per parameter group."""
        return list(self._last_lr)

    def _apply(self, rates: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, rates):
            group["lr"] = lr
        self._last_lr = list(rates)

    def state_dict(self) -> dict[str, Any]:
        """The counter, the base rates, the last rates and the schedule's settings (plain values)."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in vars(self).items() if key not in self.unsaved}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a schedule saved by state_dict(), and set the optimizer's rates to its last ones."""
        expected = set(self.state_dict())
        missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
        if missing or unexpected:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        groups = len(self.optimizer.param_groups)
        if len(state_dict["base_lrs"]) != groups:
            raise ValueError(f"{type(self).__name__}.load_state_dict: rates for {len(state_dict['base_lrs'])} "
                             f"parameter groups, the optimizer has {groups}")
        for key, value in state_dict.items():
            setattr(self, key, list(value) if isinstance(value, (list, tuple)) else value)
        self._apply(self._last_lr)


class StepLR(LRScheduler):
    """lr_e = lr_0 gamma^floor(e / step_size): the rate falls by `gamma` every `step_size` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        _check_int("StepLR", "step_size", step_size, low=1)
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> list[float]:
        return [base * self.gamma ** (epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr_e = eta_min + (lr_0 - eta_min) (1 + cos(pi e / T_max)) / 2 (Loshchilov and Hutter 2017,
    without restarts): from lr_0 down to eta_min in T_max steps (and back up after, as PyTorch's)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_int("CosineAnnealingLR", "T_max", T_max, low=1)
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> list[float]:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr_e = lr_0 lambda(e), with one function for every group or a list of one per group.

    The functions are not in state_dict (code is not saved): build the scheduler with the same
    functions before loading a saved state."""

    unsaved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Factor | list[Factor] | tuple[Factor, ...],
                 last_epoch: int = -1) -> None:
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if isinstance(lr_lambda, (list, tuple)) and len(lambdas) != groups:
            raise ValueError(f"LambdaLR: {len(lambdas)} lr_lambdas for {groups} parameter groups")
        for function in lambdas:
            if not callable(function):
                raise TypeError(f"LambdaLR: lr_lambda must be callable (a function of the step), "
                                f"got a {type(function).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> list[float]:
        return [base * function(epoch) for base, function in zip(self.base_lrs, self.lr_lambdas)]


def _check_int(op: str, name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{op}: {name} must be an int of at least {low}, got {value!r}")
