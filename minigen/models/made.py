"""MADE: masked autoencoder for distribution estimation (Germain, Gregor, Murray and Larochelle, ICML 2015).

An autoregressive model of binary vectors, in one network pass:
    p(x) = prod_d p(x_o(d) | x_o(1), ..., x_o(d-1))                    ordering o          (1)
    p(x_d = 1 | x_<d) = sigmoid(logit_d(x)),   logit = MLP with masked weights             (2)
Masks come from degrees.  Input d has degree m(d) = its position in the ordering (1..D); each
hidden unit gets a degree drawn from 1..D-1; a connection k <- j exists when
    hidden:   m_l(k) >= m_(l-1)(j)          output:  m(d) > m_L(k)                          (3)
so output d sees only inputs of smaller degree, and (1) is a product of proper conditionals: the
likelihood is exact, normalized by construction.  Training minimizes -log p(x), summed over pixels,
averaged over the batch.  Order-agnostic training (n_masks > 1) cycles through several orderings
and degree draws; at test time the density is the average of the masks' densities
    p(x) = (1 / M) sum_m p_m(x)                                                              (4)
which is itself exactly normalized.  Sampling draws x_o(1), then x_o(2), ... (D network passes).
"""
import numpy as np

import autograd as ag
from autograd import nn, optim
from autograd.nn import functional as F

from ..train import objective_step, train
from ..zoo import Entry, register
from .base import GenerativeModel


class MaskedLinear(nn.Linear):
    """y = x (W * M)^T + b: a Linear layer whose weight is multiplied by a fixed 0/1 mask."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", np.ones((out_features, in_features), dtype=np.float32))

    def forward(self, x):
        return ag.linear(x, self.weight * ag.Tensor(self.mask), self.bias)


class MADE(GenerativeModel):

    def __init__(self, n_input, hidden=(500,), n_masks=1, seed=0):
        super().__init__(n_input=n_input, hidden=list(hidden), n_masks=n_masks, seed=seed)
        self.n_input, self.n_masks, self.seed = n_input, n_masks, seed
        ag.manual_seed(seed)
        sizes = [n_input, *hidden]
        self.layers = nn.Sequential(*[MaskedLinear(a, b) for a, b in zip(sizes, sizes[1:])],
                                    MaskedLinear(sizes[-1], n_input))
        self.degrees = [self._draw_degrees(m) for m in range(n_masks)]      # (3), one set per mask
        self.set_mask(0)

    def _draw_degrees(self, mask_index):
        """Degrees of the input (an ordering; the natural one for mask 0) and of each hidden layer."""
        rng = np.random.default_rng([self.seed, mask_index])
        D = self.n_input
        order = np.arange(1, D + 1) if mask_index == 0 else rng.permutation(D) + 1
        degrees = [order]
        for layer in list(self.layers)[:-1]:
            low = min(degrees[-1].min(), D - 1)
            degrees.append(rng.integers(low, D, size=layer.out_features))   # in [low, D - 1]
        return degrees

    def set_mask(self, mask_index):
        """Install the masks (3) of one ordering / degree draw."""
        degrees = self.degrees[mask_index]
        layers = list(self.layers)
        for layer, previous, current in zip(layers[:-1], degrees[:-1], degrees[1:]):
            layer.mask = (current[:, None] >= previous[None, :]).astype(np.float32)           # (3)
        layers[-1].mask = (degrees[0][:, None] > degrees[-1][None, :]).astype(np.float32)     # (3)
        self.active_mask = mask_index

    def logits(self, x):
        """logit_d of (2) for a batch (B, D) -> (B, D)."""
        h = x
        for layer in list(self.layers)[:-1]:
            h = ag.relu(layer(h))
        return self.layers[len(self.layers) - 1](h)

    def nll(self, x):
        """-log p(x) under the active mask, summed over pixels: (B,)                       (1)"""
        return F.binary_cross_entropy_with_logits(self.logits(x), x, reduction="none").sum(axis=1)

    def fit(self, X, epochs=None, batch_size=None, lr=None, weight_decay=None, seed=None, progress=True):
        """Adam on the mean of -log p(x); with several masks, each step uses the next one."""
        X = self._check(X)
        optimizer = optim.AdamW(self.parameters(), lr=1e-3 if lr is None else lr,
                                weight_decay=1e-2 if weight_decay is None else weight_decay)
        counter = {"step": 0}

        def loss(batch):
            self.set_mask(counter["step"] % self.n_masks)
            counter["step"] += 1
            return self.nll(ag.Tensor(batch)).mean()

        train(self, X, objective_step(loss, optimizer), optimizer, epochs=60 if epochs is None else epochs,
              batch_size=100 if batch_size is None else batch_size,
              seed=self.seed if seed is None else seed, progress=progress, description="MADE")
        self.set_mask(0)
        return self

    def _check(self, X):
        X = np.asarray(X, dtype=np.float32) if not hasattr(X, "__cuda_array_interface__") else X
        if X.ndim != 2 or X.shape[1] != self.n_input:
            raise ValueError(f"MADE: expected data of shape (n, {self.n_input}), got {X.shape}")
        return X

    def log_prob(self, X, batch_size=1000):
        """Exact log p(x) in nats, (n,): the average over masks of (1), as in (4)."""
        X = self._check(X)
        per_mask = []
        with ag.no_grad():
            for m in range(self.n_masks):
                self.set_mask(m)
                per_mask.append(np.concatenate([-ag.backend.to_numpy(self.nll(ag.Tensor(X[i:i + batch_size])).data)
                                                for i in range(0, len(X), batch_size)]))
        self.set_mask(0)
        stacked = np.stack(per_mask).astype(np.float64)                        # (M, n)
        return np.logaddexp.reduce(stacked, axis=0) - np.log(self.n_masks)    # (4)

    def sample(self, n, seed=None):
        """Ancestral sampling in the order of mask 0: one network pass per dimension."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        order = np.argsort(self.degrees[0][0])
        x = np.zeros((n, self.n_input), dtype=np.float32)
        with ag.no_grad():
            for d in order:
                probabilities = ag.sigmoid(self.logits(ag.tensor(x))).numpy()[:, d]   # (2)
                x[:, d] = rng.random(n) < probabilities
        return x


def _test_nll(model, X_test):
    return float(-np.mean(model.log_prob(X_test)))


register(Entry(
    name="made",
    model_class=MADE,
    build=lambda data_shape, args: MADE(int(np.prod(data_shape)), seed=args.get("seed", 0)),
    data="digits-binary",
    fit_kwargs=lambda args: {"epochs": 10} if args.get("quick") else {},
    evaluate=lambda model, X_test: {"test_nll_nats": _test_nll(model, X_test)},
    likelihood=lambda model, X_test: [("MADE", "exact", _test_nll(model, X_test))],
    description="masked autoencoder for distribution estimation: exact autoregressive likelihood",
))
