"""Generative adversarial networks: the minimax game (Goodfellow et al. 2014), the Wasserstein GAN
(Arjovsky, Chintala and Bottou 2017), WGAN-GP (Gulrajani et al. 2017), consensus optimization
(Mescheder, Nowozin and Geiger 2017) and InfoGAN (Chen et al. 2016).

Model      z ~ N(0, I_Z),  x~ = G(z)                                    generator G
Critic     D(x) a logit (a score, for the Wasserstein losses)             discriminator D

Minimax    min_G max_D  E_x[log sigmoid(D(x))] + E_z[log(1 - sigmoid(D(G(z))))]          (1)
D's loss   L_D = E_x[softplus(-D(x))] + E_z[softplus(D(x~))]    (BCE from logits)           (2)
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
           "alternating":  D steps on v_D (x~ detached), then G on v_G against the new D
           "simultaneous": both step on v evaluated at the same point
           "consensus":    both step on v + gamma grad(1/2 ||v||^2) = v + gamma J^T v,  gamma = 10  (8)
           J = dv / d(theta_D, theta_G).  L_D is built on the undetached x~ = G(z), so v_D depends
           on theta_G and G's correction holds both (dv_G/dtheta_G)^T v_G and the cross term
           (dv_D/dtheta_G)^T v_D; v is recorded (create_graph=True) and differentiated again.
InfoGAN    G(z, c, u) with a categorical code c ~ Cat(1/K) fed as a one-hot and continuous codes
           u ~ U[-1, 1]^C; heads on D's trunk give Q(c | x) = softmax(logits(x)) and
           Q(u | x) = N(mu(x), diag sigma(x)^2), sigma = 1 or learned as log sigma(x).  Both players
           also minimize L_I, which maximizes a lower bound on I(c, u; G(z, c, u)) (up to H(c, u)):
           L_I = E[-log Q(c | x~)] + lambda_u E[-log Q(u | x~)]                                  (9)
           -log Q(u | x) = sum_j [log sigma_j + (u_j - mu_j)^2 / (2 sigma_j^2)] + C/2 log(2 pi)     (10)
Averaging  (Yazici et al. 2019) an exponential moving average of G's weights (and batch-norm
           statistics), updated after the t-th generator update:
           theta_avg <- beta_t theta_avg + (1 - beta_t) theta,  beta_t = min(beta, (1 + t) / (10 + t))  (11)
           (the warm-up forgets the random initial weights); sampling uses theta_avg

Sampling: z ~ N(0, I), x = G(z) with G's weights theta_avg (11) (theta itself when beta = 0).
Images live in [-1, 1] inside (tanh output) and in [0, 1] outside.

Networks: MLPs for vectors (the 2-D toys), DCGAN-style convolutional nets (Radford, Metz and
Chintala 2016) for square images such as the 8x8 digits or 28x28 MNIST.

Slides: "Generative Adversarial Networks", "Mode collapse", "Wasserstein GAN".
"""
import dataclasses
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import autograd
from autograd import nn, optim
from autograd.backend import array_module, default_device, to_numpy
from autograd.tensor import Array

from ..train import train
from .base import GenerativeModel
from .common import apply_gradients, input_gradients, mlp, seeded_generator

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp")
UPDATES = ("alternating", "simultaneous", "consensus")
ARCHITECTURES = ("mlp", "conv")

WGAN_CLIP = 0.01
GP_EPSILON = 1e-12
CONSENSUS_GAMMA = 10.0
AVERAGE_WARMUP = 10          # beta_t = min(beta, (1 + t) / (AVERAGE_WARMUP + t))  (11)
LOG_2PI = math.log(2 * math.pi)


@dataclasses.dataclass
class GANDefaults:
    """Tuned fit settings.  The field defaults are the minimax and non-saturating losses' with MLPs
    (the 2-D toys); `GANDefaults.tuned(loss, architecture)` gives the settings of every combination."""

    steps: int = 5000                            # generator updates
    batch_size: int = 512                        # examples per critic update
    lr: float = 2e-3                             # both players', decaying linearly to 0
    n_critic: int = 1                            # critic updates per generator update
    optimizer: str = "adam"                      # "adam" or "rmsprop"
    betas: Tuple[float, float] = (0.5, 0.999)    # Adam's
    average: float = 0.0                         # beta of the generator average (11); 0: no average

    @classmethod
    def tuned(cls, loss: str, architecture: str) -> "GANDefaults":
        """The settings for one loss and architecture.  WGAN: RMSprop and 5 critic steps (5).
        WGAN-GP: Adam with betas (0.5, 0.9), 2 critic steps and lr 1e-3 on the toys, the paper's 5 and
        1e-4 on images (7).  Images (DCGAN): batches of 64."""
        on_toys = {
            "minimax": cls(),
            "nonsaturating": cls(),
            "wgan": cls(optimizer="rmsprop", lr=5e-5, n_critic=5, steps=3000, batch_size=256),
            "wgan-gp": cls(lr=1e-3, betas=(0.5, 0.9), n_critic=2, steps=4000, batch_size=256),
        }[loss]
        if architecture == "mlp":
            return on_toys
        on_images: Dict[str, Dict[str, Any]] = {              # overrides of the toys' settings
            "minimax": {"lr": 1e-3, "steps": 1000},
            "nonsaturating": {"lr": 1e-3, "steps": 3000},
            "wgan": {"steps": 2000},
            "wgan-gp": {"lr": 1e-4, "n_critic": 5, "steps": 2000},
        }
        return dataclasses.replace(on_toys, batch_size=64, **on_images[loss])


# -- networks --------------------------------------------------------------------------------
class ConvGenerator(nn.Module):
    """DCGAN generator: z -> (C0, s0, s0) by a linear layer, then 2x upsampling transposed convolutions
    with batch norm and ReLU, then tanh; the output is flattened to (B, side * side)."""

    def __init__(self, latent_dim: int, side: int, channels: int = 64) -> None:
        super().__init__()
        self.side, self.base, self.channels = side, side // 4, channels
        self.project = nn.Linear(latent_dim, 2 * channels * self.base * self.base)
        self.norm0 = nn.BatchNorm1d(2 * channels * self.base * self.base)
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1)
        self.norm1 = nn.BatchNorm2d(channels)
        self.up2 = nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1)

    def forward(self, z: autograd.Tensor) -> autograd.Tensor:
        h = autograd.relu(self.norm0(self.project(z)))                           # (B, 2C s0 s0)
        h = h.reshape(len(z), 2 * self.channels, self.base, self.base)           # (B, 2C, s0, s0)
        h = autograd.relu(self.norm1(self.up1(h)))                               # (B, C, 2 s0, 2 s0)
        image = autograd.tanh(self.up2(h))                                       # (B, 1, side, side)
        return image.reshape(len(z), self.side * self.side)                      # (B, side^2)


class Discriminator(nn.Module):
    """A critic whose one logit per example is a linear head on its features: D(x) = head(features(x)).
    InfoGAN's Q(c | x) and Q(u | x) (9) are further heads on the same features, added by the GAN."""

    head: nn.Module
    q_head: nn.Module                   # Q(c | x)'s logits, with categorical codes
    q_continuous: nn.Module             # Q(u | x)'s means (and log-stds), with continuous codes

    def features(self, x: autograd.Tensor) -> autograd.Tensor:
        """The activations the heads read, (B, F): each critic defines its own."""
        raise NotImplementedError

    def forward(self, x: autograd.Tensor) -> autograd.Tensor:
        return self.head(self.features(x)).reshape(len(x))                       # (B,)


class ConvDiscriminator(Discriminator):
    """DCGAN critic: two stride-2 convolutions with leaky ReLU, then a linear layer to one logit.
    No batch norm (the gradient penalty is per example), as WGAN-GP recommends."""

    def __init__(self, side: int, channels: int = 64) -> None:
        super().__init__()
        self.side = side
        self.down1 = nn.Conv2d(1, channels, 4, stride=2, padding=1)
        self.down2 = nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1)
        self.head = nn.Linear(2 * channels * (side // 4) ** 2, 1)

    def features(self, x: autograd.Tensor) -> autograd.Tensor:
        h = x.reshape(len(x), 1, self.side, self.side)                           # (B, 1, side, side)
        h = autograd.leaky_relu(self.down1(h), 0.2)                              # (B, C, side/2, side/2)
        h = autograd.leaky_relu(self.down2(h), 0.2)                              # (B, 2C, side/4, side/4)
        return h.reshape(len(x), -1)                                             # (B, 2C side^2 / 16)


class MLPDiscriminator(Discriminator):
    """An MLP critic with leaky ReLUs that returns one logit per example, shape (B,)."""

    def __init__(self, data_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.trunk = mlp([data_dim, *hidden], "leaky_relu") if hidden else nn.Sequential()
        self.head = nn.Linear(hidden[-1] if hidden else data_dim, 1)

    def features(self, x: autograd.Tensor) -> autograd.Tensor:
        h = self.trunk(x)                                                         # (B, H)
        return autograd.leaky_relu(h, 0.2) if len(self.trunk) else h


# -- the model -------------------------------------------------------------------------------
class GAN(GenerativeModel):
    """A GAN on vectors (MLP) or square images (DCGAN-style convolutions), with four losses, three
    update rules and InfoGAN codes; see the module docstring for the equations."""

    Defaults = GANDefaults
    size_argument = "data_dim"

    def __init__(self, data_dim: int, latent_dim: int = 2, hidden: Sequence[int] = (128, 128, 128),
                 loss: str = "nonsaturating", update: str = "alternating", architecture: str = "mlp",
                 gp_weight: Optional[float] = None, n_codes: int = 0, n_continuous: int = 0,
                 lambda_continuous: float = 1.0, learn_std: bool = False, seed: int = 0) -> None:
        _check_choice("loss", loss, LOSSES)
        _check_choice("update", update, UPDATES)
        _check_choice("architecture", architecture, ARCHITECTURES)
        hidden = [int(h) for h in hidden]
        super().__init__(data_dim=int(data_dim), latent_dim=int(latent_dim), hidden=hidden, loss=loss,
                         update=update, architecture=architecture, gp_weight=gp_weight,
                         n_codes=int(n_codes), n_continuous=int(n_continuous),
                         lambda_continuous=float(lambda_continuous), learn_std=bool(learn_std), seed=int(seed))
        self.data_dim, self.latent_dim, self.loss, self.update = int(data_dim), int(latent_dim), loss, update
        self.architecture = architecture
        self.gp_weight = _default_gp_weight(architecture) if gp_weight is None else float(gp_weight)
        self.seed, self.n_codes, self.n_continuous = int(seed), int(n_codes), int(n_continuous)
        self.lambda_continuous, self.learn_std = float(lambda_continuous), bool(learn_std)
        autograd.manual_seed(self.seed)
        self.generator, self.discriminator = self._build(architecture, hidden)
        self._add_q_heads()
        for key, name in self._average_names().items():
            self.register_buffer(name, self.generator.state_dict()[key].copy())   # theta_avg (11)

    def _build(self, architecture: str, hidden: List[int]) -> Tuple[nn.Module, Discriminator]:
        inputs = self.latent_dim + self.n_codes + self.n_continuous
        if architecture == "mlp":
            return mlp([inputs, *hidden, self.data_dim], nn.ReLU), MLPDiscriminator(self.data_dim, hidden)
        side = math.isqrt(self.data_dim)
        if side * side != self.data_dim or side % 4:
            raise ValueError(f"GAN: architecture='conv' needs square images whose side is a multiple of 4; "
                             f"data_dim={self.data_dim} is not side * side with side % 4 == 0")
        channels = hidden[0]
        return ConvGenerator(inputs, side, channels), ConvDiscriminator(side, channels)

    def _add_q_heads(self) -> None:
        """Q(c | x) logits (K) and Q(u | x)'s means (C) and, if learned, log-stds (C) on D's trunk (9)."""
        if not (self.n_codes or self.n_continuous):
            return
        feature_dim = self.discriminator.features(autograd.zeros(1, self.data_dim)).shape[1]
        if self.n_codes:
            self.discriminator.q_head = nn.Linear(feature_dim, self.n_codes)
        if self.n_continuous:
            outputs = self.n_continuous * (2 if self.learn_std else 1)
            self.discriminator.q_continuous = nn.Linear(feature_dim, outputs)

    @property
    def images(self) -> bool:
        """Whether the data are images in [0, 1] (mapped to the generator's tanh range [-1, 1])."""
        return self.architecture == "conv"

    def settings(self, **overrides: Any) -> GANDefaults:
        """The Defaults tuned for this model's loss and architecture, with every override not None."""
        super().settings(**overrides)                                            # names checked
        tuned = GANDefaults.tuned(self.loss, self.architecture)
        return dataclasses.replace(tuned, **{k: v for k, v in overrides.items() if v is not None})

    # -- the generator and its codes --------------------------------------------------------------
    def generate(self, n: int, z: Any = None, codes: Optional[np.ndarray] = None,
                 continuous: Optional[np.ndarray] = None
                 ) -> Tuple[autograd.Tensor, Optional[np.ndarray], Optional[np.ndarray]]:
        """(x~ = G(z, c, u) (n, D) as a Tensor in the generator's range, with G's graph; the categorical
        codes (n,) or None; the continuous codes (n, C) or None).  What is not given is drawn."""
        z = autograd.randn(n, self.latent_dim) if z is None else _as_tensor(z)    # z ~ N(0, I), (n, Z)
        if self.n_codes and codes is None:
            codes = autograd.random.generator(z.device).integers(self.n_codes, size=n)   # c ~ Cat(1/K)
        if self.n_continuous and continuous is None:
            continuous = (2 * autograd.rand(n, self.n_continuous, dtype=z.dtype) - 1).data  # u ~ U[-1, 1]
        return self.generator(self.generator_input(z, codes, continuous)), codes, continuous

    def generator_input(self, z: autograd.Tensor, codes: Optional[np.ndarray] = None,
                        continuous: Optional[np.ndarray] = None) -> autograd.Tensor:
        """z (n, Z) with the one-hot codes and the continuous codes appended: (n, Z + K + C)."""
        xp = array_module(z.data)
        parts = [z]
        if self.n_codes:
            parts.append(autograd.Tensor(xp.eye(self.n_codes, dtype=z.dtype)[xp.asarray(codes)]))   # (n, K)
        if self.n_continuous:
            parts.append(autograd.Tensor(xp.asarray(continuous, dtype=z.dtype)))                 # (n, C)
        return autograd.concatenate(parts, axis=1) if len(parts) > 1 else z

    # -- InfoGAN's Q ---------------------------------------------------------------------------------
    def code_logits(self, x: autograd.Tensor) -> autograd.Tensor:
        """Q(c | x)'s logits (B, K)."""
        return self.discriminator.q_head(self.discriminator.features(x))

    def continuous_posterior(self, x: autograd.Tensor) -> Tuple[autograd.Tensor, autograd.Tensor]:
        """Q(u | x) = N(mu, diag sigma^2): (mu (B, C), log sigma (B, C)); log sigma = 0 unless learned."""
        out = self.discriminator.q_continuous(self.discriminator.features(x))      # (B, C) or (B, 2C)
        if not self.learn_std:
            return out, autograd.zeros_like(out)
        return out[:, :self.n_continuous], out[:, self.n_continuous:]

    def continuous_nll(self, x: autograd.Tensor, continuous: Array) -> autograd.Tensor:
        """E[-log Q(u | x)] (10): the Gaussian negative log-likelihood of the codes u (B, C), averaged."""
        mean, log_std = self.continuous_posterior(x)                              # (B, C), (B, C)
        u = autograd.Tensor(array_module(mean.data).asarray(continuous, dtype=mean.dtype))   # (B, C)
        nll = log_std + (u - mean) ** 2 / (2 * autograd.exp(2 * log_std)) + 0.5 * LOG_2PI   # (10), (B, C)
        return nll.sum(axis=1).mean()

    def info_loss(self, fake: autograd.Tensor, codes: Optional[np.ndarray] = None,
                  continuous: Optional[np.ndarray] = None) -> Union[autograd.Tensor, float]:
        """L_I (9): E[-log Q(c | x~)] + lambda_u E[-log Q(u | x~)]; zero without codes."""
        loss: Union[autograd.Tensor, float] = 0.0
        if self.n_codes:
            loss = loss + autograd.nn.functional.cross_entropy(self.code_logits(fake), codes)
        if self.n_continuous:
            loss = loss + self.lambda_continuous * self.continuous_nll(fake, continuous)
        return loss

    def predict_code(self, X: Any) -> np.ndarray:
        """Q's most likely categorical code for each example of X (n, data_dim), an integer array (n,)."""
        if not self.n_codes:
            raise ValueError("GAN.predict_code: this GAN has no categorical codes (n_codes=0)")
        with autograd.no_grad():
            logits = self.code_logits(self._inside(X, "predict_code"))             # (n, K)
        return to_numpy(logits.data).argmax(axis=1)

    def predict_continuous(self, X: Any) -> np.ndarray:
        """Q's mean of the continuous codes for each example of X (n, data_dim), an array (n, C)."""
        if not self.n_continuous:
            raise ValueError("GAN.predict_continuous: this GAN has no continuous codes (n_continuous=0)")
        with autograd.no_grad():
            mean, _ = self.continuous_posterior(self._inside(X, "predict_continuous"))   # (n, C)
        return to_numpy(mean.data)

    def _inside(self, X: Any, where: str) -> autograd.Tensor:
        """Checked data as a Tensor in the generator's range."""
        X = self.check_data(X, where=where)
        return autograd.Tensor(2 * X - 1 if self.images else X)

    # -- the two players' losses -----------------------------------------------------------
    def discriminator_loss(self, real: autograd.Tensor, fake: autograd.Tensor) -> autograd.Tensor:
        """L_D on a batch of real and generated examples, both (B, D)."""
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)   # (B,), (B,)
        if self.loss in ("wgan", "wgan-gp"):
            loss = fake_logits.mean() - real_logits.mean()                        # (5)
        else:
            loss = autograd.softplus(-real_logits).mean() + autograd.softplus(fake_logits).mean()  # (2)
        if self.loss == "wgan-gp":
            loss = loss + self.gradient_penalty(real, fake)
        return loss

    def generator_loss(self, fake: autograd.Tensor) -> autograd.Tensor:
        """L_G on generated examples (B, D) that carry G's graph."""
        logits = self.discriminator(fake)                                         # (B,)
        if self.loss == "minimax":
            return -autograd.softplus(logits).mean()                              # (3)
        if self.loss == "nonsaturating":
            return autograd.softplus(-logits).mean()                              # (4)
        return -logits.mean()                                                     # (5)

    def gradient_penalty(self, real: Any, fake: Any, mix: Any = None) -> autograd.Tensor:
        """lambda E[(||grad_x^ D(x^)||_2 - 1)^2] at per-example interpolates (6), (7); differentiable
        w.r.t. D's weights because the inner gradient is recorded (create_graph=True), and w.r.t. G's
        when `fake` carries G's graph.  `mix` (B, 1) fixes the weights e (drawn from U[0, 1] when None)."""
        real, fake = _as_tensor(real), _as_tensor(fake)
        if mix is None:
            mix = autograd.rand(len(real), 1, dtype=real.dtype, device=real.device)   # (B, 1)
        mix = _as_tensor(mix)
        between = mix * real + (1 - mix) * fake                                   # (6), (B, D)
        if not between.requires_grad:
            between = autograd.Tensor(between.data, requires_grad=True)
        scores = self.discriminator(between)                                      # (B,)
        (slopes,) = input_gradients(scores.sum(), [between], create_graph=True)   # (B, D)
        norms = autograd.sqrt((slopes * slopes).reshape(len(real), -1).sum(axis=1) + GP_EPSILON)  # (B,)
        return self.gp_weight * ((norms - 1) ** 2).mean()                         # (7)

    # -- the update rules --------------------------------------------------------------------
    def player_parameters(self) -> List[nn.Parameter]:
        """theta = (theta_D, theta_G): D's parameters, then G's."""
        return [*self.discriminator.parameters(), *self.generator.parameters()]

    def player_gradients(self, real: autograd.Tensor, create_graph: bool = False, z: Any = None,
                         codes: Optional[np.ndarray] = None, continuous: Optional[np.ndarray] = None
                         ) -> Tuple[List[autograd.Tensor], Dict[str, autograd.Tensor]]:
        """v = (grad_D L_D, grad_G L_G) at the current point, one gradient per parameter of
        `player_parameters()`, and the two losses.  Both losses see the same x~ = G(z, c, u).
        With create_graph=True v is recorded for differentiating again (8) and L_D keeps x~'s graph,
        so that v_D depends on theta_G; without, x~ is detached in L_D (v's value is the same)."""
        fake, codes, continuous = self.generate(len(real), z, codes, continuous)
        seen_by_d = fake if create_graph else fake.detach()
        loss_d = self.discriminator_loss(real, seen_by_d) + self.info_loss(seen_by_d, codes, continuous)
        loss_g = self.generator_loss(fake) + self.info_loss(fake, codes, continuous)
        params_d, params_g = list(self.discriminator.parameters()), list(self.generator.parameters())
        v_d = autograd.grad(loss_d, params_d, create_graph=create_graph)          # grad_D L_D
        v_g = autograd.grad(loss_g, params_g, create_graph=create_graph)          # grad_G L_G
        gradients = [g if g is not None else autograd.zeros_like(p)
                     for g, p in zip([*v_d, *v_g], [*params_d, *params_g])]
        return gradients, {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

    def consensus_correction(self, gradients: Sequence[autograd.Tensor]) -> List[autograd.Tensor]:
        """gamma grad_theta(1/2 ||v||^2) = gamma J^T v (8), for v recorded by
        `player_gradients(..., create_graph=True)`; one Tensor per parameter of `player_parameters()`."""
        params = self.player_parameters()
        half_norm = 0.5 * sum((g * g).sum() for g in gradients)                   # 1/2 ||v||^2
        corrections = autograd.grad(half_norm, params)  # type: ignore[arg-type]  # J^T v; a sum of Tensors
        return [CONSENSUS_GAMMA * (c if c is not None else autograd.zeros_like(p))
                for c, p in zip(corrections, params)]

    # -- training ---------------------------------------------------------------------------
    def fit(self, X: Any, steps: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, seed: Optional[int] = None, progress: bool = True,
            n_critic: Optional[int] = None, checkpoint: Optional[str] = None,
            checkpoint_every: Optional[int] = None, resume: Optional[str] = None, log_every: int = 10,
            callback: Optional[Callable[["GAN", int], None]] = None, callback_every: int = 100,
            average: Optional[float] = None) -> "GAN":
        """Train for `steps` generator updates (each after n_critic critic updates); returns self.

        callback(model, step) is called every `callback_every` generator steps (snapshots for the
        "samples as training goes on" figure).  `average` is the decay beta of the generator's weight
        average (11) that sampling uses (0: the weights themselves).  None for any setting means the
        tuned default (`GANDefaults.tuned(loss, architecture)`).
        """
        X = self.check_data(X, where="fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr, n_critic=n_critic, average=average)
        seed = self.seed if seed is None else int(seed)
        autograd.manual_seed(seed)
        optimizers = self._optimizers(s)
        step = self.training_step(optimizers, s.n_critic, s.steps, callback, callback_every, s.average)
        self.history = train(self, 2 * X - 1 if self.images else X, step, optimizers, steps=s.steps,
                             batch_size=s.batch_size * s.n_critic, seed=seed, progress=progress,
                             checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
                             log_every=log_every, description=f"GAN ({self.loss})")
        return self

    def _optimizers(self, s: GANDefaults) -> List[optim.Optimizer]:
        """One optimizer per player: [D's, G's]."""
        nets = (self.discriminator, self.generator)
        if s.optimizer == "rmsprop":
            return [optim.RMSprop(net.parameters(), lr=s.lr) for net in nets]
        return [optim.Adam(net.parameters(), lr=s.lr, betas=s.betas) for net in nets]

    def training_step(self, optimizers: Sequence[optim.Optimizer], n_critic: int, total_steps: int,
                      callback: Optional[Callable] = None, callback_every: int = 100,
                      average: float = 0.0) -> Callable:
        """step(batch): n_critic critic updates on the batch's n_critic chunks, then one generator
        update (for "simultaneous" and "consensus" the last critic update and the generator update
        are one joint step at the same point).  Both learning rates decay linearly towards zero over
        `total_steps` generator updates, so that the last updates place the samples precisely; the
        schedule reads the generator optimizer's (checkpointed) step count, so it resumes exactly.
        After each generator update the average theta_avg takes a step with decay `average` (11); with
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

    def _critic_update(self, real: autograd.Tensor, optimizer: optim.Optimizer) -> autograd.Tensor:
        with autograd.no_grad():
            fake, codes, continuous = self.generate(len(real))                    # detached (2)
        loss = self.discriminator_loss(real, fake) + self.info_loss(fake, codes, continuous)
        apply_gradients(optimizer, autograd.grad(loss, optimizer.params))
        self._clip_critic()
        return loss.detach()

    def _generator_update(self, n: int, optimizer: optim.Optimizer) -> autograd.Tensor:
        fake, codes, continuous = self.generate(n)
        loss = self.generator_loss(fake) + self.info_loss(fake, codes, continuous)
        apply_gradients(optimizer, autograd.grad(loss, optimizer.params))
        return loss.detach()

    def _joint_update(self, real: autograd.Tensor, optimizer_d: optim.Optimizer,
                      optimizer_g: optim.Optimizer) -> Dict[str, autograd.Tensor]:
        """Both players step from the same point: on v, or on v + gamma J^T v (8)."""
        consensus = self.update == "consensus"
        gradients, losses = self.player_gradients(real, create_graph=consensus)
        if consensus:
            corrections = self.consensus_correction(gradients)
            gradients = [g.detach() + c for g, c in zip(gradients, corrections)]       # (8)
        n_d = len(list(self.discriminator.parameters()))
        apply_gradients(optimizer_d, gradients[:n_d])
        apply_gradients(optimizer_g, gradients[n_d:])
        self._clip_critic()
        return losses

    def update_average(self, t: int, decay: float) -> None:
        """theta_avg <- beta_t theta_avg + (1 - beta_t) theta after the t-th generator update (11)."""
        beta = min(decay, (1 + t) / (AVERAGE_WARMUP + t))                         # (11)
        state = self.generator.state_dict()
        for key, name in self._average_names().items():
            average = getattr(self, name)
            average *= beta
            average += (1 - beta) * state[key]                                    # (11)

    def _average_names(self) -> Dict[str, str]:
        """G's state key -> the name of its average's buffer, for the floating-point entries of G's state
        (weights and batch-norm statistics; not the integer batch counts)."""
        return {key: "average_" + key.replace(".", "_") for key, value in self.generator.state_dict().items()
                if np.issubdtype(value.dtype, np.floating)}

    def _clip_critic(self) -> None:
        if self.loss != "wgan":
            return
        for p in self.discriminator.parameters():                                # (5)
            array_module(p.data).clip(p.data, -WGAN_CLIP, WGAN_CLIP, out=p.data)

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n: int, seed: Optional[int] = None, codes: Optional[np.ndarray] = None,
               continuous: Optional[np.ndarray] = None) -> np.ndarray:
        """n examples as a NumPy array (n, data_dim); images in [0, 1].  For InfoGAN, `codes` (n,)
        and `continuous` (n, C) fix the codes (drawn from their priors when None)."""
        rng = seeded_generator(seed, default_device())
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)          # (n, Z)
        if self.n_codes and codes is None:
            codes = rng.integers(self.n_codes, size=n)                            # c ~ Cat(1/K)
        if self.n_continuous and continuous is None:
            continuous = 2 * rng.random((n, self.n_continuous)) - 1               # u ~ U[-1, 1]
        return self._generate_array(self.generator_input(autograd.Tensor(z), codes, continuous))

    def decode(self, z: Any, codes: Optional[np.ndarray] = None,
               continuous: Optional[np.ndarray] = None) -> np.ndarray:
        """G(z, c, u) for given latents z (n, Z) (and InfoGAN codes (n,) and (n, C)), shaped like the data."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"GAN.decode: latents must have shape (n, {self.latent_dim}), got {z.shape}")
        if self.n_codes and codes is None:
            raise ValueError(f"GAN.decode: this InfoGAN needs codes (n,) in [0, {self.n_codes}) beside z")
        if self.n_continuous and continuous is None:
            raise ValueError(f"GAN.decode: this InfoGAN needs continuous codes (n, {self.n_continuous}) beside z")
        z = autograd.tensor(z, device=default_device())
        return self._generate_array(self.generator_input(z, codes, continuous))

    def latent_sweep(self, index: int = 0, values: Optional[Sequence[float]] = None,
                     seed: int = 0) -> np.ndarray:
        """Images (rows, len(values), data_dim) that vary continuous code `index` over `values`
        (9 steps over [-2, 2] when None, beyond the prior's [-1, 1]) with one z and the other
        continuous codes at 0: one row per categorical code (one row without categorical codes)."""
        if not 0 <= index < self.n_continuous:
            raise ValueError(f"GAN.latent_sweep: index must be in [0, {self.n_continuous}), got {index}")
        sweep = np.linspace(-2.0, 2.0, 9) if values is None else np.asarray(values, dtype=np.float64)
        rows = max(self.n_codes, 1)
        z = seeded_generator(seed).standard_normal((1, self.latent_dim))
        continuous = np.zeros((rows, len(sweep), self.n_continuous))
        continuous[:, :, index] = sweep                                           # (rows, V, C)
        codes = np.repeat(np.arange(rows), len(sweep)) if self.n_codes else None    # (rows V,)
        images = self.decode(np.repeat(z, rows * len(sweep), axis=0), codes,
                             continuous.reshape(-1, self.n_continuous))          # (rows V, D)
        return images.reshape(rows, len(sweep), -1)

    def _generate_array(self, z: autograd.Tensor) -> np.ndarray:
        """G(z) with the averaged weights theta_avg (11) in evaluation mode (the live weights and the
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
        return to_numpy((x + 1) / 2 if self.images else x)


# -- helpers -----------------------------------------------------------------------------------
def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"GAN: {name} must be one of {', '.join(map(repr, choices))}, not {value!r}")


def _default_gp_weight(architecture: str) -> float:
    """lambda = 10 on images (the paper); 0.1 on the 2-D toys (the authors' toy code)."""
    return 10.0 if architecture == "conv" else 0.1


def _chunks(batch, n: int) -> list:
    """The batch split into n nearly equal consecutive chunks (the last ones may be empty)."""
    size = -(-len(batch) // n)
    return [batch[i * size:(i + 1) * size] for i in range(n)]


def _as_tensor(x) -> autograd.Tensor:
    """x itself if it is a Tensor, else an array on the active device as a constant Tensor."""
    return x if isinstance(x, autograd.Tensor) else autograd.tensor(x, device=default_device())
