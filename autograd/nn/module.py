"""Module: a container of Parameters, buffers and sub-Modules, as in PyTorch.

Attributes that are Parameters or Modules are registered when assigned, in order, so
`named_parameters()` walks them as "encoder.0.weight".  Buffers (BatchNorm's running statistics)
are saved in the state dict but are not trained.
"""
from collections import OrderedDict

import numpy as np

from .. import backend
from ..tensor import Tensor, as_array


class Parameter(Tensor):
    """A leaf Tensor that a Module trains (requires_grad=True)."""

    def __init__(self, data, requires_grad=True):
        super().__init__(as_array(data), requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter(" + super().__repr__() + ")"


class Module:
    training = True

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self._buffers.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """A non-trained array that belongs to the state (running means, masks)."""
        self._buffers[name] = True
        object.__setattr__(self, name, array)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    # -- walking the tree ----------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return [m for _, m in self.named_modules()]

    def named_parameters(self):
        seen = set()
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for prefix, module in self.named_modules():
            for name in module._buffers:
                yield (f"{prefix}.{name}" if prefix else name), module, name

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    # -- state ----------------------------------------------------------------------------
    def state_dict(self):
        """name -> array for every parameter and buffer (arrays are the live ones, not copies)."""
        state = OrderedDict((name, p.data) for name, p in self.named_parameters())
        for name, module, attribute in self.named_buffers():
            state[name] = getattr(module, attribute)
        return state

    def load_state_dict(self, state):
        """Copy arrays into the parameters and buffers in place (optimizers keep their references).

        Every key must match: a missing or unexpected one is a KeyError that names it.  A parameter
        must hold finite floats of its shape; a buffer must hold numbers (or the strings it held)
        and no NaN.  Anything else is refused, naming the key, before the module is changed."""
        own = dict(self.named_parameters())
        buffers = {name: (module, attr) for name, module, attr in self.named_buffers()}
        self._check_keys(state, list(own) + list(buffers))
        values = {name: self._checked_parameter(name, state[name], p) for name, p in own.items()}
        for name, (module, attr) in buffers.items():
            values[name] = self._checked_buffer(name, state[name], getattr(module, attr))
        for name, p in own.items():
            p.data[...] = values[name]
        for name, (module, attr) in buffers.items():
            object.__setattr__(module, attr, values[name])
        return self

    def _check_keys(self, state, expected):
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            problems = [f"{label} keys {keys}" for label, keys in (("missing", missing), ("unexpected", unexpected))
                        if keys]
            raise KeyError(f"{type(self).__name__}.load_state_dict: {'; '.join(problems)}")

    def _checked_parameter(self, name, value, parameter):
        """`value` as an array of the parameter's dtype, shape and device, or an error naming `name`."""
        source = value if hasattr(value, "dtype") else np.asarray(value)
        if source.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.load_state_dict: {name} holds {source.dtype} values; "
                            "a parameter needs floats")
        array = as_array(source, dtype=parameter.dtype, device=parameter.device)
        if array.shape != parameter.shape:
            raise ValueError(f"{type(self).__name__}.load_state_dict: {name} has shape {array.shape}, "
                             f"the model expects {parameter.shape}")
        if not bool(backend.array_module(array).isfinite(array).all()):
            raise ValueError(f"{type(self).__name__}.load_state_dict: {name} holds NaN or infinite values")
        return array

    def _checked_buffer(self, name, value, current):
        """`value` as an array of the buffer's dtype on its device, or an error naming `name`.  A
        buffer's shape may change (it can depend on the data), and -inf is a fair log-probability."""
        source = value if hasattr(value, "dtype") else np.asarray(value)
        kinds = "US" if current.dtype.kind in "US" else "biuf"
        if source.dtype.kind not in kinds:
            raise TypeError(f"{type(self).__name__}.load_state_dict: buffer {name} holds {source.dtype} "
                            f"values; it holds {current.dtype}")
        device = backend.device_of(current)
        array = backend.module_for_device(device).asarray(backend.to_device(source, device))
        array = array.astype(current.dtype, copy=False)
        if array.dtype.kind == "f" and bool(backend.array_module(array).isnan(array).any()):
            raise ValueError(f"{type(self).__name__}.load_state_dict: buffer {name} holds NaN values")
        return array

    def to(self, device):
        """Move every parameter and buffer to `device` ("cpu" or "cuda"), in place."""
        for p in self.parameters():
            p.data = backend.to_device(p.data, device)
            if p.grad is not None:
                p.grad = Tensor(backend.to_device(p.grad.data, device))
        for _, module, attr in self.named_buffers():
            object.__setattr__(module, attr, backend.to_device(getattr(module, attr), device))
        return self

    def __repr__(self):
        children = "".join(f"\n  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items())
        return f"{type(self).__name__}({self.extra_repr()}{children}{chr(10) if children else ''})"

    def extra_repr(self):
        return ""
