"""Module: a container of Parameters, buffers and sub-Modules, as in PyTorch.

Attributes that are Parameters or Modules are registered when assigned, in order, so
`named_parameters()` walks them as "encoder.0.weight".  Buffers (BatchNorm's running statistics)
are saved in the state dict but are not trained.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import numpy as np

from .. import backend
from ..tensor import Array, Tensor, as_array

M = TypeVar("M", bound="Module")              # methods that return self keep the subclass type


class Parameter(Tensor):
    """A leaf Tensor that a Module trains (requires_grad=True)."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(as_array(data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__() + ")"


class Module:
    training = True
    _parameters: OrderedDict[str, Parameter]
    _modules: OrderedDict[str, Module]
    _buffers: OrderedDict[str, bool]            # the names of the buffers, in order

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
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

    def register_buffer(self, name: str, array: Array) -> None:
        """A non-trained array that belongs to the state (running means, masks)."""
        self._buffers[name] = True
        object.__setattr__(self, name, array)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    # -- walking the tree ----------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        seen = set()
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Module, str]]:
        """(state-dict name, owning module, attribute name) of every buffer."""
        for prefix, module in self.named_modules():
            for name in module._buffers:
                yield (f"{prefix}.{name}" if prefix else name), module, name

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self: M, mode: bool = True) -> M:
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: M) -> M:
        return self.train(False)

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Array]:
        """name -> array for every parameter and buffer (arrays are the live ones, not copies)."""
        state = OrderedDict((name, p.data) for name, p in self.named_parameters())
        for name, module, attribute in self.named_buffers():
            state[name] = getattr(module, attribute)
        return state

    def load_state_dict(self: M, state: Mapping[str, Any]) -> M:
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

    def _check_keys(self, state: Mapping[str, Any], expected: list[str]) -> None:
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            problems = [f"{label} keys {keys}"
                        for label, keys in (("missing", missing), ("unexpected", unexpected)) if keys]
            raise KeyError(f"{type(self).__name__}.load_state_dict: {'; '.join(problems)}")

    def _checked_parameter(self, name: str, value: Any, parameter: Parameter) -> Array:
        """`value` as an array of the parameter's dtype, shape and device, or an error naming `name`."""
        source = _as_loaded_array(value)
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

    def _checked_buffer(self, name: str, value: Any, current: Array) -> Array:
        """`value` as an array of the buffer's dtype on its device, or an error naming `name`.  A
        buffer's shape may change (it can depend on the data), and -inf is a fair log-probability."""
        source = _as_loaded_array(value)
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

    def to(self: M, device: str) -> M:
        """Move every parameter and buffer to `device` ("cpu" or "cuda"), in place."""
        for p in self.parameters():
            p.data = backend.to_device(p.data, device)
            if p.grad is not None:
                p.grad = Tensor(backend.to_device(p.grad.data, device))
        for _, module, attr in self.named_buffers():
            object.__setattr__(module, attr, backend.to_device(getattr(module, attr), device))
        return self

    def __repr__(self) -> str:
        children = "".join(f"\n  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items())
        return f"{type(self).__name__}({self.extra_repr()}{children}{chr(10) if children else ''})"

    def extra_repr(self) -> str:
        return ""


def _as_loaded_array(value: Any) -> Array:
    """A state-dict entry as an array: a Tensor's array, an array as it is, anything else via numpy."""
    if isinstance(value, Tensor):
        return value.data
    return value if hasattr(value, "dtype") else np.asarray(value)
