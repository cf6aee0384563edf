"""Progressive growing of GANs (Karras, Aila, Laine and Lehtinen 2018) at digit scale: generator and
discriminator grow together from 2x2 through 4x4 to 8x8, each new block faded in smoothly.

Resolutions  r_s = 2^(s+1) for stages s = 0 .. S  (2x2, 4x4, 8x8 for the 8x8 digits: S = 2)
Generator    h_0 = B^G_0(z): a linear layer to (C, 2, 2), then a 3x3 convolution                    (1)
             h_s = B^G_s(up(h_{s-1})):  up = nearest 2x upsampling, B^G_s one 3x3 convolution   (2)
             every convolution followed by a leaky ReLU(0.2) and pixel norm,
             pn(a)_c = a_c / sqrt(mean_c' a_c'^2 + 1e-8)  (per pixel, over channels)              (3)
             G_s(z) = tanh(rgb_s(h_s)),  rgb_s a 1x1 convolution to one channel                   (4)
Fade-in      at stage s >= 1 with alpha rising from 0 to 1:
             G_{s,alpha}(z) = tanh(alpha rgb_s(h_s) + (1 - alpha) up(rgb_{s-1}(h_{s-1})))         (5)
             so G_{s,0} = up(G_{s-1}): tanh commutes with nearest upsampling
Critic       f_s(x) = lrelu(from_s(x)),  from_s a 1x1 convolution from one channel                (6)
             B^D_s = a 3x3 convolution with a leaky ReLU, then 2x2 average pooling (pool)       (7)
             D_{s,alpha}(x) = T_{s-1}(alpha B^D_s(f_s(x)) + (1 - alpha) f_{s-1}(pool(x)))           (8)
             T_{s-1} = B^D_1 ... B^D_{s-1} (in that order of application, highest first), then the
             head at 2x2: the minibatch standard deviation (the std over the batch of every
             feature, averaged to one number, appended as a constant channel), a 3x3
             convolution, a leaky ReLU and a linear layer to one logit                            (9)
             so D_{s,0}(x) = D_{s-1}(pool(x)): the mirror of (5)
Real data    at stage s the digits are average-pooled to r_s x r_s; during a fade-in they are
             blended as the generator's output is: x = alpha x_s + (1 - alpha) up(pool(x_s))     (10)
Loss         non-saturating (gan.py (2) and (4)):
             L_D = E[softplus(-D(x))] + E[softplus(D(G(z)))],   L_G = E[softplus(-D(G(z)))]      (11)
Schedule     `steps` generator updates split into 2S + 1 equal phases: stage 0, then for each
             s = 1 .. S a fade-in (alpha linear from 0 to 1) and a phase at alpha = 1             (12)

Karras et al. also equalize learning rates and use WGAN-GP; at this scale the non-saturating loss
with Adam and plain initialization is enough (and one backward pass cheaper than a penalty).
Images live in [-1, 1] inside (tanh output) and in [0, 1] outside.

Slides: "Generative Adversarial Networks" (the advances: progressive growing).
"""
import dataclasses
import math
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

import autograd
from autograd import nn, optim
from autograd.backend import default_device, to_numpy
from autograd.nn import functional as F

from ..train import train
from .base import GenerativeModel
from .common import apply_gradients, seeded_generator

SLOPE = 0.2
PIXEL_NORM_EPSILON = 1e-8


@dataclasses.dataclass
class ProgressiveGANDefaults:
    """Tuned fit settings: Adam with Karras et al.'s betas."""

    steps: int = 1500                            # generator updates over the whole schedule (12)
    batch_size: int = 64
    lr: float = 1e-3
    betas: Tuple[float, float] = (0.0, 0.99)


def pixel_norm(h: autograd.Tensor) -> autograd.Tensor:
    """pn(h) over the channels of h (B, C, H, W) (3)."""
    return h / autograd.sqrt((h * h).mean(axis=1, keepdims=True) + PIXEL_NORM_EPSILON)


def minibatch_stddev(h: autograd.Tensor) -> autograd.Tensor:
    """h (B, C, H, W) with one more channel: the mean over features of the batch std (9)."""
    std = autograd.sqrt(h.var(axis=0) + 1e-8).mean()                               # scalar
    channel = autograd.broadcast_to(std.reshape(1, 1, 1, 1), (len(h), 1) + h.shape[2:])
    return autograd.concatenate([h, channel], axis=1)                              # (B, C + 1, H, W)


class ConvAct(nn.Module):
    """A 3x3 convolution, a leaky ReLU, and pixel norm if asked (the generator's unit (3))."""

    def __init__(self, in_channels: int, out_channels: int, normalize: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.normalize = normalize

    def forward(self, h: autograd.Tensor) -> autograd.Tensor:
        h = autograd.leaky_relu(self.conv(h), SLOPE)
        return pixel_norm(h) if self.normalize else h


class GrowingGenerator(nn.Module):
    """G_{s,alpha}(z) -> images (B, 1, r_s, r_s) in [-1, 1], (1)-(5)."""

    def __init__(self, latent_dim: int, n_stages: int, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.project = nn.Linear(latent_dim, channels * 4)
        self.base = ConvAct(channels, channels, normalize=True)
        self.blocks = nn.Sequential(*[ConvAct(channels, channels, True) for _ in range(n_stages - 1)])
        self.to_rgb = nn.Sequential(*[nn.Conv2d(channels, 1, 1) for _ in range(n_stages)])

    def features(self, z: autograd.Tensor, stage: int) -> autograd.Tensor:
        """h_stage (B, C, r, r) (1), (2)."""
        h = pixel_norm(autograd.leaky_relu(self.project(z), SLOPE).reshape(len(z), self.channels, 2, 2))
        h = self.base(h)                                                           # h_0 (1)
        for block in list(self.blocks)[:stage]:
            h = block(F.upsample_nearest(h, 2))                                    # h_s (2)
        return h

    def forward(self, z: autograd.Tensor, stage: int, alpha: float = 1.0) -> autograd.Tensor:
        if stage == 0 or alpha >= 1:
            return autograd.tanh(self.to_rgb[stage](self.features(z, stage)))      # (4)
        previous = self.features(z, stage - 1)
        new = self.to_rgb[stage](self.blocks[stage - 1](F.upsample_nearest(previous, 2)))
        old = F.upsample_nearest(self.to_rgb[stage - 1](previous), 2)
        return autograd.tanh(alpha * new + (1 - alpha) * old)                      # (5)


class GrowingDiscriminator(nn.Module):
    """D_{s,alpha}(x) for images x (B, 1, r_s, r_s) -> logits (B,), (6)-(9)."""

    def __init__(self, n_stages: int, channels: int) -> None:
        super().__init__()
        self.from_rgb = nn.Sequential(*[nn.Conv2d(1, channels, 1) for _ in range(n_stages)])
        self.blocks = nn.Sequential(*[ConvAct(channels, channels, False) for _ in range(n_stages - 1)])
        self.head_conv = nn.Conv2d(channels + 1, channels, 3, padding=1)
        self.head = nn.Linear(channels * 4, 1)

    def block(self, stage: int, h: autograd.Tensor) -> autograd.Tensor:
        """B^D_stage (7): (B, C, r, r) -> (B, C, r/2, r/2)."""
        return F.avg_pool2d(self.blocks[stage - 1](h), 2)

    def forward(self, x: autograd.Tensor, stage: int, alpha: float = 1.0) -> autograd.Tensor:
        h = autograd.leaky_relu(self.from_rgb[stage](x), SLOPE)                    # f_s(x) (6)
        if stage > 0:
            h = self.block(stage, h)
            if alpha < 1:
                old = autograd.leaky_relu(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)), SLOPE)
                h = alpha * h + (1 - alpha) * old                                  # (8)
        for s in range(stage - 1, 0, -1):
            h = self.block(s, h)                                                   # T_{s-1}
        h = autograd.leaky_relu(self.head_conv(minibatch_stddev(h)), SLOPE)        # (9)
        return self.head(h.reshape(len(x), -1)).reshape(len(x))


def schedule(step: int, total_steps: int, n_stages: int) -> Tuple[int, float]:
    """(stage, alpha) after `step` of `total_steps` generator updates (12)."""
    n_phases = 2 * n_stages - 1
    phase = min(int(step * n_phases // total_steps), n_phases - 1)
    stage = (phase + 1) // 2
    if phase % 2 == 0:
        return stage, 1.0
    start = phase * total_steps / n_phases
    return stage, min(1.0, (step - start) * n_phases / total_steps)


def real_at(images: autograd.Tensor, stage: int, alpha: float, n_stages: int) -> autograd.Tensor:
    """The real images (B, 1, R, R) at stage s's resolution, blended during a fade-in (10)."""
    x = F.avg_pool2d(images, 2 ** (n_stages - 1 - stage)) if stage < n_stages - 1 else images
    if stage == 0 or alpha >= 1:
        return x
    return alpha * x + (1 - alpha) * F.upsample_nearest(F.avg_pool2d(x, 2), 2)    # (10)


class ProgressiveGAN(GenerativeModel):
    """A progressively grown GAN on square images whose side is a power of two (8x8 digits: 2 -> 4 -> 8)."""

    Defaults = ProgressiveGANDefaults
    size_argument = "data_dim"

    def __init__(self, data_dim: int = 64, latent_dim: int = 16, channels: int = 32, seed: int = 0) -> None:
        side = math.isqrt(int(data_dim))
        if side * side != int(data_dim) or side < 2 or side & (side - 1):
            raise ValueError(f"ProgressiveGAN: data_dim must be side * side with side a power of two >= 2; "
                             f"got data_dim={data_dim}")
        super().__init__(data_dim=int(data_dim), latent_dim=int(latent_dim), channels=int(channels), seed=int(seed))
        self.data_dim, self.latent_dim, self.side, self.seed = int(data_dim), int(latent_dim), side, int(seed)
        self.n_stages = int(math.log2(side))
        autograd.manual_seed(self.seed)
        self.generator = GrowingGenerator(self.latent_dim, self.n_stages, int(channels))
        self.discriminator = GrowingDiscriminator(self.n_stages, int(channels))

    def resolution(self, stage: int) -> int:
        """r_s = 2^(s+1), the side of stage s's images."""
        return 2 ** (stage + 1)

    # -- training ---------------------------------------------------------------------------
    def fit(self, X: Any, steps: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, seed: Optional[int] = None, progress: bool = True,
            callback: Optional[Callable[["ProgressiveGAN", int, int], None]] = None) -> "ProgressiveGAN":
        """Train for `steps` generator updates over the schedule (12); callback(model, step, stage)
        after the last update of every stage (at alpha = 1).  None settings mean `Defaults`."""
        X = self.check_data(X, where="fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr)
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        optimizers = [optim.Adam(net.parameters(), lr=s.lr, betas=s.betas)
                      for net in (self.discriminator, self.generator)]
        step = self._training_step(optimizers, s.steps, callback)
        self.history = train(self, 2 * X - 1, step, optimizers, steps=s.steps, batch_size=s.batch_size, seed=seed,
                             progress=progress, description="progressive GAN")
        return self

    def _training_step(self, optimizers: Sequence[optim.Optimizer], total_steps: int,
                       callback: Optional[Callable]) -> Callable:
        optimizer_d, optimizer_g = optimizers

        def step(batch):
            done = optimizer_g.step_count
            stage, alpha = schedule(done, total_steps, self.n_stages)
            real = real_at(autograd.Tensor(batch).reshape(len(batch), 1, self.side, self.side),
                           stage, alpha, self.n_stages)
            losses = {"loss_d": self._critic_update(real, stage, alpha, optimizer_d),
                      "loss_g": self._generator_update(len(batch), stage, alpha, optimizer_g)}
            last_of_stage = done + 1 == total_steps or schedule(done + 1, total_steps, self.n_stages)[0] > stage
            if callback is not None and last_of_stage:
                callback(self, done + 1, stage)
            return losses
        return step

    def _critic_update(self, real, stage, alpha, optimizer):
        with autograd.no_grad():
            fake = self.generator(autograd.randn(len(real), self.latent_dim), stage, alpha)
        loss = (autograd.softplus(-self.discriminator(real, stage, alpha)).mean()
                + autograd.softplus(self.discriminator(fake, stage, alpha)).mean())   # L_D (11)
        apply_gradients(optimizer, autograd.grad(loss, optimizer.params))
        return loss.detach()

    def _generator_update(self, n, stage, alpha, optimizer):
        fake = self.generator(autograd.randn(n, self.latent_dim), stage, alpha)
        loss = autograd.softplus(-self.discriminator(fake, stage, alpha)).mean()      # L_G (11)
        apply_gradients(optimizer, autograd.grad(loss, optimizer.params))
        return loss.detach()

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n: int, seed: Optional[int] = None, stage: Optional[int] = None,
               alpha: float = 1.0) -> np.ndarray:
        """n images in [0, 1] as a NumPy array (n, r * r) at `stage`'s resolution (the last stage's,
        shaped like the data, when None)."""
        stage = self.n_stages - 1 if stage is None else int(stage)
        z = seeded_generator(seed, default_device()).standard_normal((n, self.latent_dim)).astype(np.float32)
        with autograd.no_grad():
            images = self.generator(autograd.Tensor(z), stage, alpha).data        # (n, 1, r, r)
        return (to_numpy(images).reshape(n, -1) + 1) / 2
