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
"""
import numpy as np

from autograd import nn
from autograd.backend import array_module, kernel, to_numpy
from minigen import kernels  # noqa: F401  (registers the model kernels: Gibbs, Langevin, DDPM)

from .base import GenerativeModel
from .rbm import RBM, _generator


def _bernoulli_log_prob(bits, logits):
    """log Bernoulli(bits; sigmoid(logits)) summed over units: bits * l - softplus(l)."""
    return (bits * logits - kernel("softplus")(logits)).sum(axis=1)


class DBN(GenerativeModel):
    """A stack of Bernoulli RBMs trained greedily; layer_sizes = (n_visible, hidden_1, ..., hidden_L)."""

    def __init__(self, layer_sizes, seed=0):
        layer_sizes = [int(n) for n in layer_sizes]
        if len(layer_sizes) < 2 or min(layer_sizes) < 1:
            raise ValueError(f"DBN: layer_sizes needs at least two positive sizes, got {layer_sizes}")
        super().__init__(layer_sizes=layer_sizes, seed=seed)
        self.layer_sizes, self.seed = layer_sizes, seed
        self.rbms = nn.Sequential(*(RBM(n_in, n_out, seed=seed + i) for i, (n_in, n_out)
                                    in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]))))

    def fit(self, X, epochs=None, batch_size=None, lr=None, k=1, persistent=False, momentum=None,
            weight_decay=None, seed=None, progress=True):
        """Greedy layer-wise training (3): each RBM by rbm.RBM.fit with these arguments."""
        seed = self.seed if seed is None else seed
        layer_input = X
        for i, rbm in enumerate(self.rbms):
            rbm.fit(layer_input, epochs=epochs, batch_size=batch_size, lr=lr, k=k, persistent=persistent,
                    momentum=momentum, weight_decay=weight_decay, seed=seed + i, progress=progress)
            layer_input = rbm.hidden_probabilities(layer_input)                       # (3), (n, H_l)
        return self

    def sample(self, n, gibbs_steps=1000, seed=None, probabilities=False):
        """n samples by (4), a NumPy array (n, n_visible); probabilities: the last step's
        p(x = 1 | h_1) instead (for a single RBM, whose samples come from Gibbs, the samples)."""
        rng = _generator(seed, self.rbms[0].W.device)
        top = self.rbms[-1]
        h = top._gibbs(top._sample_base(n, top.base_vbias, rng), gibbs_steps, rng)       # (n, H_L-1)
        for rbm in reversed(self.rbms[:-1]):
            if probabilities and rbm is self.rbms[0]:
                return to_numpy(kernel("sigmoid")(h @ rbm.W.data.T + rbm.vbias.data))  # (2)
            h = rbm._sample_visible(h, rng)                                             # (2), (n, H_l)
        return to_numpy(h)

    def log_prob_bound(self, X, log_z=None, method="ais", n_samples=100, seed=0):
        """The variational lower bound (5) on log p(x) per row, a Monte Carlo average over
        `n_samples` draws of q, a NumPy array (n,); log_z: the top RBM's log partition (else computed
        by `method`)."""
        top = self.rbms[-1]
        if log_z is None:
            log_z = top.log_partition(method, seed=seed)
        X = self.rbms[0]._as_visible(X, "X").astype(np.float64)
        xp = array_module(X)
        rng = _generator(seed, self.rbms[0].W.device)
        h = xp.repeat(X, n_samples, axis=0)                                             # (n S, D)
        log_ratio = xp.zeros(len(h))
        for rbm in self.rbms[:-1]:
            W, b, c, _ = rbm._parameters64()
            up_logits = h @ W + c                                                       # (3), (n S, H)
            h_up = kernel("sample_bernoulli")(up_logits, rng.random(up_logits.shape))[1]
            log_ratio += (_bernoulli_log_prob(h, h_up @ W.T + b)                          # (2)
                          - _bernoulli_log_prob(h_up, up_logits))
            h = h_up
        log_ratio += top._log_prob(h, log_z=log_z)                                      # (6)
        return to_numpy(log_ratio.reshape(len(X), n_samples).mean(axis=1))              # (5), (n,)
