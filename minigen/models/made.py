"""MADE: masked autoencoder for distribution estimation (Germain, Gregor, Murray and Larochelle, ICML 2015).

An autoregressive model of binary vectors, in one network pass:
    p(x) = prod_d p(x_o(d) | x_o(1), ..., x_o(d-1))                    ordering o          (1)
    p(x_d = 1 | x_<d) = sigmoid(logit_d(x)),                                                (2)
    logit(x) = (W_out * M_out) h_L(x) + (A * M_direct) x + b,   h_l = relu((W_l * M_l) h_l-1 + b_l)
Masks come from degrees.  Input d has degree m(d) = its position in the ordering (1..D); each
hidden unit gets a degree drawn uniformly from [min degree of the layer below, D-1]; a connection
k <- j exists when
    hidden:   m_l(k) >= m_(l-1)(j)          output and direct:  m(d) > m_L(k), m(d) > m(j)      (3)
so output d sees only inputs of smaller degree, and (1) is a product of proper conditionals: the
likelihood is exact, normalized by construction.  The direct input-to-output connection (the
paper's "direct" variant) adds a logistic autoregression beside the hidden layers.
Training minimizes -log p(x), summed over pixels, averaged over the batch.
Mask ensembles (n_masks > 1): each training step uses the next of several degree draws
(connectivity-agnostic training; with order_agnostic=True the draws also permute the ordering).
The model is then the uniform mixture of the masks' densities
    p(x) = (1 / M) sum_m p_m(x)                                                              (4)
which is itself exactly normalized.  Sampling picks a mask m uniformly, then draws x_o(1), x_o(2),
... from p_m (D network passes).
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import autograd as ag
from autograd import nn, optim
from autograd.nn import functional as F
from autograd.tensor import Array

from ..train import objective_step, train
from .base import GenerativeModel
from .common import layers_of, seeded_generator


class MaskedLinear(nn.Linear):
    """y = x (W * M)^T + b: a Linear layer whose weight is multiplied by a fixed 0/1 mask."""

    mask: Array                         # buffer: M, (out_features, in_features) of 0s and 1s

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.register_buffer("mask", np.ones((out_features, in_features), dtype=np.float32))

    def set_mask(self, mask: np.ndarray) -> None:
        self.mask = ag.backend.to_device(mask.astype(np.float32), self.weight.device)

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.linear(x, self.weight * ag.Tensor(self.mask), self.bias)


@dataclass
class MADEDefaults:
    """AdamW on the batch mean of -log p(x), chosen on a validation split of the digits' training set."""
    epochs: int = 280
    batch_size: int = 100
    lr: float = 3e-3
    weight_decay: float = 1e-2


class MADE(GenerativeModel):
    """MADE over binary vectors of n_input bits; an ensemble of n_masks degree draws (4)."""

    likelihood_kind = "exact"
    Defaults = MADEDefaults
    size_argument = "n_input"
    binary = True

    def __init__(self, n_input: int, hidden: Sequence[int] = (500,), n_masks: int = 8,
                 order_agnostic: bool = True, direct: bool = True, seed: int = 0) -> None:
        super().__init__(n_input=n_input, hidden=list(hidden), n_masks=n_masks,
                         order_agnostic=order_agnostic, direct=direct, seed=seed)
        self.n_input, self.n_masks, self.order_agnostic, self.seed = n_input, n_masks, order_agnostic, seed
        self.history: Dict[str, List[float]] = {}
        ag.manual_seed(seed)
        sizes = [n_input, *hidden]
        self.hidden_layers = nn.Sequential(*[MaskedLinear(a, b) for a, b in zip(sizes, sizes[1:])])
        self.output_layer = MaskedLinear(sizes[-1], n_input)
        self.direct_layer = MaskedLinear(n_input, n_input, bias=False) if direct else None
        self.degrees = [self._draw_degrees(m) for m in range(n_masks)]      # (3), one set per mask
        self.set_mask(0)

    def _draw_degrees(self, mask_index):
        """Degrees of the inputs (an ordering: the natural one unless order-agnostic) and of each
        hidden layer, drawn from a generator seeded by (seed, mask_index)."""
        rng = np.random.default_rng([self.seed, mask_index])
        D = self.n_input
        shuffle = self.order_agnostic and mask_index > 0
        degrees: List[np.ndarray] = [rng.permutation(D) + 1 if shuffle else np.arange(1, D + 1)]
        for layer in layers_of(self.hidden_layers, MaskedLinear):
            low = min(degrees[-1].min(), D - 1)
            degrees.append(rng.integers(low, D, size=layer.out_features))   # in [low, D - 1]
        return degrees

    def set_mask(self, mask_index: int) -> None:
        """Install the masks (3) of one degree draw."""
        degrees = self.degrees[mask_index]
        for layer, below, above in zip(layers_of(self.hidden_layers, MaskedLinear), degrees[:-1], degrees[1:]):
            layer.set_mask(above[:, None] >= below[None, :])                  # (3) hidden
        self.output_layer.set_mask(degrees[0][:, None] > degrees[-1][None, :])  # (3) output
        if self.direct_layer is not None:
            self.direct_layer.set_mask(degrees[0][:, None] > degrees[0][None, :])   # (3) direct
        self.active_mask = mask_index

    def logits(self, x: ag.Tensor) -> ag.Tensor:
        """logit_d of (2) for a batch (B, D) -> (B, D)."""
        h = x
        for layer in self.hidden_layers:
            h = ag.relu(layer(h))                                              # (B, H_l)
        logits = self.output_layer(h)                                          # (B, D)
        return logits if self.direct_layer is None else logits + self.direct_layer(x)

    def nll(self, x: ag.Tensor) -> ag.Tensor:
        """-log p_m(x) under the active mask m, summed over pixels: (B,)                (1), (2)"""
        return F.binary_cross_entropy_with_logits(self.logits(x), x, reduction="none").sum(axis=1)

    def fit(self, X: Any, epochs: Optional[int] = None, batch_size: Optional[int] = None, lr: Optional[float] = None,
            weight_decay: Optional[float] = None, seed: Optional[int] = None, progress: bool = True) -> "MADE":
        """AdamW on the batch mean of -log p(x) (1); with several masks each step uses the next one.
        `self.history["loss"]` holds the training loss, read every few steps."""
        X = self.check_data(X, where="fit")
        s = self.settings(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay)
        optimizer = optim.AdamW(self.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        steps_done = [0]

        def loss(batch):
            self.set_mask(steps_done[0] % self.n_masks)
            steps_done[0] += 1
            return self.nll(ag.Tensor(batch)).mean()

        self.history = train(self, X, objective_step(loss, optimizer), optimizer, epochs=s.epochs,
                             batch_size=s.batch_size, seed=self.seed if seed is None else seed,
                             progress=progress, description="MADE")
        self.set_mask(0)
        return self

    def log_prob_per_mask(self, X: Any, batch_size: int = 1000) -> np.ndarray:
        """log p_m(x) in nats for every mask: (M, n), float64."""
        return self._log_prob_per_mask(self.check_data(X, where="log_prob_per_mask"), batch_size)

    def _log_prob_per_mask(self, X, batch_size):
        per_mask = []
        with ag.no_grad():
            for m in range(self.n_masks):
                self.set_mask(m)
                chunks = [-self.nll(ag.Tensor(X[i:i + batch_size])).numpy() for i in range(0, len(X), batch_size)]
                per_mask.append(np.concatenate(chunks))
        self.set_mask(0)
        return np.stack(per_mask).astype(np.float64)                          # (M, n)

    def log_prob(self, X: Any, batch_size: int = 1000) -> np.ndarray:
        """Exact log p(x) in nats, (n,): the mixture (4) of the masks' densities (1)."""
        per_mask = self._log_prob_per_mask(self.check_data(X, where="log_prob"), batch_size)
        return np.logaddexp.reduce(per_mask, axis=0) - np.log(self.n_masks)   # (4)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """Ancestral sampling from the mixture (4): a uniform mask per sample, then its ordering."""
        rng = seeded_generator(seed)
        mask_of_sample = rng.integers(self.n_masks, size=n)
        x = np.zeros((n, self.n_input), dtype=np.float32)
        for m in range(self.n_masks):
            rows = np.flatnonzero(mask_of_sample == m)
            if len(rows):
                x[rows] = self._sample_with_mask(m, len(rows), rng)
        self.set_mask(0)
        return x

    def _sample_with_mask(self, mask_index, n, rng):
        """n draws from p_m, one network pass per dimension in the mask's ordering (1)."""
        self.set_mask(mask_index)
        x = np.zeros((n, self.n_input), dtype=np.float32)
        with ag.no_grad():
            for d in np.argsort(self.degrees[mask_index][0]):
                inputs = ag.tensor(x, device=ag.backend.default_device())
                p_one = ag.sigmoid(self.logits(inputs)).numpy()[:, d]              # (2)
                x[:, d] = rng.random(n) < p_one
        return x
