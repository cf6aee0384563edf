"""Deep belief nets (Hinton, Osindero and Teh, 2006), built from the RBMs of rbm.py.

Layers h_0 = x, h_1, ..., h_L with sizes layer_sizes; RBM l joins h_l (its visibles) to h_l+1.

Model     p(x, h_1, ..., h_L) = [prod_{l<L-1} p(h_l | h_l+1)] p_top(h_L-1, h_L)                  (1)
          directed layers  p(h_l,i = 1 | h_l+1) = sigmoid(b_l,i + W_l,i h_l+1)  (RBM l's (5))     (2)
          top              p_top: the last RBM, an undirected prior on h_L-1
Training  greedy (Hinton et al. 2006): RBM 0 on x, then RBM l+1 on the hidden probabilities
          q(h_l+1 = 1 | h_l) = sigmoid(c_l + W_l' h_l) of the data passed up through RBM 0..l      (3)
Sampling  block Gibbs in the top RBM for `gibbs_steps` sweeps, then one downward pass of (2)      (4)
Bound     with q(h_1..h_L-1 | x) = prod_l q(h_l+1 | h_l) from (3), sampled binary,
          log p(x) >= E_q[ sum_{l<L-1} (log p(h_l | h_l+1) - log q(h_l+1 | h_l)) + log p_top(h_L-1) ]  (5)
          log p_top(h) = -F_top(h) - log Z_top,   log Z_top exact or by AIS (rbm.py (7)-(11))       (6)
The bound is estimated by Monte Carlo over q.  With an AIS log Z_top, which errs low on average,
the estimate can come out above the true bound: validate against exact log Z_top where it is small.
For one RBM (layer_sizes of length 2) the bound is the RBM's exact log p(x).
likelihood_kind is "bound": log_prob (also named log_prob_bound) estimates (5), with log Z_top exact
when the top RBM's smaller layer has at most 20 units, else by AIS.
"""
import dataclasses
from typing import Any, List, Optional, Sequence

import numpy as np

from autograd import nn
from autograd.backend import array_module, kernel, to_device, to_numpy
from minigen import kernels  # noqa: F401  (registers the model kernels: Gibbs, Langevin, DDPM)

from .base import GenerativeModel
from .common import layers_of, seeded_generator
from .rbm import RBM, Momentum, RBMDefaults, Seed


def _bernoulli_log_prob(bits, logits):
    """log Bernoulli(bits; sigmoid(logits)) summed over units: bits * l - softplus(l)."""
    return (bits * logits - kernel("softplus")(logits)).sum(axis=1)


class DBN(GenerativeModel):
    """A stack of Bernoulli RBMs trained greedily; layer_sizes = (n_visible, hidden_1, ..., hidden_L).
    Each RBM is trained with RBMDefaults (the DBN's Defaults) and the overrides given to fit."""

    likelihood_kind = "bound"
    Defaults = RBMDefaults
    binary = True

    def __init__(self, layer_sizes: Sequence[int], seed: int = 0) -> None:
        layer_sizes = [int(n) for n in layer_sizes]
        if len(layer_sizes) < 2 or min(layer_sizes) < 1:
            raise ValueError(f"DBN: layer_sizes needs at least two positive sizes, got {layer_sizes}")
        super().__init__(layer_sizes=layer_sizes, seed=seed)
        self.data_shape = (layer_sizes[0],)                 # the examples are the first layer's states
        self.layer_sizes: List[int] = layer_sizes
        self.seed = seed
        self.rbms = nn.Sequential(*(RBM(n_in, n_out, seed=seed + i) for i, (n_in, n_out)
                                    in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]))))

    def fit(self, X: Any, epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, k: Optional[int] = None, persistent: Optional[bool] = None,
            momentum: Optional[Momentum] = None, momentum_epochs: Optional[int] = None,
            weight_decay: Optional[float] = None, lr_decay: Optional[bool] = None, seed: Optional[int] = None,
            progress: bool = True) -> "DBN":
        """Greedy layer-wise training (3): each RBM by RBM.fit with these settings (None: RBMDefaults),
        the first on X, each next one on the hidden probabilities of the one below."""
        s = self.settings(epochs=epochs, batch_size=batch_size, lr=lr, k=k, persistent=persistent,
                          momentum=momentum, momentum_epochs=momentum_epochs, weight_decay=weight_decay,
                          lr_decay=lr_decay)
        layer_input = self.check_data(X, where="fit")
        seed = self.seed if seed is None else seed
        for i, rbm in enumerate(layers_of(self.rbms, RBM)):
            rbm.fit(layer_input, **dataclasses.asdict(s), seed=seed + i, progress=progress,
                    probabilities=i > 0)                                        # upper layers: (3)
            layer_input = rbm.hidden_probabilities(layer_input)                       # (3), (n, H_l)
        return self

    def sample(self, n: int, gibbs_steps: int = 1000, seed: Seed = None,
               probabilities: bool = False) -> np.ndarray:
        """n samples by (4), a NumPy array (n, n_visible); probabilities: the last step's
        p(x = 1 | h_1) instead (for a single RBM, whose samples come from Gibbs, the samples)."""
        rbms = layers_of(self.rbms, RBM)
        rng = seeded_generator(seed, rbms[0].W.device)
        h = rbms[-1].sample(n, steps=gibbs_steps, seed=rng)                             # (n, H_L-1)
        for rbm in reversed(rbms[:-1]):
            if probabilities and rbm is rbms[0]:
                return rbm.visible_probabilities(h)                                     # (2)
            h = rbm.sample_visible(h, seed=rng)                                         # (2), (n, H_l)
        return h

    def log_prob(self, X: Any, log_z: Optional[float] = None, method: Optional[str] = None,
                 n_samples: int = 100, seed: Seed = 0) -> np.ndarray:
        """The variational lower bound (5) on log p(x) per row, a Monte Carlo average over
        `n_samples` draws of q, a NumPy array (n,).  log_z: the top RBM's log partition, else computed
        by `method` ("exact" or "ais"; None: exact where the top RBM's likelihood_kind is)."""
        rbms = layers_of(self.rbms, RBM)
        top = rbms[-1]
        if log_z is None:
            method = method or ("exact" if top.likelihood_kind == "exact" else "ais")
            log_z = top.log_partition(method, seed=seed)
        device = rbms[0].W.device
        X = to_device(self.check_data(X, where="log_prob"), device).astype(np.float64)
        xp = array_module(X)
        rng = seeded_generator(seed, device)
        h = xp.repeat(X, n_samples, axis=0)                                             # (n S, D)
        log_ratio = xp.zeros(len(h))
        for rbm in rbms[:-1]:
            W, b, c = (p.data.astype(np.float64) for p in (rbm.W, rbm.vbias, rbm.hbias))
            up_logits = h @ W + c                                                       # (3), (n S, H)
            h_up = kernel("sample_bernoulli")(up_logits, rng.random(up_logits.shape))[1]
            log_ratio += (_bernoulli_log_prob(h, h_up @ W.T + b)                          # (2)
                          - _bernoulli_log_prob(h_up, up_logits))
            h = h_up
        log_ratio += xp.asarray(top.log_prob(h, log_z=log_z))                           # (6)
        return to_numpy(log_ratio.reshape(len(X), n_samples).mean(axis=1))              # (5), (n,)

    log_prob_bound = log_prob                     # the name that says what log_prob returns
