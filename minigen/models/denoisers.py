"""The networks that predict noise or scores for diffusion and score models: eps_theta(x, t, y).

A sinusoidal time embedding (Vaswani et al. 2017, as in Ho et al. 2020) tells the network the
noise level; an MLP serves flat data and a small U-Net (Ronneberger et al. 2015) serves images.

Class conditioning (Ho and Salimans 2022): with `n_classes`, a learned table of n_classes + 1
vectors is added to the time embedding,

    e(t, y) = e_time(t) + E[y],   y in 0..n_classes - 1, and y = n_classes the null label "no class",

so one network gives both the conditional eps(x, t, y) and the unconditional eps(x, t, null).
"""
import math
from typing import Optional

import numpy as np

import autograd
from autograd import nn
from autograd.backend import to_numpy
from autograd.tensor import Tensor


def timestep_embedding(t, dim, max_period=10000.0):
    """Sinusoidal embedding of (possibly fractional) times t (B,) -> (B, dim), float32 constant."""
    t = np.asarray(to_numpy(t), dtype=np.float64).reshape(-1)
    half = dim // 2
    frequencies = np.exp(-math.log(max_period) * np.arange(half) / half)   # (half,)
    angles = t[:, None] * frequencies[None, :]                             # (B, half)
    embedding = np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32)
    return Tensor(autograd.backend.to_device(embedding, autograd.backend.default_device()))


def label_table(n_classes: Optional[int], dim: int) -> Optional[nn.Embedding]:
    """The learned label vectors E (n_classes + 1, dim), the last row the null label; None without classes."""
    if n_classes is None:
        return None
    if int(n_classes) < 1:
        raise ValueError(f"denoiser: n_classes must be a positive integer, got {n_classes}")
    return nn.Embedding(int(n_classes) + 1, dim)


def add_label(embedding: Tensor, table: Optional[nn.Embedding], y) -> Tensor:
    """e(t, y) = e_time(t) + E[y] (B, E); y None means the null label for every row.  A network
    without a label table takes no labels."""
    if table is None:
        if y is not None:
            raise ValueError("denoiser: labels given to a network built without n_classes")
        return embedding
    null = table.weight.shape[0] - 1
    labels = np.full(embedding.shape[0], null) if y is None else y                  # (B,)
    return embedding + table(labels)                                                # (B, E)


class MLPDenoiser(nn.Module):
    """eps_theta(x, t, y) for flat data (B, D): an MLP with the time (and label) embedding fed to
    every layer."""

    def __init__(self, dim: int, hidden: int = 128, n_layers: int = 3, time_dim: int = 32,
                 n_classes: Optional[int] = None) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.inp = nn.Linear(dim + time_dim, hidden)
        self.layers = nn.Sequential(*[nn.Linear(hidden, hidden) for _ in range(n_layers - 1)])
        self.times = nn.Sequential(*[nn.Linear(time_dim, hidden) for _ in range(n_layers - 1)])
        self.out = nn.Linear(hidden, dim)
        self.labels = label_table(n_classes, time_dim)

    def forward(self, x: Tensor, t, y=None) -> Tensor:
        embedding = add_label(timestep_embedding(t, self.time_dim), self.labels, y)   # (B, E)
        h = silu(self.inp(autograd.concatenate([x, embedding], axis=1)))            # (B, H)
        for layer, time in zip(self.layers, self.times):
            h = silu(layer(h) + time(embedding))                                    # (B, H)
        return self.out(h)                                                          # (B, D)


def silu(x):
    return x * autograd.sigmoid(x)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with the time embedding added between them, and a skip connection."""

    def __init__(self, in_channels, out_channels, time_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(time_dim, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x, embedding):
        h = self.conv1(silu(x))                                                     # (B, C', H, W)
        h = h + self.time(embedding).reshape(h.shape[0], h.shape[1], 1, 1)
        h = self.conv2(silu(h))
        return h + (self.skip(x) if self.skip is not None else x)


class UNetDenoiser(nn.Module):
    """eps_theta(x, t, y) for images: one level down and up with a skip (a small U-Net).

    Takes flat (B, C*H*W) or image (B, C, H, W) input and returns the same shape; H and W even.
    """

    def __init__(self, image_shape, channels: int = 16, time_dim: int = 32,
                 n_classes: Optional[int] = None) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)                                       # (C, H, W)
        if self.image_shape[1] % 2 or self.image_shape[2] % 2:
            raise ValueError(f"UNetDenoiser: image height and width must be even, got {self.image_shape}")
        in_channels = self.image_shape[0]
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.inp = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.down = ResBlock(channels, channels, time_dim)
        self.mid = ResBlock(channels, 2 * channels, time_dim)
        self.mid2 = ResBlock(2 * channels, 2 * channels, time_dim)
        self.up = ResBlock(3 * channels, channels, time_dim)
        self.out = nn.Conv2d(channels, in_channels, 3, padding=1)
        self.labels = label_table(n_classes, time_dim)

    def forward(self, x: Tensor, t, y=None) -> Tensor:
        shape = x.shape
        x = x.reshape(shape[0], *self.image_shape)                                  # (B, C, H, W)
        embedding = add_label(self.time_mlp(timestep_embedding(t, self.time_dim)), self.labels, y)  # (B, E)
        h = self.down(self.inp(x), embedding)                                       # (B, c, H, W)
        m = nn.functional.avg_pool2d(h, 2)                                          # (B, c, H/2, W/2)
        m = self.mid2(self.mid(m, embedding), embedding)                            # (B, 2c, H/2, W/2)
        u = nn.functional.upsample_nearest(m, 2)                                    # (B, 2c, H, W)
        u = self.up(autograd.concatenate([u, h], axis=1), embedding)                # (B, c, H, W)
        return self.out(silu(u)).reshape(*shape)


def image_shape_of(data_shape):
    """(C, H, W) if data of this shape are images (3-D, or flat with an even square size >= 64), else None."""
    if len(data_shape) == 3:
        return tuple(data_shape)
    side = math.isqrt(int(np.prod(data_shape)))
    if len(data_shape) == 1 and side * side == data_shape[0] and side >= 8 and side % 2 == 0:
        return (1, side, side)
    return None


def default_denoiser(data_shape, n_classes: Optional[int] = None) -> nn.Module:
    """A U-Net for data shaped as images (C, H, W); an MLP for flat data, wider when it has many
    dimensions.  Flat 8x8 digits get the MLP: on a CPU this engine's convolutions make the U-Net
    about a hundred times slower per step (pass denoiser=UNetDenoiser((1, 8, 8)) to use it)."""
    if len(data_shape) == 3:
        return UNetDenoiser(data_shape, n_classes=n_classes)
    dim = int(np.prod(data_shape))
    if dim >= 16:
        return MLPDenoiser(dim, hidden=256, n_layers=3, time_dim=64, n_classes=n_classes)
    return MLPDenoiser(dim, n_classes=n_classes)


