"""Loss Modules, as PyTorch spells them: each holds a `reduction` and calls its functional loss.

    MSELoss             l = (input - target)^2
    BCEWithLogitsLoss   l = -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))]   (z logits, t in [0, 1])
    CrossEntropyLoss    l = -log softmax(z)[target]                              (z logits, integer target)

reduction="mean" averages l over every element, "sum" adds them up, "none" returns them as they
are.  CrossEntropyLoss reads classes on the last axis: logits (N, C) as in PyTorch, and (N, T, C)
for sequences (PyTorch puts C second there).
"""
from __future__ import annotations

from typing import Any

from ..tensor import Operand, Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    """A loss with a reduction; subclasses name the functional loss they wrap."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: (input - target)^2, reduced."""

    def forward(self, input: Tensor, target: Operand) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Bernoulli negative log-likelihood of `target` under probabilities sigmoid(logits), reduced."""

    def forward(self, logits: Tensor, target: Operand) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[target] for logits (N, C) or (N, T, C) and integer targets, reduced."""

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, reduction=self.reduction)
