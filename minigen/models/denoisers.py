"""The networks that predict noise or scores for diffusion and score models: eps_theta(x, t, y).

A sinusoidal time embedding (Vaswani et al. 2017, as in Ho et al. 2020) tells the network the
noise level; an MLP serves flat data and a U-Net (Ronneberger et al. 2015) serves images.

Class conditioning (Ho and Salimans 2022): with `n_classes`, a learned table of n_classes + 1
vectors is added to the time embedding,

    e(t, y) = e_time(t) + E[y],   y in 0..n_classes - 1, and y = n_classes the null label "no class",

so one network gives both the conditional eps(x, t, y) and the unconditional eps(x, t, null).

The U-Net (as in Ho et al. 2020, smaller) is built of two pieces:

Residual block   r(x, e) = conv2(silu(conv1(silu(x)) + A e)) + S x                           (12)
                 (3x3 convolutions; A e adds one value per channel; S is a 1x1 convolution when
                 the channel count changes, the identity otherwise)
Self-attention   over the N = H W positions of a feature map h (B, C, H, W), read as x (B, N, C):
                 Q, K, V = LN(x) W_q, LN(x) W_k, LN(x) W_v, split into heads of d = C / heads,
                 a = softmax(Q K^T / sqrt(d)) V  (every position attends to every position),
                 out = x + a W_o                                                            (13)
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np

import autograd
from autograd import nn
from autograd.backend import to_numpy
from autograd.tensor import Array, Tensor


def timestep_embedding(t: Array, dim: int, max_period: float = 10000.0) -> Tensor:
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


def add_label(embedding: Tensor, table: Optional[nn.Embedding], y: Optional[Array]) -> Tensor:
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

    def forward(self, x: Tensor, t: Array, y: Optional[Array] = None) -> Tensor:
        embedding = add_label(timestep_embedding(t, self.time_dim), self.labels, y)   # (B, E)
        h = silu(self.inp(autograd.concatenate([x, embedding], axis=1)))            # (B, H)
        for layer, time in zip(self.layers, self.times):
            h = silu(layer(h) + time(embedding))                                    # (B, H)
        return self.out(h)                                                          # (B, D)


def silu(x: Tensor) -> Tensor:
    return x * autograd.sigmoid(x)


class ResBlock(nn.Module):
    """(12): two 3x3 convolutions with the embedding added between them, and a skip connection."""

    def __init__(self, in_channels: int, out_channels: int, time_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(time_dim, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: Tensor, embedding: Tensor) -> Tensor:
        h = self.conv1(silu(x))                                                     # (B, C', H, W)
        h = h + self.time(embedding).reshape(h.shape[0], h.shape[1], 1, 1)          # (12): + A e
        h = self.conv2(silu(h))
        return h + (self.skip(x) if self.skip is not None else x)                   # (12): + S x


class SelfAttention(nn.Module):
    """(13): multi-head self-attention over the H*W positions of a feature map, with a residual.
    No position enters the weights, so permuting the positions permutes the output alike."""

    def __init__(self, channels: int, heads: int = 1) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"SelfAttention: {channels} channels do not split into {heads} heads")
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, h: Tensor) -> Tensor:
        B, C, H, W = h.shape
        N, d = H * W, C // self.heads
        x = h.reshape(B, C, N).transpose(0, 2, 1)                                   # (B, N, C)
        qkv = self.qkv(self.norm(x)).reshape(B, N, 3, self.heads, d)                # (B, N, 3, heads, d)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))            # (B, heads, N, d)
        weights = autograd.softmax(q @ k.swapaxes(-1, -2) * (1 / math.sqrt(d)), axis=-1)   # (B, heads, N, N)
        attended = (weights @ v).transpose(0, 2, 1, 3).reshape(B, N, C)             # (B, N, C)
        out = x + self.proj(attended)                                               # (13): h + W_o a
        return out.transpose(0, 2, 1).reshape(B, C, H, W)                           # (B, C, H, W)


class UNetDenoiser(nn.Module):
    """eps_theta(x, t, y) for images: a U-Net of residual blocks (12) over len(multipliers) resolutions.

    Level i has channels * multipliers[i] feature maps at H / 2^i x W / 2^i.  Going down, each level
    but the last runs one block, keeps its output for the skip, and halves the resolution by 2x2
    average pooling; the last level runs two blocks (with self-attention (13) between them when
    `attention`); going up, each level doubles the resolution (nearest neighbour), concatenates its
    skip and runs one block.  Takes flat (B, C*H*W) or image (B, C, H, W) input and returns the same
    shape; H and W must be divisible by 2^(levels - 1).
    """

    def __init__(self, image_shape: Sequence[int], channels: int = 16, time_dim: int = 32,
                 n_classes: Optional[int] = None, multipliers: Sequence[int] = (1, 2),
                 attention: bool = False, heads: int = 1) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)                       # (C, H, W)
        widths = [channels * m for m in multipliers]                                # c_0 .. c_{L-1}
        factor = 2 ** (len(widths) - 1)
        if len(widths) < 2 or self.image_shape[1] % factor or self.image_shape[2] % factor:
            raise ValueError(f"UNetDenoiser: {len(widths)} levels need at least 2 levels and image height and "
                             f"width divisible by {factor}, got {self.image_shape}")
        in_channels = self.image_shape[0]
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.inp = nn.Conv2d(in_channels, channels, 3, padding=1)
        inputs = [channels, *widths[:-2]]                                           # into each down block
        self.down = nn.Sequential(*[ResBlock(a, b, time_dim) for a, b in zip(inputs, widths[:-1])])
        self.mid = ResBlock(widths[-2], widths[-1], time_dim)
        self.attention = SelfAttention(widths[-1], heads) if attention else None
        self.mid2 = ResBlock(widths[-1], widths[-1], time_dim)
        below = widths[:0:-1]                                                        # c_{L-1} .. c_1
        self.up = nn.Sequential(*[ResBlock(b + c, c, time_dim) for b, c in zip(below, widths[-2::-1])])
        self.out = nn.Conv2d(widths[0], in_channels, 3, padding=1)
        self.labels = label_table(n_classes, time_dim)

    def forward(self, x: Tensor, t: Array, y: Optional[Array] = None) -> Tensor:
        shape = x.shape
        h = x.reshape(shape[0], *self.image_shape)                                  # (B, C, H, W)
        embedding = add_label(self.time_mlp(timestep_embedding(t, self.time_dim)), self.labels, y)  # (B, E)
        h = self.inp(h)                                                             # (B, c_0, H, W)
        skips = []
        for block in self.down:
            skips.append(block(h, embedding))                                       # (B, c_i, H_i, W_i)
            h = nn.functional.avg_pool2d(skips[-1], 2)                              # (B, c_i, H_i/2, W_i/2)
        h = self.mid(h, embedding)                                                  # (B, c_{L-1}, ., .)
        if self.attention is not None:
            h = self.attention(h)                                                   # (13)
        h = self.mid2(h, embedding)
        for block, skip in zip(self.up, reversed(skips)):
            h = nn.functional.upsample_nearest(h, 2)                                # (B, c_{i+1}, H_i, W_i)
            h = block(autograd.concatenate([h, skip], axis=1), embedding)           # (B, c_i, H_i, W_i)
        return self.out(silu(h)).reshape(*shape)


def image_shape_of(data_shape: Sequence[int]) -> Optional[Tuple[int, ...]]:
    """(C, H, W) if data of this shape are images (3-D, or flat with an even square size >= 64), else None."""
    if len(data_shape) == 3:
        return tuple(data_shape)
    side = math.isqrt(int(np.prod(data_shape)))
    if len(data_shape) == 1 and side * side == data_shape[0] and side >= 8 and side % 2 == 0:
        return (1, side, side)
    return None


MNIST_UNET_SIDE = 28                      # images at least this wide get the three-level U-Net


def large_image(data_shape: Sequence[int]) -> bool:
    """Whether data of this shape are images (3-D, or flat and square) of side MNIST_UNET_SIDE or more,
    divisible by 4: the ones that get the three-level U-Net with attention."""
    image = image_shape_of(data_shape)
    return image is not None and min(image[1:]) >= MNIST_UNET_SIDE and image[1] % 4 == 0 and image[2] % 4 == 0


def default_denoiser(data_shape: Sequence[int], n_classes: Optional[int] = None) -> nn.Module:
    """The network a diffusion or score model gets for data of this shape:

    images (3-D, or flat and square) of side 28 or more, divisible by 4 (MNIST): a U-Net
        28 -> 14 -> 7 with 32, 64, 64 channels and 4-head self-attention at 7x7;
    other images given as (C, H, W): a one-level U-Net with 16 and 32 channels;
    other flat data: an MLP, wider when it has many dimensions.

    Flat 8x8 digits get the MLP: on a CPU this engine's convolutions make the U-Net about a hundred
    times slower per step (pass denoiser=UNetDenoiser((1, 8, 8)) to use it)."""
    image = image_shape_of(data_shape)
    if image is not None and large_image(image):
        return UNetDenoiser(image, channels=32, time_dim=64, n_classes=n_classes,
                            multipliers=(1, 2, 2), attention=True, heads=4)
    if len(data_shape) == 3:
        return UNetDenoiser(data_shape, n_classes=n_classes)
    dim = int(np.prod(data_shape))
    if dim >= 16:
        return MLPDenoiser(dim, hidden=256, n_layers=3, time_dim=64, n_classes=n_classes)
    return MLPDenoiser(dim, n_classes=n_classes)
