"""autograd: a small reverse-mode automatic differentiation engine on NumPy (or CuPy).

Reading order: tensor.py (the Tensor), function.py (Function and the graph walk), ops/ (the
differentiable operations: elementwise, reductions, shape, linalg, conv), nn/ (Module, layers,
losses, functional), optim/ (optimizers and lr_scheduler), then backend.py and kernels/ (where the
hot paths run).

The names mean what they mean in PyTorch, except where NumPy has the same name: reductions take
`axis=` / `keepdims=` (PyTorch's `dim=` / `keepdim=` work too), `var` divides by n, `max` and `min`
return values only, `transpose(*axes)` permutes like NumPy's.
"""
from . import random
from .backend import BackendError, get_backend, set_backend, use_backend
from .creation import (arange, ones, ones_like, rand, rand_like, randn, randn_like, zeros,
                       zeros_like)
from .function import Function, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import *  # noqa: F401,F403  (the differentiable functions; see ops/__init__.py)
from .ops import __all__ as _op_names
from .random import manual_seed
from .serialize import CheckpointError, load, save
from .tensor import Tensor, tensor

__all__ = [
    "Tensor", "tensor", "Function", "detect_anomaly", "grad", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "zeros", "ones", "zeros_like", "ones_like", "arange", "randn", "rand",
    "randn_like", "rand_like", "manual_seed", "random", "gradcheck", "gradgradcheck",
    "GradcheckError", "set_backend", "get_backend", "use_backend", "BackendError", "save", "load",
    "CheckpointError", *_op_names,
]
