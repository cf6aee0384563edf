"""Autoencoders and denoising autoencoders (Vincent et al. 2008; Bengio et al. 2013).

Autoencoder   h = f(x) = encoder(x),  r(x) = g(f(x)) = decoder(h)                          (1)
              trained to minimize a reconstruction loss L(x, r(x)), per example summed over the
              D inputs, averaged over the batch:
                  "bce":  L = sum_d [max(l_d, 0) - l_d x_d + log(1 + e^-|l_d|)],  r(x) = sigmoid(l)   (2)
                  "mse":  L = sum_d (r_d(x) - x_d)^2,  r(x) = the decoder's linear output      (3)

Denoising     corrupt x~ ~ C(x~ | x), then reconstruct the clean x: minimize L(x, r(x~))       (4)
autoencoder   C is one of three corruption processes (the objects below):
                  gaussian  x~ = x + noise * eps,  eps ~ N(0, I)
                  masking   x~ = x * m,            m_d ~ Bernoulli(1 - noise)   (pixels set to 0)
                  flip      x~ = x xor f,          f_d ~ Bernoulli(noise)       (binary data)

For Gaussian data N(mu, S) and Gaussian corruption of variance sigma^2, the best denoiser under
(3) is the posterior mean  r*(x~) = mu + S (S + sigma^2 I)^-1 (x~ - mu),                       (5)
which a linear denoising autoencoder learns; in general r(x~) - x~ ~ sigma^2 grad log p(x~).

Sampling (Bengio et al. 2013, "Generalized denoising auto-encoders as generative models"):
a Markov chain that alternates corruption and reconstruction, re-corrupting at every step,
    x~_t ~ C(x~ | x_t),   x_{t+1} = r(x~_t)                                                    (6)
(we take the reconstruction's mean, r, instead of drawing from P(x | x~_t), so frames stay clean).
"""
import numpy as np

import autograd
from autograd import nn, optim
from autograd.backend import array_module, device_of, to_device, to_numpy
from autograd.nn import functional as F
from minigen.models.base import GenerativeModel
from minigen.train import train

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "softplus": nn.Softplus}
LOSSES = ("bce", "mse")


def mlp(sizes, activation="tanh"):
    """Linear layers of the given sizes with `activation` between them (none after the last)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def as_sizes(hidden):
    """Hidden layer sizes as a tuple: an int is one layer, () or None none (a linear map)."""
    if hidden is None:
        return ()
    return (int(hidden),) if np.isscalar(hidden) else tuple(int(h) for h in hidden)


def check_input(name, X, n_input):
    """X as a float32 array of shape (n, n_input) on the active device; a clear error otherwise."""
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != n_input:
        raise ValueError(f"{name}: expected X of shape (n, {n_input}), got {tuple(X.shape)}")
    return to_device(X.astype(np.float32, copy=False), autograd.backend.default_device())


# -- corruption processes C(x~ | x) ---------------------------------------------------------------
class GaussianCorruption:
    """x~ = x + std * eps, eps ~ N(0, I)."""

    def __init__(self, std):
        self.std = float(std)

    def __call__(self, x):
        eps = autograd.random.generator(device_of(x)).standard_normal(x.shape, dtype=np.float32)
        return x + self.std * eps


class MaskingCorruption:
    """Each input is set to 0 with probability p (masking noise, Vincent et al. 2008)."""

    def __init__(self, p):
        self.p = float(p)

    def __call__(self, x):
        keep = autograd.random.generator(device_of(x)).random(x.shape, dtype=np.float32) >= self.p
        return x * keep


class FlipCorruption:
    """Each binary input is flipped (x -> 1 - x) with probability p."""

    def __init__(self, p):
        self.p = float(p)

    def __call__(self, x):
        flip = autograd.random.generator(device_of(x)).random(x.shape, dtype=np.float32) < self.p
        return array_module(x).where(flip, 1 - x, x)


CORRUPTIONS = {"gaussian": GaussianCorruption, "masking": MaskingCorruption, "flip": FlipCorruption}


# -- models ---------------------------------------------------------------------------------------
class Autoencoder(GenerativeModel):
    """x -> encoder -> h (n_latent) -> decoder -> r(x), trained by reconstruction (1)-(3).

    hidden      sizes of the hidden layers of the encoder (the decoder mirrors them); () is linear
    loss        "bce" for data in [0, 1] (sigmoid outputs) or "mse" (linear outputs)
    """

    default_epochs, default_batch_size, default_lr = 200, 64, 1e-3

    def __init__(self, n_input, hidden=(128,), n_latent=16, loss="bce", activation="tanh", seed=0):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {loss!r}")
        hidden = as_sizes(hidden)
        super().__init__(n_input=n_input, hidden=list(hidden), n_latent=n_latent, loss=loss,
                         activation=activation, seed=seed)
        autograd.manual_seed(seed)
        self.n_input, self.n_latent, self.loss_name = n_input, n_latent, loss
        self.encoder = mlp((n_input, *hidden, n_latent), activation)
        self.decoder = mlp((n_latent, *hidden[::-1], n_input), activation)
        self.history = {}

    def forward(self, x):
        """The decoder's output (logits for "bce", the reconstruction for "mse")."""
        return self.decoder(self.encoder(x))                           # (B, D)

    def reconstruction_loss(self, x_in, x_target):
        """(2) or (3): summed over inputs, averaged over the batch."""
        out = self.forward(x_in)
        if self.loss_name == "bce":
            per_input = F.binary_cross_entropy_with_logits(out, x_target, reduction="none")   # (2)
        else:
            difference = out - x_target                                                     # (3)
            per_input = difference * difference
        return per_input.sum(axis=1).mean()

    def corrupt(self, x):
        """The plain autoencoder does not corrupt its input."""
        return x

    def loss(self, x):
        """The training objective on a clean batch x (an array): (1) for the plain autoencoder, (4) here."""
        return self.reconstruction_loss(autograd.Tensor(self.corrupt(x)), autograd.Tensor(x))

    def fit(self, X, *, epochs=None, batch_size=None, lr=None, seed=None, progress=True, **train_kwargs):
        """Adam on the reconstruction loss; None means the class's tuned default.  Returns self."""
        X = check_input(f"{type(self).__name__}.fit", X, self.n_input)
        seed = self.config["seed"] if seed is None else seed
        autograd.manual_seed(seed)
        optimizer = optim.Adam(self.parameters(), lr=lr or self.default_lr)

        def step(batch):
            optimizer.zero_grad()
            loss = self.loss(batch)
            loss.backward()
            optimizer.step()
            return {"loss": loss}

        self.history = train(self, X, step, optimizer, epochs=epochs or self.default_epochs,
                             batch_size=batch_size or self.default_batch_size, seed=seed,
                             progress=progress, **train_kwargs)
        return self

    def _output(self, x):
        out = self.forward(x)
        return autograd.sigmoid(out) if self.loss_name == "bce" else out

    def encode(self, X):
        """The codes h = f(x) (1), shape (n, n_latent)."""
        X = check_input(f"{type(self).__name__}.encode", X, self.n_input)
        with autograd.no_grad():
            return to_numpy(self.encoder(autograd.Tensor(X)).data)

    def reconstruct(self, X):
        """r(x) (1), shape (n, n_input): the probabilities for "bce", the values for "mse"."""
        X = check_input(f"{type(self).__name__}.reconstruct", X, self.n_input)
        with autograd.no_grad():
            return to_numpy(self._output(autograd.Tensor(X)).data)


class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained to undo a corruption process (4); `sample_chain` samples by (6).

    corruption  "gaussian" (noise = its std), "masking" or "flip" (noise = the probability per input)
    """

    def __init__(self, n_input, hidden=(128,), n_latent=16, corruption="gaussian", noise=0.3,
                 loss="bce", activation="tanh", seed=0):
        if corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {sorted(CORRUPTIONS)}, not {corruption!r}")
        super().__init__(n_input, hidden, n_latent, loss, activation, seed)
        self.config.update(corruption=corruption, noise=noise)
        self.corruption = CORRUPTIONS[corruption](noise)

    def corrupt(self, x):
        """x~ ~ C(x~ | x), an array."""
        return self.corruption(x)

    def sample_chain(self, x0, steps):
        """The chain (6) from x0 (n, D): returns (steps + 1, n, D), frame 0 being x0."""
        x = check_input("DenoisingAutoencoder.sample_chain", x0, self.n_input)
        frames = [to_numpy(x)]
        with autograd.no_grad():
            for _ in range(steps):
                x = self._output(autograd.Tensor(self.corrupt(x))).data      # (6)
                frames.append(to_numpy(x))
        return np.stack(frames)                                               # (steps + 1, n, D)

    def sample(self, n, seed=None, steps=100):
        """n samples: chains (6) of `steps` steps started from uniform noise."""
        rng = np.random.default_rng(self.config["seed"] if seed is None else seed)
        x0 = rng.random((n, self.n_input), dtype=np.float32)
        return self.sample_chain(x0, steps)[-1]
