"""What the model families share, written once: the MLP builder and typed access to a stack of
layers, spherical interpolation, gradients with respect to inputs and a step on given gradients,
seeded generators, standardization and a learning-rate schedule."""
import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike

import autograd
from autograd import nn, optim
from autograd.backend import module_for_device
from autograd.tensor import Array

Activation = Union[str, Callable[[], nn.Module]]        # a name in ACTIVATIONS, or a layer factory
Layer = TypeVar("Layer", bound=nn.Module)
ACTIVATIONS: Dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh, "relu": nn.ReLU, "softplus": nn.Softplus, "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "silu": nn.SiLU,
}


def activation_layer(activation: Activation) -> Callable[[], nn.Module]:
    """A layer factory from a name in ACTIVATIONS, or the factory itself (a class such as nn.ReLU)."""
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
    return ACTIVATIONS[activation]


def mlp(sizes: Sequence[int], activation: Activation = "tanh") -> nn.Sequential:
    """Linear layers of the given sizes with `activation` between them (none after the last)."""
    make_activation = activation_layer(activation)
    layers: List[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(make_activation())
    return nn.Sequential(*layers)


def layers_of(sequence: nn.Sequential, kind: Type[Layer]) -> List[Layer]:
    """The layers of `sequence` as a list of `kind`, which each of them is (nn.Sequential hands them out
    as plain Modules); a TypeError names one that is not."""
    layers = []
    for layer in sequence:
        if not isinstance(layer, kind):
            raise TypeError(f"layers_of: expected {kind.__name__} layers, got a {type(layer).__name__}")
        layers.append(layer)
    return layers


def as_sizes(hidden: Union[None, int, Sequence[int]]) -> Tuple[int, ...]:
    """Hidden layer sizes as a tuple: an int is one layer, () or None none (a linear map)."""
    if hidden is None:
        return ()
    return tuple(int(h) for h in hidden) if isinstance(hidden, Iterable) else (int(hidden),)


def slerp(z_a: np.ndarray, z_b: np.ndarray, steps: Union[int, np.ndarray]) -> np.ndarray:
    """Spherical interpolation between latents z_a and z_b (Z,) (White 2016, "Sampling generative
    networks"), at `steps` evenly spaced fractions from 0 to 1 or at the given fractions t:

        slerp(a, b, t) = sin((1 - t) w) / sin w  a + sin(t w) / sin w  b,   cos w = a.b / (|a| |b|)

    Unlike a straight line it keeps the norm typical of a Gaussian latent.  Returns (len(t), Z) float32.
    """
    z_a, z_b = np.asarray(z_a, dtype=np.float64), np.asarray(z_b, dtype=np.float64)
    if z_a.shape != z_b.shape or z_a.ndim != 1:
        raise ValueError(f"slerp: z_a and z_b must be vectors of one shape, got {z_a.shape} and {z_b.shape}")
    t = np.asarray(steps, np.float64) if isinstance(steps, Iterable) else np.linspace(0.0, 1.0, int(steps))
    t = t.reshape(-1, 1)                                                          # (T, 1)
    cos_angle = z_a @ z_b / (np.linalg.norm(z_a) * np.linalg.norm(z_b) + 1e-12)
    angle = np.arccos(np.clip(cos_angle, -1.0, 1.0))
    if np.sin(angle) < 1e-6:
        return ((1 - t) * z_a + t * z_b).astype(np.float32)
    return ((np.sin((1 - t) * angle) * z_a + np.sin(t * angle) * z_b) / np.sin(angle)).astype(np.float32)


def input_gradients(outputs: autograd.Tensor, inputs: Sequence[autograd.Tensor],
                    **options: Any) -> List[autograd.Tensor]:
    """autograd.grad(outputs, inputs, **options) for inputs that the outputs depend on: one Tensor
    per input (where autograd.grad gives None for an input off the graph, this raises a ValueError)."""
    gradients = []
    for i, gradient in enumerate(autograd.grad(outputs, inputs, **options)):
        if gradient is None:
            raise ValueError(f"input_gradients: the outputs do not depend on input {i}")
        gradients.append(gradient)
    return gradients


def apply_gradients(optimizer: optim.Optimizer, grads: Sequence[Optional[autograd.Tensor]]) -> None:
    """Set each of the optimizer's parameters' gradient to the given one (detached; None: no gradient)
    and take the optimizer's step: how a player of a game steps on a gradient it computed itself."""
    for p, g in zip(optimizer.params, grads):
        p.grad = None if g is None else autograd.Tensor(g.data)
    optimizer.step()


def seeded_generator(seed: Union[None, int, np.random.Generator], device: str = "cpu") -> Any:
    """A fresh NumPy (or CuPy, for device "cuda") Generator for `seed`; the library's seeded one
    (`autograd.random.generator`) when seed is None; a Generator given as seed is returned as it is."""
    if seed is None:
        return autograd.random.generator(device)
    return module_for_device(device).random.default_rng(seed)


def check_labels(y: Union[int, Array], n: int, n_classes: Optional[int], who: str) -> np.ndarray:
    """Class labels y as int64 (n,) on the host (an int stands for n equal labels), or a ValueError
    naming `who` for labels given to a model without classes, of the wrong length, not integers or
    outside [0, n_classes)."""
    if n_classes is None:
        raise ValueError(f"{who}: the model has no classes (n_classes=None), so it takes no labels y")
    labels = np.asarray(autograd.backend.to_numpy(y))
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{who}: labels y must be integers, got dtype {labels.dtype}")
    labels = np.broadcast_to(labels, (n,)) if labels.ndim == 0 else labels
    if labels.shape != (n,):
        raise ValueError(f"{who}: expected {n} labels y (one per example), got shape {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{who}: labels y must lie in [0, {n_classes}), "
                         f"got values from {labels.min()} to {labels.max()}")
    return labels.astype(np.int64)


def standardization(X: ArrayLike) -> Tuple[np.ndarray, float]:
    """The per-dimension mean (float32) and the overall standard deviation about it (1 if zero)."""
    X = np.asarray(X, dtype=np.float64)
    shift = X.mean(axis=0)
    spread = float((X - shift).std())
    return shift.astype(np.float32), spread if spread > 0 else 1.0


def cosine_decay(step: Callable, optimizer: optim.Optimizer, total_steps: int) -> Callable:
    """The same training step with the learning rate annealed from its start value to 0 along a half
    cosine, read from the optimizer's own step count (so a resumed run follows the same schedule):

        lr(s) = lr_0 * (1 + cos(pi * min(s / S, 1))) / 2
    """
    base_lr = optimizer.lr

    def decayed(batch):
        progress = min(optimizer.step_count / max(total_steps, 1), 1.0)
        optimizer.lr = base_lr * 0.5 * (1 + math.cos(math.pi * progress))
        return step(batch)
    return decayed
