"""Elementwise operations: forward on arrays, backward on Tensors, side by side.

Each backward returns one gradient per input, shaped like the broadcast output; the engine sums
it back to the input's shape.  Masks (relu, clip, max) are constants: their own derivative is zero
almost everywhere, which is what second derivatives need.
"""
from __future__ import annotations

from typing import Any

from ..backend import kernel
from ..function import Function
from ..tensor import Array, Operand, Tensor


def _constant(array: Array) -> Tensor:
    return Tensor(array)


# -- arithmetic -----------------------------------------------------------------------------

class Add(Function):
    """y = a + b"""

    def forward(self, a: Array, b: Array) -> Array:
        return a + b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        return gy, gy


class Sub(Function):
    """y = a - b"""

    def forward(self, a: Array, b: Array) -> Array:
        return a - b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        return gy, -gy


class Mul(Function):
    """y = a * b;  dy/da = b,  dy/db = a"""

    def forward(self, a: Array, b: Array) -> Array:
        return a * b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        needs_a, needs_b = self.needs_input_grad
        return (gy * b if needs_a else None), (gy * a if needs_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1 / b,  dy/db = -a / b^2"""

    def forward(self, a: Array, b: Array) -> Array:
        return a / b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        needs_a, needs_b = self.needs_input_grad
        ga = gy / b if needs_a else None
        gb = -gy * a / (b * b) if needs_b else None
        return ga, gb


class Neg(Function):
    """y = -x"""

    def forward(self, x: Array) -> Array:
        return -x

    def backward(self, gy: Tensor) -> Tensor:
        return -gy


class PowScalar(Function):
    """y = x^c for a constant c;  dy/dx = c x^(c-1)"""

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x: Array) -> Array:
        if self.exponent in (2, 3):                 # numpy's generic power is ~50x slower than products
            return x * x if self.exponent == 2 else x * x * x
        return x ** self.exponent

    def backward(self, gy: Tensor) -> Tensor:
        (x,) = self.inputs
        c = self.exponent
        if c == 2:
            return gy * (2 * x)
        return gy * (c * x ** (c - 1))


class Pow(Function):
    """y = a^b;  dy/da = b a^(b-1),  dy/db = y log a"""

    def forward(self, a: Array, b: Array) -> Array:
        return a ** b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        needs_a, needs_b = self.needs_input_grad
        ga = gy * b * a ** (b - 1) if needs_a else None
        gb = gy * self.output * log(a) if needs_b else None
        return ga, gb


class Maximum(Function):
    """y = max(a, b); at a tie the gradient is split evenly."""

    def forward(self, a: Array, b: Array) -> Array:
        return self.xp.maximum(a, b)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        a, b = (x.data for x in self.inputs)
        share_a = (a > b) + 0.5 * (a == b)
        return gy * _constant(share_a.astype(gy.dtype)), gy * _constant((1 - share_a).astype(gy.dtype))


class Minimum(Function):
    """y = min(a, b); at a tie the gradient is split evenly."""

    def forward(self, a: Array, b: Array) -> Array:
        return self.xp.minimum(a, b)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        a, b = (x.data for x in self.inputs)
        share_a = (a < b) + 0.5 * (a == b)
        return gy * _constant(share_a.astype(gy.dtype)), gy * _constant((1 - share_a).astype(gy.dtype))


class Where(Function):
    """y = a where cond else b (cond is a constant mask)."""

    def __init__(self, condition: Array) -> None:
        self.condition = condition

    def forward(self, a: Array, b: Array) -> Array:
        return self.xp.where(self.condition, a, b)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        zero = _constant(self.xp.zeros((), dtype=gy.dtype))
        return where(self.condition, gy, zero), where(self.condition, zero, gy)


# -- unary math -----------------------------------------------------------------------------

class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at 0)"""

    def forward(self, x: Array) -> Array:
        return self.xp.abs(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * _constant(self.xp.sign(self.inputs[0].data))


class Exp(Function):
    """y = e^x;  dy/dx = y"""

    def forward(self, x: Array) -> Array:
        return self.xp.exp(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * self.output


class Log(Function):
    """y = log x;  dy/dx = 1 / x"""

    def forward(self, x: Array) -> Array:
        return self.xp.log(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy / self.inputs[0]


class Log1p(Function):
    """y = log(1 + x);  dy/dx = 1 / (1 + x)"""

    def forward(self, x: Array) -> Array:
        return self.xp.log1p(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy / (self.inputs[0] + 1)


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y)"""

    def forward(self, x: Array) -> Array:
        return self.xp.sqrt(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy / (self.output * 2)


class Sin(Function):
    """y = sin x;  dy/dx = cos x"""

    def forward(self, x: Array) -> Array:
        return self.xp.sin(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * cos(self.inputs[0])


class Cos(Function):
    """y = cos x;  dy/dx = -sin x"""

    def forward(self, x: Array) -> Array:
        return self.xp.cos(x)

    def backward(self, gy: Tensor) -> Tensor:
        return -gy * sin(self.inputs[0])


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2"""

    def forward(self, x: Array) -> Array:
        return self.xp.tanh(x)

    def backward(self, gy: Tensor) -> Tensor:
        return TanhGrad()(gy, self.output)


class TanhGrad(Function):
    """gx = gy (1 - y^2) in one node (tanh's backward);  d/dgy = 1 - y^2,  d/dy = -2 gy y"""

    def forward(self, gy: Array, y: Array) -> Array:
        gx = 1 - y * y
        gx *= gy                                 # in place on the new array (0-d: rebinds)
        return gx

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        gy, y = self.inputs
        needs_gy, needs_y = self.needs_input_grad
        return (g * (1 - y * y) if needs_gy else None), (g * gy * (-2 * y) if needs_y else None)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x), computed without overflow;  dy/dx = y (1 - y)"""

    def forward(self, x: Array) -> Array:
        return kernel("sigmoid")(x)

    def backward(self, gy: Tensor) -> Tensor:
        return SigmoidGrad()(gy, self.output)


class SigmoidGrad(Function):
    """gx = gy y (1 - y) in one node (sigmoid's backward);  d/dgy = y (1 - y),  d/dy = gy (1 - 2 y)"""

    def forward(self, gy: Array, y: Array) -> Array:
        gx = 1 - y
        gx *= y
        gx *= gy
        return gx

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        gy, y = self.inputs
        needs_gy, needs_y = self.needs_input_grad
        return (g * (y * (1 - y)) if needs_gy else None), (g * gy * (1 - 2 * y) if needs_y else None)


class Relu(Function):
    """y = max(x, 0);  dy/dx = [x > 0]"""

    def forward(self, x: Array) -> Array:
        return self.xp.maximum(x, 0)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * _constant((self.inputs[0].data > 0).astype(gy.dtype))


class LeakyRelu(Function):
    """y = x if x > 0 else slope x;  dy/dx = 1 or slope"""

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, x: Array) -> Array:
        if 0 <= self.slope <= 1:                         # the same values as a select, 10x faster
            return self.xp.maximum(x, x * self.slope)
        return self.xp.where(x > 0, x, x * self.slope)

    def backward(self, gy: Tensor) -> Tensor:
        positive = self.inputs[0].data > 0
        slope = gy.dtype.type(self.slope)
        return gy * _constant(positive.astype(gy.dtype) + slope * ~positive)   # exactly 1 or slope


class Softplus(Function):
    """y = log(1 + e^x) = logaddexp(0, x);  dy/dx = sigmoid(x)"""

    def forward(self, x: Array) -> Array:
        return kernel("softplus")(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * sigmoid(self.inputs[0])


class Clip(Function):
    """y = min(max(x, low), high);  dy/dx = [low <= x <= high]"""

    def __init__(self, low: float | None, high: float | None) -> None:
        self.low, self.high = low, high

    def forward(self, x: Array) -> Array:
        return self.xp.clip(x, self.low, self.high)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        inside = self.xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * _constant(inside.astype(gy.dtype))


class AsType(Function):
    """y = x cast to another floating dtype; the gradient is cast back."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype

    def forward(self, x: Array) -> Array:
        self.source_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy: Tensor) -> Tensor:
        return astype(gy, self.source_dtype)


# -- the functions users call ---------------------------------------------------------------

def add(a: Operand, b: Operand) -> Tensor:
    return Add()(a, b)


def sub(a: Operand, b: Operand) -> Tensor:
    return Sub()(a, b)


def mul(a: Operand, b: Operand) -> Tensor:
    return Mul()(a, b)


def div(a: Operand, b: Operand) -> Tensor:
    return Div()(a, b)


def neg(x: Operand) -> Tensor:
    return Neg()(x)


def pow(a: Operand, b: Operand) -> Tensor:
    """a ** b; a constant Python exponent takes the cheaper x^c path."""
    if isinstance(b, (int, float)):
        return PowScalar(b)(a)
    return Pow()(a, b)


def maximum(a: Operand, b: Operand) -> Tensor:
    return Maximum()(a, b)


def minimum(a: Operand, b: Operand) -> Tensor:
    return Minimum()(a, b)


def where(condition: Operand, a: Operand, b: Operand) -> Tensor:
    """Elementwise a where `condition` else b; `condition` is a boolean array or Tensor."""
    if isinstance(condition, Tensor):
        condition = condition.data
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    return Where(condition)(a, b)


def abs(x: Operand) -> Tensor:
    return Abs()(x)


def exp(x: Operand) -> Tensor:
    return Exp()(x)


def log(x: Operand) -> Tensor:
    return Log()(x)


def log1p(x: Operand) -> Tensor:
    return Log1p()(x)


def sqrt(x: Operand) -> Tensor:
    return Sqrt()(x)


def sin(x: Operand) -> Tensor:
    return Sin()(x)


def cos(x: Operand) -> Tensor:
    return Cos()(x)


def tanh(x: Operand) -> Tensor:
    return Tanh()(x)


def sigmoid(x: Operand) -> Tensor:
    return Sigmoid()(x)


def relu(x: Operand) -> Tensor:
    return Relu()(x)


def leaky_relu(x: Operand, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu(negative_slope)(x)


def softplus(x: Operand) -> Tensor:
    return Softplus()(x)


def logsigmoid(x: Operand) -> Tensor:
    """log sigmoid(x) = -softplus(-x), stable for large |x|."""
    return -softplus(-x)


def clip(x: Operand, low: float | None = None, high: float | None = None) -> Tensor:
    return Clip(low, high)(x)


def astype(x: Tensor, dtype: Any) -> Tensor:
    return x if x.dtype == dtype else AsType(dtype)(x)
