"""Optimizers (SGD, Adam, AdamW, RMSprop) with PyTorch's update rules and parameter groups, and
`lr_scheduler` (StepLR, CosineAnnealingLR, LambdaLR), which set each group's learning rate."""
from . import lr_scheduler
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
