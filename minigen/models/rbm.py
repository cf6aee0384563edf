"""Restricted Boltzmann machines, trained by contrastive divergence, with exact and annealed
importance sampling (AIS) estimates of their partition function.

Visible units v (D of them), hidden units h in {0, 1}^H, weights W (D, H), biases b (D,), c (H,).

Energy, Bernoulli v     E(v, h) = -v'Wh - b'v - c'h                                          (1)
Energy, Gaussian v      E(v, h) = ||v - b||^2 / 2 - v'Wh - c'h       (unit-variance visibles)   (1g)
Free energy             F(v) = -phi(v) - sum_j softplus(c_j + v'W_j),                          (2)
                        phi(v) = b'v (Bernoulli)  or  -||v - b||^2 / 2 (Gaussian)
Model                   p(v) = exp(-F(v)) / Z,   Z = sum_v exp(-F(v))  (an integral for Gaussian) (3)
Hidden given visible    p(h_j = 1 | v) = sigmoid(c_j + v'W_j)                                  (4)
Visible given hidden    p(v_i = 1 | h) = sigmoid(b_i + W_i h);  Gaussian: v | h ~ N(b + Wh, I)  (5)
Gradient                -d log p(v) / d theta = dF(v)/d theta - <dF/d theta>_model, so
                        dW ~ <v h'>_data - <v h'>_model,  db ~ <v>_data - <v>_model,
                        dc ~ <h>_data - <h>_model,   with h replaced by p(h = 1 | v)            (6)

Training (Hinton 2002; Tieleman 2008; Hinton's practical guide 2010): the model expectation in (6)
comes from k steps of block Gibbs sampling, (4) then (5), started at the data (CD-k) or at
persistent chains carried across updates (PCD).  The update (6) is exactly the gradient of
mean F(v_data) - mean F(v_model) on those samples, so its hidden statistics are the probabilities
p(h = 1 | v) of (4); the chains move through binary hidden samples (drawn from the data in CD-k, from
the chains' own visibles in PCD).  W ~ N(0, 0.01^2), b = log(p / (1 - p)) from
(smoothed) data marginals, momentum 0.5 then 0.9, weight decay on W (RBMDefaults).  Bernoulli
visibles can also be trained on probabilities p(v = 1) in [0, 1] instead of binary data (the grey
levels of images; a DBN's upper layers), with the same update (6).

Exact log Z, enumerating the smaller layer (at most 2^24 states):
  over h:  log Z = logsumexp_h [c'h + sum_i softplus(b_i + W_i h)]                              (7)
  Gaussian: log Z = D/2 log(2 pi) + logsumexp_h [c'h + b'Wh + ||Wh||^2 / 2]                     (7g)
  over v:  log Z = logsumexp_v [-F(v)]                                                          (7v)

AIS (Neal 2001; Salakhutdinov and Murray 2008): a base-rate model A with W = 0, c = 0 and visible
biases b_A from smoothed data marginals (the data mean for Gaussian visibles), and the path
  p*_beta(v) = exp((1 - beta) phi_A(v) + beta phi(v)) prod_j (1 + exp(beta (c_j + v'W_j)))     (8)
  log Z_A = sum_i softplus(b_A,i) + H log 2    (Gaussian: D/2 log(2 pi) + H log 2)              (9)
  v_1 ~ p_A;  log w = sum_k [log p*_beta_k(v_k) - log p*_beta_k-1(v_k)],  v_k+1 ~ T_beta_k(v_k)   (10)
  log Z ~ log Z_A + log mean_m w_m   over M independent chains                                  (11)
T_beta is block Gibbs under p_beta: h_j ~ sigmoid(beta (c_j + v'W_j)), then v with the field
(1 - beta) b_A + beta (b + Wh).  The betas: 0..0.5 step 1e-3, 0.5..0.9 step 1e-4, 0.9..1 step 1e-5.
AIS underestimates log Z on average (Jensen), so a log p built on it errs on the optimistic side.

Pseudo-likelihood (Besag 1975), not the likelihood:
  PL(v) = sum_i log p(v_i | v_-i) = sum_i logsigmoid(F(v with bit i flipped) - F(v))            (12)

Sampling: block Gibbs, (4) then (5), for `steps` sweeps from samples of the base-rate model.

likelihood_kind: "exact" when the smaller layer has at most 20 units (log p(x) by (3) with (7)), else
"AIS" (log Z by (11)).  As a scikit-learn transformer, transform(X) gives the features p(h = 1 | x)
of (4), so an RBM can stand in a Pipeline before a classifier (get_params / set_params / fit(X, y)).
"""
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, Literal, Optional, Tuple, Union, overload

import numpy as np

import autograd
from autograd import nn, optim
from autograd.backend import array_module, default_device, kernel, to_device, to_numpy
from autograd.tensor import Array
from minigen import kernels  # noqa: F401  (registers the model kernels: Gibbs, Langevin, DDPM)

from ..train import train
from .base import GenerativeModel
from .common import seeded_generator

MAX_EXACT_BITS = 24          # log_partition("exact") enumerates at most 2^24 states
EXACT_LIKELIHOOD_BITS = 20   # log_prob is exact up to 2^20 states (seconds), AIS above
ENUMERATION_CHUNK = 1 << 14
PUBLISHED_SCHEDULE = ((0.0, 0.5, 500), (0.5, 0.9, 4000), (0.9, 1.0, 10000))   # (from, to, betas)

Momentum = Union[float, Tuple[float, float]]
Seed = Union[None, int, np.random.Generator]     # a Generator is used as is (a caller continues its stream)


@dataclass
class RBMDefaults:
    """The tuned fit settings of an RBM with Bernoulli visibles (Hinton's practical guide, with a
    linearly decaying learning rate as in Tieleman 2008).  Gaussian visibles train for fewer epochs
    with a smaller learning rate: `RBMDefaults.for_visible("gaussian")`, which RBM.fit uses for them."""
    epochs: int = 200
    batch_size: int = 10
    lr: float = 0.01
    k: int = 1                                  # Gibbs sweeps per update: CD-k, or PCD-k
    persistent: bool = False                    # PCD: negative chains carried across updates
    momentum: Momentum = (0.5, 0.9)             # (initial, final), or one number for both
    momentum_epochs: int = 5                    # epochs at the initial momentum
    weight_decay: float = 1e-4                  # L2 penalty on W (not on the biases)
    lr_decay: bool = True                       # the learning rate falls linearly to 0 over the run

    @classmethod
    def for_visible(cls, visible: str) -> "RBMDefaults":
        """The defaults for "bernoulli" or "gaussian" visible units."""
        return cls(epochs=100, lr=1e-3) if visible == "gaussian" else cls()


def ais_betas(n_betas: int = 14500) -> np.ndarray:
    """The published AIS schedule (Salakhutdinov and Murray 2008) with `n_betas` transitions:
    each of its three linear pieces keeps its share of the betas; returns n_betas + 1 values, 0 to 1."""
    if n_betas < 3:
        raise ValueError(f"ais_betas: need at least 3 betas, got n_betas={n_betas}")
    total = sum(count for _, _, count in PUBLISHED_SCHEDULE)
    pieces = [np.linspace(low, high, max(1, round(n_betas * count / total)), endpoint=False)
              for low, high, count in PUBLISHED_SCHEDULE]
    return np.concatenate(pieces + [np.ones(1)])


def _binary_states(start, stop, n_bits, xp):
    """Rows start..stop-1 of the table of all 2^n_bits binary vectors (bit i of the row number)."""
    numbers = xp.arange(start, stop, dtype=np.int64)[:, None]
    return ((numbers >> xp.arange(n_bits, dtype=np.int64)) & 1).astype(np.float64)   # (m, n_bits)


def _logsumexp(values, axis=None):
    return kernel("logsumexp")(values, axis=axis)


class RBM(GenerativeModel):
    """A restricted Boltzmann machine with Bernoulli or unit-variance Gaussian visible units."""

    Defaults = RBMDefaults
    size_argument = "n_visible"
    base_vbias: Array                   # buffer: the visible biases b_A of the base-rate model A (n_visible,)
    persistent_chains: Array            # buffer: the negative chains of PCD (chains, n_visible)

    def __init__(self, n_visible: int, n_hidden: int, visible: str = "bernoulli", seed: int = 0) -> None:
        if visible not in ("bernoulli", "gaussian"):
            raise ValueError(f"RBM: visible must be 'bernoulli' or 'gaussian', not {visible!r}")
        if n_visible < 1 or n_hidden < 1:
            raise ValueError(f"RBM: need n_visible >= 1 and n_hidden >= 1, got {n_visible} and {n_hidden}")
        super().__init__(n_visible=n_visible, n_hidden=n_hidden, visible=visible, seed=seed)
        self.n_visible, self.n_hidden, self.visible, self.seed = n_visible, n_hidden, visible, seed
        rng = np.random.default_rng(seed)
        self.W = nn.Parameter((0.01 * rng.standard_normal((n_visible, n_hidden))).astype(np.float32))
        self.vbias = nn.Parameter(np.zeros(n_visible, dtype=np.float32))
        self.hbias = nn.Parameter(np.zeros(n_hidden, dtype=np.float32))
        self.register_buffer("base_vbias", np.zeros(n_visible, dtype=np.float32))
        self.register_buffer("persistent_chains", np.zeros((0, n_visible), dtype=np.float32))
        self.to(default_device())                        # the active backend's device, as nn layers

    @property
    def binary(self) -> bool:
        """Bernoulli visibles: fit and log_prob take binary data."""
        return self.visible == "bernoulli"

    @property                           # a property where the other families set a class attribute
    def likelihood_kind(self) -> str:  # type: ignore[override]
        """"exact" when log Z enumerates at most 2^20 states of the smaller layer, else "AIS": what
        log_prob computes when no log Z is given."""
        return "exact" if self._enumerated_layer()[1] <= EXACT_LIKELIHOOD_BITS else "AIS"

    def settings(self, **overrides: Any) -> RBMDefaults:
        """RBMDefaults for this RBM's visible units, with every override that is not None."""
        chosen = {name: value for name, value in overrides.items() if value is not None}
        return super().settings(**{**dataclasses.asdict(self.Defaults.for_visible(self.visible)), **chosen})

    # -- checking inputs -----------------------------------------------------------------------
    def _data(self, X, where, binary=None):
        """X checked by GenerativeModel.check_data, as float32 (n, n_visible) on the parameters' device."""
        return to_device(self.check_data(X, where=where, binary=binary), self.W.device)

    def _hidden_states(self, H, where):
        """H as a float32 (n, n_hidden) array on the parameters' device, or a ValueError naming `where`."""
        if getattr(H, "ndim", None) != 2 or H.shape[1] != self.n_hidden:
            raise ValueError(f"RBM.{where}: hidden states must have shape (n, {self.n_hidden}), got "
                             f"{getattr(H, 'shape', type(H).__name__)}")
        return to_device(array_module(H).asarray(H, dtype=np.float32), self.W.device)

    # -- energies --------------------------------------------------------------------------------
    def _visible_term(self, v, b):
        """phi(v) of (2): b'v for Bernoulli visibles, -||v - b||^2 / 2 for Gaussian ones (Tensors or arrays)."""
        if self.visible == "bernoulli":
            return v @ b
        return -0.5 * ((v - b) ** 2).sum(axis=1)

    def _free_energy(self, v, W, b, c):
        return -self._visible_term(v, b) - autograd.softplus(v @ W + c).sum(axis=1)   # (2), (n,)

    def free_energy(self, V: Any) -> Any:
        """F(v) of (2) per row.  A Tensor in gives a Tensor out, differentiable in W, vbias, hbias;
        an array in gives a NumPy array (n,) out."""
        if isinstance(V, autograd.Tensor):
            if V.ndim != 2 or V.shape[1] != self.n_visible:
                raise ValueError(f"RBM.free_energy: expected examples of shape ({self.n_visible},), "
                                 f"got a Tensor of shape {tuple(V.shape)}")
            return self._free_energy(V, self.W, self.vbias, self.hbias)
        with autograd.no_grad():
            v = autograd.Tensor(self._data(V, "free_energy", binary=False))
            return to_numpy(self._free_energy(v, self.W, self.vbias, self.hbias).data)

    def _parameters64(self):
        """W, b, c, b_A as float64 arrays (for log Z and AIS, where float32 rounding adds up)."""
        return tuple(a.astype(np.float64) for a in
                     (self.W.data, self.vbias.data, self.hbias.data, self.base_vbias))

    # -- conditionals and Gibbs sampling ---------------------------------------------------------
    def _uniforms(self, rows, units, rng):
        return rng.random((rows, units), dtype=self.W.dtype)

    def _visible_noise(self, shape, dtype, rng):
        """The draws that (5) turns into visible states: uniforms (Bernoulli), standard normals (Gaussian)."""
        if self.visible == "gaussian":
            return rng.standard_normal(shape, dtype=dtype)
        return rng.random(shape, dtype=dtype)

    def _hidden_layer(self, v, uniforms=None):
        """(logits c + v'W, p(h = 1 | v), a binary sample where uniforms are given) by (4), each (n, H)."""
        return kernel("bernoulli_layer")(v @ self.W.data, self.hbias.data, uniforms)

    def _visible_field(self, h):
        return h @ self.W.data.T + self.vbias.data                                         # (5), (n, D)

    def _draw_visible(self, field, rng):
        """v given its field b + Wh (or AIS's mixed field) by (5)."""
        noise = self._visible_noise(field.shape, field.dtype, rng)
        if self.visible == "gaussian":
            return field + noise                                                            # (5)
        return kernel("sample_bernoulli")(field, noise)[1]                                  # (5)

    def _gibbs_sweep(self, h, rng, last=False):
        """v by (5) from binary hidden states h, then (logits, p(h = 1 | v)) by (4) and, unless this is
        the `last` sweep, a new hidden sample -> (v, logits, probabilities, h or None), one kernel."""
        noise = self._visible_noise((len(h), self.n_visible), self.W.dtype, rng)
        uniforms = None if last else self._uniforms(len(h), self.n_hidden, rng)
        return kernel("gibbs_step")(h, self.W.data, self.vbias.data, self.hbias.data, noise, uniforms,
                                    self.visible == "gaussian")

    def _gibbs(self, v, steps, rng):
        """`steps` sweeps of block Gibbs sampling, (4) then (5), from the visible states v."""
        if steps == 0:
            return v
        h = self._hidden_layer(v, self._uniforms(len(v), self.n_hidden, rng))[2]          # (4)
        for sweep in range(steps):
            v, _, _, h = self._gibbs_sweep(h, rng, last=sweep == steps - 1)
        return v

    def hidden_probabilities(self, V: Any) -> np.ndarray:
        """p(h_j = 1 | v) by (4) for each row of V -> a NumPy array (n, n_hidden)."""
        return to_numpy(self._hidden_layer(self._data(V, "hidden_probabilities", binary=False))[1])

    def transform(self, X: Any) -> np.ndarray:
        """The features p(h = 1 | x) of (4), (n, n_hidden): the transformer step of a scikit-learn Pipeline."""
        return to_numpy(self._hidden_layer(self._data(X, "transform", binary=False))[1])

    def sample_hidden(self, V: Any, seed: Seed = None) -> np.ndarray:
        """h ~ p(h | v) by (4) for each row of V -> a binary NumPy array (n, n_hidden)."""
        v = self._data(V, "sample_hidden", binary=False)
        rng = seeded_generator(seed, self.W.device)
        return to_numpy(self._hidden_layer(v, self._uniforms(len(v), self.n_hidden, rng))[2])

    def visible_probabilities(self, H: Any) -> np.ndarray:
        """p(v_i = 1 | h) by (5) for each row of H (n, n_hidden) -> a NumPy array (n, n_visible); for
        Gaussian visibles the mean b + Wh of v given h."""
        field = self._visible_field(self._hidden_states(H, "visible_probabilities"))
        return to_numpy(field if self.visible == "gaussian" else kernel("sigmoid")(field))

    def sample_visible(self, H: Any, seed: Seed = None) -> np.ndarray:
        """v ~ p(v | h) by (5) for each row of H (n, n_hidden) -> a NumPy array (n, n_visible)."""
        h = self._hidden_states(H, "sample_visible")
        return to_numpy(self._draw_visible(self._visible_field(h), seeded_generator(seed, self.W.device)))

    def gibbs(self, V: Any, steps: int = 1, seed: Seed = None) -> np.ndarray:
        """`steps` sweeps of block Gibbs sampling, (4) then (5), from the rows of V -> new V (NumPy)."""
        v = self._data(V, "gibbs", binary=False)
        return to_numpy(self._gibbs(v, steps, seeded_generator(seed, self.W.device)))

    def _sample_base(self, n, base_vbias, rng):
        """n samples of the base-rate model A (independent visibles with biases b_A)."""
        field = base_vbias + array_module(base_vbias).zeros((n, self.n_visible), dtype=base_vbias.dtype)
        return self._draw_visible(field, rng)

    def sample(self, n: int, steps: int = 1000, seed: Seed = None) -> np.ndarray:
        """n samples after `steps` Gibbs sweeps started at base-rate samples, a NumPy array (n, n_visible)."""
        rng = seeded_generator(seed, self.W.device)
        return to_numpy(self._gibbs(self._sample_base(n, self.base_vbias, rng), steps, rng))

    # -- training --------------------------------------------------------------------------------
    def _training_data(self, X, probabilities):
        """X checked for fit: binary for Bernoulli visibles, or, with `probabilities`, values in [0, 1]."""
        if not probabilities:
            return self._data(X, "fit")
        if self.visible != "bernoulli":
            raise ValueError("RBM.fit: probabilities=True is for Bernoulli visible units")
        X = self._data(X, "fit", binary=False)
        low, high = float(X.min()), float(X.max())
        if low < 0 or high > 1:
            raise ValueError(f"RBM.fit: probabilities must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")
        return X

    def _init_from_data(self, X):
        """Hinton's initialisation: visible biases log(p / (1 - p)) from smoothed data marginals
        (the data mean for Gaussian visibles); the base-rate model of AIS keeps the same biases."""
        xp = array_module(X)
        if self.visible == "bernoulli":
            p = (X.sum(axis=0) + 1) / (len(X) + 2)                     # Laplace-smoothed marginals
            base = xp.log(p) - xp.log1p(-p)
        else:
            base = X.mean(axis=0)
        self.base_vbias = base.astype(np.float32)
        self.vbias.data[...] = self.base_vbias

    def _cd_gradients(self, v_data, k, persistent, rng):
        """The update (6) with a negative phase from CD-k or PCD-k, as gradients of
        mean F(v_data) - mean F(v_model) -> ((dW, db, dc), v_model, that gap)."""
        if persistent:                        # the chains move on from their own hidden sample
            data_logits, hidden_data, _ = self._hidden_layer(v_data)                          # (4)
            chains = self.persistent_chains
            h = self._hidden_layer(chains, self._uniforms(len(chains), self.n_hidden, rng))[2]
        else:
            uniforms = self._uniforms(len(v_data), self.n_hidden, rng)
            data_logits, hidden_data, h = self._hidden_layer(v_data, uniforms)                # (4)
        for sweep in range(k):
            v_model, model_logits, hidden_model, h = self._gibbs_sweep(h, rng, last=sweep == k - 1)
        if persistent:
            self.persistent_chains = v_model
        n_data, n_model = len(v_data), len(v_model)
        grad_W = v_model.T @ hidden_model                                                # (6), (D, H)
        grad_W /= n_model
        grad_W -= (v_data.T @ hidden_data) / n_data
        grad_b = v_model.mean(axis=0) - v_data.mean(axis=0)
        grad_c = hidden_model.mean(axis=0) - hidden_data.mean(axis=0)
        gap = (self._free_energy_of(v_data, data_logits).mean()
               - self._free_energy_of(v_model, model_logits).mean())
        return (grad_W, grad_b, grad_c), v_model, gap

    def _free_energy_of(self, v, hidden_logits):
        """F(v) of (2) from the hidden logits c + v'W already computed for (4): no second matmul."""
        return -self._visible_term(v, self.vbias.data) - kernel("softplus")(hidden_logits).sum(axis=1)

    def fit(self, X: Any, y: Any = None, *, epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, k: Optional[int] = None, persistent: Optional[bool] = None,
            momentum: Optional[Momentum] = None, momentum_epochs: Optional[int] = None,
            weight_decay: Optional[float] = None, lr_decay: Optional[bool] = None, seed: Optional[int] = None,
            progress: bool = True, probabilities: bool = False, checkpoint: Optional[str] = None,
            resume: Optional[str] = None) -> "RBM":
        """Train by CD-k (or PCD-k when `persistent`) with SGD on the update (6); None settings are
        RBMDefaults.for_visible(visible).

        y              ignored (an RBM is unsupervised); None or one label per row, as a Pipeline passes
        momentum       a pair (initial, final), switched after `momentum_epochs`; a number: constant
        weight_decay   L2 penalty on W (not on the biases)
        lr_decay       the learning rate falls linearly to 0 over the run (Tieleman 2008)
        probabilities  Bernoulli visibles only: X holds probabilities p(v = 1) in [0, 1] (e.g. grey
                       levels) rather than binary values
        Returns self; `self.history` holds mean F(v_data) - mean F(v_model) per logged step, at the
        parameters that step's update (6) was computed from.
        """
        s = self.settings(epochs=epochs, batch_size=batch_size, lr=lr, k=k, persistent=persistent,
                          momentum=momentum, momentum_epochs=momentum_epochs, weight_decay=weight_decay,
                          lr_decay=lr_decay)
        initial_momentum, final_momentum = _momentum_pair(s.momentum)
        X = self._training_data(X, probabilities)
        _check_ignored_labels(y, len(X))
        if s.k < 1:
            raise ValueError(f"RBM.fit: k must be at least 1, got {s.k}")
        seed = self.seed if seed is None else seed
        autograd.manual_seed(seed)
        rng = autograd.random.generator(self.W.device)
        self._init_from_data(X)
        if s.persistent:
            self.persistent_chains = self._sample_base(s.batch_size, self.base_vbias, rng)
        weight_opt = optim.SGD([self.W], lr=s.lr, momentum=initial_momentum, weight_decay=s.weight_decay)
        bias_opt = optim.SGD([self.vbias, self.hbias], lr=s.lr, momentum=initial_momentum)
        steps_per_epoch = math.ceil(len(X) / s.batch_size)
        total_steps = s.epochs * steps_per_epoch

        def step(batch):
            for opt in (weight_opt, bias_opt):
                initial = opt.step_count < s.momentum_epochs * steps_per_epoch
                opt.hyperparameters["momentum"] = initial_momentum if initial else final_momentum
                opt.lr = s.lr * (1 - opt.step_count / total_steps) if s.lr_decay else s.lr
            grads, _, gap = self._cd_gradients(batch, s.k, s.persistent, rng)
            for p, g in zip((self.W, self.vbias, self.hbias), grads):
                p.grad = autograd.Tensor(g)
            weight_opt.step()
            bias_opt.step()
            return {"free_energy_gap": gap}             # on the device: the loop reads it back lazily

        self.history = train(self, X, step, [weight_opt, bias_opt], epochs=s.epochs, batch_size=s.batch_size,
                             seed=seed, progress=progress, checkpoint=checkpoint, resume=resume,
                             description="RBM")
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_settings: Any) -> np.ndarray:
        """fit(X, y, **fit_settings), then transform(X) (scikit-learn's transformer habit)."""
        return self.fit(X, y, **fit_settings).transform(X)

    # -- scikit-learn's estimator interface -----------------------------------------------------
    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor arguments (scikit-learn's clone rebuilds the RBM from them)."""
        return dict(self.config)

    def set_params(self, **params: Any) -> "RBM":
        """The RBM rebuilt with some constructor arguments changed; its parameters start afresh."""
        unknown = sorted(set(params) - set(self.config))
        if unknown:
            raise ValueError(f"RBM.set_params: unknown parameter(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(self.config))}")
        type(self).__init__(self, **{**self.config, **params})
        return self

    # -- partition function and likelihoods --------------------------------------------------------
    @overload
    def log_partition(self, method: str = ..., n_chains: int = ..., n_betas: int = ..., seed: Seed = ...,
                      return_std: Literal[False] = ...) -> float: ...

    @overload
    def log_partition(self, method: str = ..., n_chains: int = ..., n_betas: int = ..., seed: Seed = ..., *,
                      return_std: Literal[True]) -> Tuple[float, float]: ...

    def log_partition(self, method: str = "exact", n_chains: int = 100, n_betas: int = 14500, seed: Seed = 0,
                      return_std: bool = False) -> Union[float, Tuple[float, float]]:
        """log Z: "exact" enumerates the smaller layer, (7)/(7g)/(7v); "ais" runs (10)-(11) with
        `n_chains` chains and `n_betas` transitions.  return_std: also the standard error of the
        estimate (the delta-method std of log mean w over chains; 0.0 for "exact")."""
        if method == "exact":
            log_z, std = self._exact_log_partition(), 0.0
        elif method == "ais":
            log_z, std = self._ais_log_partition(n_chains, n_betas, seed)
        else:
            raise ValueError(f"RBM.log_partition: method must be 'exact' or 'ais', not {method!r}")
        return (log_z, std) if return_std else log_z

    def _enumerated_layer(self):
        """(whether exact log Z sums over the hidden states, the number of units it enumerates): the
        smaller layer, and always the hidden one for Gaussian visibles (their sum is an integral)."""
        over_hidden = self.visible == "gaussian" or self.n_hidden <= self.n_visible
        return over_hidden, self.n_hidden if over_hidden else self.n_visible

    def _exact_log_partition(self):
        over_hidden, n_bits = self._enumerated_layer()
        if n_bits > MAX_EXACT_BITS:
            raise ValueError(f"RBM.log_partition: exact enumeration of 2^{n_bits} states is too many "
                             f"(at most 2^{MAX_EXACT_BITS}); use method='ais'")
        W, b, c, _ = self._parameters64()
        xp = array_module(W)
        terms = self._hidden_log_weights if over_hidden else self._visible_log_weights
        chunks = [_logsumexp(terms(_binary_states(start, min(start + ENUMERATION_CHUNK, 2 ** n_bits),
                                                   n_bits, xp), W, b, c))
                  for start in range(0, 2 ** n_bits, ENUMERATION_CHUNK)]
        return float(_logsumexp(xp.stack(chunks)))

    def _hidden_log_weights(self, h, W, b, c):
        """log sum_v exp(-E(v, h)) for each row of h: (7) or (7g)."""
        field = h @ W.T                                                                  # (m, D)
        if self.visible == "bernoulli":
            return h @ c + kernel("softplus")(field + b).sum(axis=1)                     # (7)
        return (h @ c + field @ b + 0.5 * (field ** 2).sum(axis=1)
                + 0.5 * self.n_visible * math.log(2 * math.pi))                          # (7g)

    def _visible_log_weights(self, v, W, b, c):
        """-F(v) for each row of v: (7v)."""
        with autograd.no_grad():
            return -self._free_energy(*(autograd.Tensor(a) for a in (v, W, b, c))).data

    def _ais_log_partition(self, n_chains, n_betas, seed):
        W, b, c, base = self._parameters64()
        xp = array_module(W)
        rng = seeded_generator(seed, self.W.device)
        betas = ais_betas(n_betas).tolist()
        v = self._sample_base(n_chains, base, rng)                                        # v_1 ~ p_A
        log_w = xp.zeros(n_chains)
        for previous, beta in zip(betas[:-1], betas[1:]):
            hidden_input = v @ W + c                                                      # (M, H)
            log_w += self._ais_log_ratio(v, hidden_input, b, base, previous, beta)         # (10)
            if beta < 1.0:
                v = self._ais_transition(hidden_input, W, b, base, beta, rng)
        log_z_base = self.n_hidden * math.log(2) + (
            float(kernel("softplus")(base).sum()) if self.visible == "bernoulli"
            else 0.5 * self.n_visible * math.log(2 * math.pi))                             # (9)
        log_mean_w = float(_logsumexp(log_w)) - math.log(n_chains)
        weights = xp.exp(log_w - log_w.max())
        std = float(weights.std() / (math.sqrt(n_chains) * weights.mean()))
        return log_z_base + log_mean_w, std                                               # (11)

    def _ais_log_ratio(self, v, hidden_input, b, base, previous, beta):
        """log p*_beta(v) - log p*_previous(v) by (8)."""
        softplus = kernel("softplus")
        visible = self._visible_term(v, b) - self._visible_term(v, base)
        return ((beta - previous) * visible
                + (softplus(beta * hidden_input) - softplus(previous * hidden_input)).sum(axis=1))

    def _ais_transition(self, hidden_input, W, b, base, beta, rng):
        """One sweep of T_beta: h by (4) with inputs scaled by beta, then v in the mixed field."""
        h = kernel("sample_bernoulli")(beta * hidden_input, rng.random(hidden_input.shape))[1]
        return self._draw_visible((1 - beta) * base + beta * (h @ W.T + b), rng)

    def log_prob(self, X: Any, log_z: Optional[float] = None) -> np.ndarray:
        """log p(x) = -F(x) - log Z per row, (3), a NumPy array (n,).  log Z: as given (e.g. from AIS),
        else exact or by AIS as `likelihood_kind` says."""
        v = self._data(X, "log_prob").astype(np.float64)
        if log_z is None:
            log_z = self.log_partition("exact" if self.likelihood_kind == "exact" else "ais")
        W, b, c, _ = self._parameters64()
        return to_numpy(self._visible_log_weights(v, W, b, c) - log_z)

    def pseudo_log_likelihood(self, X: Any) -> np.ndarray:
        """sum_i log p(x_i | x_-i) per row by (12), a NumPy array (n,): the pseudo-likelihood, not the
        likelihood."""
        if self.visible != "bernoulli":
            raise ValueError("RBM.pseudo_log_likelihood: defined here for Bernoulli visibles only")
        X = self._data(X, "pseudo_log_likelihood").astype(np.float64)
        W, b, c, _ = self._parameters64()
        hidden_input = X @ W + c                                                          # (n, H)
        sign = 1 - 2 * X                                                                  # +1 turns a 0 on
        flipped_input = hidden_input[:, None, :] + sign[:, :, None] * W[None]             # (n, D, H)
        softplus = kernel("softplus")
        free_gap = (-sign * b - softplus(flipped_input).sum(axis=2)
                    + softplus(hidden_input).sum(axis=1, keepdims=True))                  # F(x~i) - F(x)
        return to_numpy((-softplus(-free_gap)).sum(axis=1))                               # (12)


def _momentum_pair(momentum: Momentum) -> Tuple[float, float]:
    if isinstance(momentum, (tuple, list)):
        return float(momentum[0]), float(momentum[1])
    return float(momentum), float(momentum)


def _check_ignored_labels(y: Any, n: int) -> None:
    """y must be None or hold one label per row: a Pipeline passes labels; anything else is a mistake
    (such as the number of epochs given in y's place)."""
    if y is not None and np.shape(y)[:1] != (n,):
        given = repr(y) if np.ndim(y) == 0 else f"shape {np.shape(y)}"
        raise TypeError(f"RBM.fit: y is ignored (an RBM is unsupervised) but must be None or one label "
                        f"per row ({n}), got {given}; pass the settings by keyword, e.g. epochs=10")
