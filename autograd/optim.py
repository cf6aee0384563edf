"""Optimizers: SGD (momentum, weight decay), Adam, AdamW, RMSprop, with PyTorch's update rules.

Each step is one fused kernel call per parameter (`autograd/kernels/reference.py` states the
equations), so the numba and cupy backends can run it in one pass over memory.  Parameters without
a gradient are skipped.  `state_dict()` holds plain arrays and numbers: it saves with autograd.save.
"""
from .backend import array_module, kernel, to_device


class Optimizer:
    defaults = {}

    def __init__(self, params, **hyperparameters):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        unknown = set(hyperparameters) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown arguments {sorted(unknown)}")
        self.hyperparameters = {**self.defaults, **hyperparameters}
        self.state = [dict() for _ in self.params]
        self.step_count = 0

    @property
    def lr(self):
        return self.hyperparameters["lr"]

    @lr.setter
    def lr(self, value):
        self.hyperparameters["lr"] = value

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.step_count += 1
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self.update(p.data, p.grad.data, state)

    def update(self, param, grad, state):
        raise NotImplementedError

    def _buffer(self, state, name, param):
        if name not in state:
            state[name] = array_module(param).zeros_like(param)
        return state[name]

    def state_dict(self):
        return {"hyperparameters": dict(self.hyperparameters), "step_count": self.step_count,
                "state": [dict(s) for s in self.state]}

    def load_state_dict(self, state_dict):
        if len(state_dict["state"]) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state for {len(state_dict['state'])} "
                             f"parameters, this optimizer has {len(self.params)}")
        saved = dict(state_dict["hyperparameters"])
        if "betas" in saved:
            saved["betas"] = tuple(saved["betas"])      # a list after a save/load round trip
        self.hyperparameters.update(saved)
        self.step_count = int(state_dict["step_count"])
        self.state = []
        for p, saved in zip(self.params, state_dict["state"]):          # a copy, on the parameter's device
            self.state.append({k: (to_device(v, p.device).astype(p.dtype) if hasattr(v, "shape") else v)
                               for k, v in saved.items()})


class SGD(Optimizer):
    """param -= lr * (momentum buffer of grad + weight_decay * param)"""
    defaults = {"lr": 1e-2, "momentum": 0.0, "weight_decay": 0.0}

    def __init__(self, params, lr=1e-2, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def update(self, param, grad, state):
        h = self.hyperparameters
        velocity = self._buffer(state, "momentum_buffer", param) if h["momentum"] else None
        kernel("sgd_update")(param, grad, velocity, h["lr"], h["momentum"], h["weight_decay"])


class Adam(Optimizer):
    """Adam with bias correction; weight_decay adds weight_decay * param to the gradient."""
    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state):
        h = self.hyperparameters
        beta1, beta2 = h["betas"]
        kernel("adam_update")(param, grad, self._buffer(state, "exp_avg", param),
                              self._buffer(state, "exp_avg_sq", param), h["lr"], beta1, beta2,
                              h["eps"], self.step_count, h["weight_decay"], self.decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter 2019): param *= 1 - lr * wd."""
    defaults = {**Adam.defaults, "weight_decay": 1e-2}
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    defaults = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state):
        h = self.hyperparameters
        kernel("rmsprop_update")(param, grad, self._buffer(state, "square_avg", param), h["lr"],
                                 h["alpha"], h["eps"], h["weight_decay"])
