"""Generative adversarial networks: the minimax game (Goodfellow et al. 2014), the Wasserstein GAN
(Arjovsky, Chintala and Bottou 2017), WGAN-GP (Gulrajani et al. 2017), and consensus optimization
(Mescheder, Nowozin and Geiger 2017).

Model      z ~ N(0, I_Z),  x~ = G(z)                                    generator G
Critic     D(x) a logit (a score, for the Wasserstein losses)             discriminator D

Minimax    min_G max_D  E_x[log sigmoid(D(x))] + E_z[log(1 - sigmoid(D(G(z))))]          (1)
D's loss   L_D = E_x[softplus(-D(x))] + E_z[softplus(D(x~))]    (BCE from logits, x~ detached) (2)
G's loss   "minimax":       L_G =  E_z[log(1 - sigmoid(D(x~)))] = -E_z[softplus(D(x~))]       (3)
                            (saturates: its gradient vanishes when D rejects x~ confidently)
           "nonsaturating": L_G = -E_z[log sigmoid(D(x~))]      =  E_z[softplus(-D(x~))]      (4)
WGAN       L_D = E_z[D(x~)] - E_x[D(x)],  L_G = -E_z[D(x~)];  D's weights clipped to [-c, c]    (5)
           RMSprop(5e-5), c = 0.01, n_critic = 5 critic updates per generator update
WGAN-GP    x^ = e x + (1 - e) x~,  e ~ U[0, 1] one per example                                (6)
           L_D += lambda E[(sqrt(||grad_x^ D(x^)||^2 + eps) - 1)^2]   (norm over all of an
           example's dimensions; its gradient w.r.t. D's weights is a double backward)          (7)
           Adam(1e-4, betas (0.5, 0.9)), n_critic = 5, lambda = 10 (images) or 0.1 (2-D toys, as
           in the authors' toy code)
Updates    with v = (grad_D L_D, grad_G L_G) each player's gradient of its own loss:
           "alternating":  D steps on v_D, then G steps on v_G computed against the new D
           "simultaneous": both step on v evaluated at the same point
           "consensus":    both step on v + gamma grad(1/2 ||v||^2), gamma = 10                 (8)
           (the last needs the gradient of a gradient through both players)
InfoGAN    (Chen et al. 2016) with n_codes > 0: G(z, c) with a categorical code c ~ Cat(1/K) fed
           as a one-hot; a head Q on D's trunk predicts c, and both players also minimize
           L_I = E[-log Q(c | G(z, c))], which maximizes a lower bound on I(c; G(z, c))        (9)
Averaging  (Yazici et al. 2019) an exponential moving average of G's weights (and batch-norm
           statistics), updated after the t-th generator update:
           theta_avg <- beta_t theta_avg + (1 - beta_t) theta,  beta_t = min(beta, (1 + t) / (10 + t))  (10)
           (the warm-up forgets the random initial weights); sampling uses theta_avg

Sampling: z ~ N(0, I), x = G(z) with G's weights theta_avg (10) (theta itself when beta = 0).
Images live in [-1, 1] inside (tanh output) and in [0, 1] outside.

Networks: MLPs for vectors (the 2-D toys), DCGAN-style convolutional nets (Radford, Metz and
Chintala 2016) for square images such as the 8x8 digits or 28x28 MNIST.

Slides: "Generative Adversarial Networks", "Mode collapse", "Wasserstein GAN".
"""
import math

import numpy as np

import autograd
from autograd import nn, optim
from autograd.backend import array_module

from ..train import train
from .base import GenerativeModel

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp")
UPDATES = ("alternating", "simultaneous", "consensus")
ARCHITECTURES = ("mlp", "conv")

WGAN_CLIP = 0.01
GP_EPSILON = 1e-12
CONSENSUS_GAMMA = 10.0
AVERAGE_WARMUP = 10          # beta_t = min(beta, (1 + t) / (AVERAGE_WARMUP + t))  (10)

# Tuned defaults (what `fit` uses when an argument is None).  On the 2-D toys (MLPs) WGAN-GP takes
# n_critic = 2 and lr 1e-3 instead of the paper's 5 and 1e-4: with 5 critic steps and the paper's lr a
# run neither fits in two minutes nor places its samples within 3 std of the modes (54% high quality
# after 1000 steps against 87% with n_critic = 2).  On images (conv) the paper's WGAN-GP settings stand.
# Steps (ring, seeds 0-2, 2,500 samples, hidden 128 x 3, latent 2): non-saturating 3000 -> 5000 steps
# took 91.5% -> 94.9% high quality (batch 256; 95.5% with the batch of 512 below, 77-81 s CPU a run);
# WGAN-GP 2000 -> 4000 steps 87.1% -> 94.8% (90 s); all 8/8 modes.  The longer run matters because the lr decays linearly to zero: the last, small
# steps are what place samples within 3 std (0.06) of the modes.  On the grid the non-saturating GAN
# needs batches of 512: with 256 it captured 24, 24, 16 of 25 modes (lr 1e-3: 21, 21, 21; latent
# 4 or 8: worse), with 512 24, 25, 22 (91 s CPU a run).  WGAN-GP's grid: 25, 24, 24 with batches of 256.
TUNED = {
    "minimax":       {"optimizer": "adam", "lr": 2e-3, "betas": (0.5, 0.999), "n_critic": 1, "steps": 5000,
                      "batch_size": 512},
    "nonsaturating": {"optimizer": "adam", "lr": 2e-3, "betas": (0.5, 0.999), "n_critic": 1, "steps": 5000,
                      "batch_size": 512},
    "wgan":          {"optimizer": "rmsprop", "lr": 5e-5, "n_critic": 5, "steps": 3000, "batch_size": 256},
    "wgan-gp":       {"optimizer": "adam", "lr": 1e-3, "betas": (0.5, 0.9), "n_critic": 2, "steps": 4000,
                      "batch_size": 256},
}
# DCGAN on the 8x8 digits (latent 16, 32 channels, batch 64, lr decaying linearly to zero; digits_fd
# of 1,000 samples, floor 3.16), seeds 0 / 1: 1000 steps 15.1 / 17.9 (48 s CPU a run); with the weight
# average (10) 12.1-12.2 / 16.7 for beta 0.99-0.999; batch 256 (seed 0) 12.5; 3000 steps 5.0-5.2 / 3.44
# (117-135 s; seed 2: 5.8), where the average does not help (beta 0.999: 6.3 / 3.8), so it is off (beta 0).
TUNED_CONV = {
    "minimax":       {"lr": 1e-3, "steps": 1000},
    "nonsaturating": {"lr": 1e-3, "steps": 3000},
    "wgan":          {"steps": 2000},
    "wgan-gp":       {"lr": 1e-4, "n_critic": 5, "steps": 2000},
}


# -- networks --------------------------------------------------------------------------------
def mlp(sizes, activation):
    """Linear layers of the given sizes with `activation()` between them (none after the last)."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ConvGenerator(nn.Module):
    """DCGAN generator: z -> (C0, s0, s0) by a linear layer, then 2x upsampling transposed convolutions
    with batch norm and ReLU, then tanh; the output is flattened to (B, side * side)."""

    def __init__(self, latent_dim, side, channels=64):
        super().__init__()
        self.side, self.base, self.channels = side, side // 4, channels
        self.project = nn.Linear(latent_dim, 2 * channels * self.base * self.base)
        self.norm0 = nn.BatchNorm1d(2 * channels * self.base * self.base)
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1)
        self.norm1 = nn.BatchNorm2d(channels)
        self.up2 = nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1)

    def forward(self, z):
        h = autograd.relu(self.norm0(self.project(z)))                           # (B, 2C s0 s0)
        h = h.reshape(len(z), 2 * self.channels, self.base, self.base)           # (B, 2C, s0, s0)
        h = autograd.relu(self.norm1(self.up1(h)))                               # (B, C, 2 s0, 2 s0)
        image = autograd.tanh(self.up2(h))                                       # (B, 1, side, side)
        return image.reshape(len(z), self.side * self.side)                      # (B, side^2)


class ConvDiscriminator(nn.Module):
    """DCGAN critic: two stride-2 convolutions with leaky ReLU, then a linear layer to one logit.
    No batch norm (the gradient penalty is per example), as WGAN-GP recommends."""

    def __init__(self, side, channels=64):
        super().__init__()
        self.side = side
        self.down1 = nn.Conv2d(1, channels, 4, stride=2, padding=1)
        self.down2 = nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1)
        self.head = nn.Linear(2 * channels * (side // 4) ** 2, 1)

    def features(self, x):
        h = x.reshape(len(x), 1, self.side, self.side)                           # (B, 1, side, side)
        h = autograd.leaky_relu(self.down1(h), 0.2)                              # (B, C, side/2, side/2)
        h = autograd.leaky_relu(self.down2(h), 0.2)                              # (B, 2C, side/4, side/4)
        return h.reshape(len(x), -1)                                             # (B, 2C side^2 / 16)

    def forward(self, x):
        return self.head(self.features(x)).reshape(len(x))                       # (B,)


class MLPDiscriminator(nn.Module):
    """An MLP critic with leaky ReLUs that returns one logit per example, shape (B,)."""

    def __init__(self, data_dim, hidden):
        super().__init__()
        self.trunk = mlp([data_dim, *hidden], lambda: nn.LeakyReLU(0.2)) if hidden else nn.Sequential()
        self.head = nn.Linear(hidden[-1] if hidden else data_dim, 1)

    def features(self, x):
        h = self.trunk(x)                                                         # (B, H)
        return autograd.leaky_relu(h, 0.2) if len(self.trunk) else h

    def forward(self, x):
        return self.head(self.features(x)).reshape(len(x))                        # (B,)


# -- the model -------------------------------------------------------------------------------
class GAN(GenerativeModel):
    """A GAN on vectors (MLP) or square images (DCGAN-style convolutions), with four losses and
    three update rules; see the module docstring for the equations."""

    def __init__(self, data_dim, latent_dim=2, hidden=(128, 128, 128), loss="nonsaturating",
                 update="alternating", architecture="mlp", gp_weight=None, n_codes=0, seed=0):
        _check_choice("loss", loss, LOSSES)
        _check_choice("update", update, UPDATES)
        _check_choice("architecture", architecture, ARCHITECTURES)
        hidden = [int(h) for h in hidden]
        super().__init__(data_dim=int(data_dim), latent_dim=int(latent_dim), hidden=hidden, loss=loss,
                         update=update, architecture=architecture, gp_weight=gp_weight,
                         n_codes=int(n_codes), seed=int(seed))
        self.data_dim, self.latent_dim, self.loss, self.update = int(data_dim), int(latent_dim), loss, update
        self.gp_weight = _default_gp_weight(architecture) if gp_weight is None else float(gp_weight)
        self.seed, self.n_codes = int(seed), int(n_codes)
        autograd.manual_seed(self.seed)
        self.generator, self.discriminator = self._build(architecture, hidden)
        if self.n_codes:
            feature_dim = self.discriminator.features(autograd.zeros(1, self.data_dim)).shape[1]
            self.discriminator.q_head = nn.Linear(feature_dim, self.n_codes)       # Q(c | x) (9)
        for key, name in self._average_names().items():
            self.register_buffer(name, self.generator.state_dict()[key].copy())   # theta_avg (10)

    def _build(self, architecture, hidden):
        inputs = self.latent_dim + self.n_codes
        if architecture == "mlp":
            return (mlp([inputs, *hidden, self.data_dim], nn.ReLU),
                    MLPDiscriminator(self.data_dim, hidden))
        side = math.isqrt(self.data_dim)
        if side * side != self.data_dim or side % 4:
            raise ValueError(f"GAN: architecture='conv' needs square images whose side is a multiple of 4; "
                             f"data_dim={self.data_dim} is not side * side with side % 4 == 0")
        channels = hidden[0]
        return ConvGenerator(inputs, side, channels), ConvDiscriminator(side, channels)

    @property
    def images(self):
        """Whether the data are images in [0, 1] (mapped to the generator's tanh range [-1, 1])."""
        return self.config["architecture"] == "conv"

    # -- the two players' losses -----------------------------------------------------------
    def generate(self, n):
        """(n generated examples as a Tensor in the generator's range, with G's graph; their
        InfoGAN codes (n,) or None)."""
        z = autograd.randn(n, self.latent_dim)                                    # (n, Z)
        codes = None
        if self.n_codes:
            codes = autograd.random.generator(z.device).integers(self.n_codes, size=n)   # c ~ Cat(1/K)
        return self.generator(self.generator_input(z, codes)), codes              # (n, D)

    def generator_input(self, z, codes=None):
        """z (n, Z), with the one-hot codes appended for InfoGAN: (n, Z + K)."""
        if not self.n_codes:
            return z
        xp = array_module(z.data)
        one_hot = xp.eye(self.n_codes, dtype=z.dtype)[xp.asarray(codes)]         # (n, K)
        return autograd.concatenate([z, autograd.Tensor(one_hot)], axis=1)       # (n, Z + K)

    def info_loss(self, fake, codes):
        """L_I = E[-log Q(c | x~)] (9); zero without codes."""
        if not self.n_codes:
            return 0.0
        logits = self.discriminator.q_head(self.discriminator.features(fake))      # (B, K)
        return autograd.nn.functional.cross_entropy(logits, codes)

    def predict_code(self, X):
        """Q's most likely code for each example of X (n, data_dim), as an integer array (n,)."""
        if not self.n_codes:
            raise ValueError("GAN.predict_code: this GAN has no codes (n_codes=0)")
        X = self._check_data(X, "predict_code")
        with autograd.no_grad():
            x = autograd.tensor(2 * X - 1 if self.images else X, device=autograd.backend.default_device())
            logits = self.discriminator.q_head(self.discriminator.features(x))     # (n, K)
        return autograd.backend.to_numpy(logits.data).argmax(axis=1)

    def discriminator_loss(self, real, fake):
        """L_D on a batch of real and (detached) generated examples, both (B, D)."""
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)   # (B,), (B,)
        if self.loss in ("wgan", "wgan-gp"):
            loss = fake_logits.mean() - real_logits.mean()                        # (5)
        else:
            loss = autograd.softplus(-real_logits).mean() + autograd.softplus(fake_logits).mean()  # (2)
        if self.loss == "wgan-gp":
            loss = loss + self.gradient_penalty(real, fake)
        return loss

    def generator_loss(self, fake):
        """L_G on generated examples (B, D) that carry G's graph."""
        logits = self.discriminator(fake)                                         # (B,)
        if self.loss == "minimax":
            return -autograd.softplus(logits).mean()                              # (3)
        if self.loss == "nonsaturating":
            return autograd.softplus(-logits).mean()                              # (4)
        return -logits.mean()                                                     # (5)

    def gradient_penalty(self, real, fake, mix=None):
        """lambda E[(||grad_x^ D(x^)||_2 - 1)^2] at per-example interpolates (6), (7); differentiable
        w.r.t. D's weights because the inner gradient is recorded (create_graph=True).  `mix` (B, 1)
        fixes the weights e (drawn from U[0, 1] when None)."""
        real, fake = _data(real), _data(fake)
        xp = array_module(real)
        if mix is None:
            mix = autograd.rand(len(real), 1, dtype=real.dtype, device=_device(real)).data   # (B, 1)
        between = autograd.Tensor(xp.asarray(mix * real + (1 - mix) * fake), requires_grad=True)  # (6)
        scores = self.discriminator(between)                                      # (B,)
        (slopes,) = autograd.grad(scores.sum(), [between], create_graph=True)     # (B, D)
        norms = autograd.sqrt((slopes * slopes).reshape(len(real), -1).sum(axis=1) + GP_EPSILON)  # (B,)
        return self.gp_weight * ((norms - 1) ** 2).mean()                         # (7)

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, steps=None, batch_size=None, lr=None, seed=None, progress=True, n_critic=None,
            checkpoint=None, checkpoint_every=None, resume=None, log_every=10, callback=None,
            callback_every=100, average=None):
        """Train for `steps` generator updates (each after n_critic critic updates); returns self.

        callback(model, step) is called every `callback_every` generator steps (snapshots for the
        "samples as training goes on" figure).  `average` is the decay beta of the generator's weight
        average (10) that sampling uses (0: the weights themselves).  None for any argument means the
        tuned default.
        """
        X = self._check_data(X, "fit")
        tuned = {**TUNED[self.loss], **(TUNED_CONV[self.loss] if self.images else {})}
        steps = tuned["steps"] if steps is None else int(steps)
        batch_size = (64 if self.images else tuned["batch_size"]) if batch_size is None else int(batch_size)
        n_critic = tuned["n_critic"] if n_critic is None else int(n_critic)
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        optimizers = self._optimizers(tuned, lr)
        average = tuned.get("average", 0.0) if average is None else float(average)
        step = self.training_step(optimizers, n_critic, steps, callback, callback_every, average)
        data = 2 * X - 1 if self.images else X
        self.history = train(self, data, step, optimizers, steps=steps, batch_size=batch_size * n_critic,
                             seed=seed, progress=progress, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume,
                             log_every=log_every, description=f"GAN ({self.loss})")
        return self

    def _optimizers(self, tuned, lr):
        lr = tuned["lr"] if lr is None else float(lr)
        if tuned["optimizer"] == "rmsprop":
            return [optim.RMSprop(net.parameters(), lr=lr) for net in (self.discriminator, self.generator)]
        return [optim.Adam(net.parameters(), lr=lr, betas=tuned["betas"])
                for net in (self.discriminator, self.generator)]

    def training_step(self, optimizers, n_critic, total_steps, callback=None, callback_every=100, average=0.0):
        """step(batch): n_critic critic updates on the batch's n_critic chunks, then one generator
        update (for "simultaneous" and "consensus" the last critic update and the generator update
        are one joint step at the same point).  Both learning rates decay linearly towards zero over
        `total_steps` generator updates, so that the last updates place the samples precisely; the
        schedule reads the generator optimizer's (checkpointed) step count, so it resumes exactly.
        After each generator update the average theta_avg takes a step with decay `average` (10); with
        0 it is a copy of the weights."""
        optimizer_d, optimizer_g = optimizers
        base_lrs = [optimizer_d.lr, optimizer_g.lr]

        def step(batch):
            for optimizer, base_lr in zip(optimizers, base_lrs):
                optimizer.lr = base_lr * (1 - optimizer_g.step_count / total_steps)
            chunks = [c for c in _chunks(batch, n_critic) if len(c)]
            for real in chunks[:-1]:
                self._critic_update(autograd.Tensor(real), optimizer_d)
            real = autograd.Tensor(chunks[-1])
            if self.update == "alternating":
                losses = {"loss_d": self._critic_update(real, optimizer_d)}
                losses["loss_g"] = self._generator_update(len(real), optimizer_g)
            else:
                losses = self._joint_update(real, optimizer_d, optimizer_g)
            self.update_average(optimizer_g.step_count, average)
            if callback is not None and optimizer_g.step_count % callback_every == 0:
                callback(self, optimizer_g.step_count)
            return losses
        return step

    def _critic_update(self, real, optimizer):
        with autograd.no_grad():
            fake, codes = self.generate(len(real))                                # detached (2)
        loss = self.discriminator_loss(real, fake) + self.info_loss(fake, codes)
        _apply(optimizer, autograd.grad(loss, optimizer.params))
        self._clip_critic()
        return loss.detach()

    def _generator_update(self, n, optimizer):
        fake, codes = self.generate(n)
        loss = self.generator_loss(fake) + self.info_loss(fake, codes)
        _apply(optimizer, autograd.grad(loss, optimizer.params))
        return loss.detach()

    def _joint_update(self, real, optimizer_d, optimizer_g):
        """Both players step from the same point: on v, or on v + gamma grad(1/2 ||v||^2) (8)."""
        consensus = self.update == "consensus"
        fake, codes = self.generate(len(real))
        loss_d = self.discriminator_loss(real, fake.detach()) + self.info_loss(fake.detach(), codes)
        loss_g = self.generator_loss(fake) + self.info_loss(fake, codes)
        grads = (list(autograd.grad(loss_d, optimizer_d.params, create_graph=consensus))
                 + list(autograd.grad(loss_g, optimizer_g.params, create_graph=consensus)))
        params = optimizer_d.params + optimizer_g.params
        if consensus:
            grads = [g if g is not None else autograd.zeros_like(p) for g, p in zip(grads, params)]
            half_norm = 0.5 * sum((g * g).sum() for g in grads)                   # 1/2 ||v||^2
            corrections = autograd.grad(half_norm, params)
            grads = [g.detach() + CONSENSUS_GAMMA * (c if c is not None else 0) for g, c in zip(grads, corrections)]  # (8)
        _apply(optimizer_d, grads[:len(optimizer_d.params)])
        _apply(optimizer_g, grads[len(optimizer_d.params):])
        self._clip_critic()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

    def update_average(self, t, decay):
        """theta_avg <- beta_t theta_avg + (1 - beta_t) theta after the t-th generator update (10)."""
        beta = min(decay, (1 + t) / (AVERAGE_WARMUP + t))                         # (10)
        state = self.generator.state_dict()
        for key, name in self._average_names().items():
            average = getattr(self, name)
            average *= beta
            average += (1 - beta) * state[key]                                    # (10)

    def _average_names(self):
        """G's state key -> the name of its average's buffer, for the floating-point entries of G's state
        (weights and batch-norm statistics; not the integer batch counts)."""
        return {key: "average_" + key.replace(".", "_") for key, value in self.generator.state_dict().items()
                if np.issubdtype(value.dtype, np.floating)}

    def _clip_critic(self):
        if self.loss != "wgan":
            return
        for p in self.discriminator.parameters():                                # (5)
            array_module(p.data).clip(p.data, -WGAN_CLIP, WGAN_CLIP, out=p.data)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n, seed=None, codes=None):
        """n examples as a NumPy array (n, data_dim); images in [0, 1].  For InfoGAN, `codes` (n,)
        fixes the categorical codes (uniformly random when None)."""
        z = self._latents(n, seed)                                                # (n, Z)
        if self.n_codes and codes is None:
            codes = np.random.default_rng(seed).integers(self.n_codes, size=int(n))
        return self._generate_array(self.generator_input(z, codes))

    def decode(self, z, codes=None):
        """G(z) for given latents z (n, Z) (and InfoGAN codes (n,)) as a NumPy array shaped like the data."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"GAN.decode: latents must have shape (n, {self.latent_dim}), got {z.shape}")
        if self.n_codes and codes is None:
            raise ValueError(f"GAN.decode: this InfoGAN needs codes (n,) in [0, {self.n_codes}) beside z")
        z = autograd.tensor(z, device=autograd.backend.default_device())
        return self._generate_array(self.generator_input(z, codes))

    def _generate_array(self, z):
        """G(z) with the averaged weights theta_avg (10) in evaluation mode (the live weights and the
        training mode are restored afterwards), in the data's range."""
        live = {key: value.copy() for key, value in self.generator.state_dict().items()}
        averaged = {key: getattr(self, name) for key, name in self._average_names().items()}
        was_training = self.generator.training
        self.generator.load_state_dict({**live, **averaged})
        self.generator.eval()
        try:
            with autograd.no_grad():
                x = self.generator(z).data                                        # (n, D)
        finally:
            self.generator.load_state_dict(live)
            self.generator.train(was_training)
        return autograd.backend.to_numpy(_unit_range(x) if self.images else x)

    def _latents(self, n, seed):
        if int(n) < 1:
            raise ValueError(f"GAN.sample: n must be at least 1, got {n}")
        if seed is None:
            return autograd.randn(int(n), self.latent_dim)
        z = np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)).astype(np.float32)
        return autograd.tensor(z, device=autograd.backend.default_device())

    def _check_data(self, X, where):
        X = np.asarray(X, dtype=np.float32) if not hasattr(X, "__cuda_array_interface__") else X
        if X.ndim != 2 or X.shape[1] != self.data_dim:
            raise ValueError(f"GAN.{where}: X must have shape (n, {self.data_dim}), got {X.shape}")
        if len(X) < 2:
            raise ValueError(f"GAN.{where}: X needs at least 2 examples, got {len(X)}")
        return X


# -- latent walks ------------------------------------------------------------------------------
def slerp(z_a, z_b, steps):
    """Spherical interpolation between latents z_a and z_b (Z,), returning (steps, Z):

        slerp(a, b, t) = sin((1 - t) omega) / sin(omega) a + sin(t omega) / sin(omega) b,
        cos(omega) = a.b / (|a| |b|)            (White 2016, "Sampling generative networks")

    Unlike a straight line, it keeps the norm typical of a Gaussian latent of this dimension."""
    z_a, z_b = np.asarray(z_a, dtype=np.float64), np.asarray(z_b, dtype=np.float64)
    if z_a.shape != z_b.shape or z_a.ndim != 1:
        raise ValueError(f"slerp: z_a and z_b must be vectors of one shape, got {z_a.shape} and {z_b.shape}")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]                                 # (T, 1)
    cos_omega = z_a @ z_b / (np.linalg.norm(z_a) * np.linalg.norm(z_b))
    omega = np.arccos(np.clip(cos_omega, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return ((1 - t) * z_a + t * z_b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * z_a + np.sin(t * omega) * z_b) / np.sin(omega)).astype(np.float32)


# -- helpers -----------------------------------------------------------------------------------
def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"GAN: {name} must be one of {', '.join(map(repr, choices))}, not {value!r}")


def _default_gp_weight(architecture):
    """lambda = 10 on images (the paper); 0.1 on the 2-D toys (the authors' toy code)."""
    return 10.0 if architecture == "conv" else 0.1


def _apply(optimizer, grads):
    """Set each parameter's gradient to the given (detached) one and take the optimizer's step."""
    for p, g in zip(optimizer.params, grads):
        p.grad = None if g is None else autograd.Tensor(g.data)
    optimizer.step()


def _chunks(batch, n):
    """The batch split into n nearly equal consecutive chunks (the last ones may be empty)."""
    size = -(-len(batch) // n)
    return [batch[i * size:(i + 1) * size] for i in range(n)]


def _data(x):
    return x.data if isinstance(x, autograd.Tensor) else x


def _device(array):
    return autograd.backend.device_of(array)


def _unit_range(x):
    return (x + 1) / 2
