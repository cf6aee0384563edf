"""Autoregressive transformers: the LLM slide at toy scale (Vaswani et al. 2017; Radford et al. 2018),
and image-GPT on 8x8 binary digits (Chen et al. 2020, DALL-E 1's autoregressive half).

A sequence model factorizes p(s_1, ..., s_T) = prod_t p(s_t | s_<t)                        (1)
with every conditional computed in one pass by a decoder-only transformer:
    h_0 = E[s] + P[0..T-1]                  token and learned position embeddings            (2)
    h <- h + Attn(LN(h)),   h <- h + MLP(LN(h))      for each of n_layer blocks (pre-norm)  (3)
    Attn(x) = concat_heads softmax(Q K^T / sqrt(d_head) + causal mask) V, then a projection (4)
    causal mask: position t attends to positions <= t only (-inf above the diagonal)        (5)
    logits = W_out LN(h)                      p(s_t+1 | s_<=t) = softmax(logits_t)           (6)
    MLP(x) = W_2 GELU(W_1 x),  GELU(x) ~ 0.5 x (1 + tanh(c (x + k x^3))),  c = sqrt(2/pi),
    k = 0.044715 (GPT-2's tanh approximation)                                                (7)
The masked softmax of (4)-(5) is a single Function here, and GELU and layer norm are the engine's
fused ones (autograd/ops/fused.py): forward in place on arrays, backward as Tensor operations, so
still twice differentiable.  They act on the step's largest tensors, (B, H, T, T), (B, T, 4C) and
(B, T, C), where a chain of small ops would allocate one array each (together they make a training
step of the issue's configuration about 1.7x faster).
Training minimizes the cross-entropy of next-token prediction.  Generation samples one token at a
time from softmax(logits / temperature), optionally keeping only the top-k logits, feeding each
sample back in (cropped to the last block_size tokens).
"""
import math

import numpy as np

import autograd as ag
from autograd import Function, nn, optim
from autograd.nn import functional as F

from ..train import objective_step, train
from .base import GenerativeModel


_FUTURE_MASKS = {}


def _future_mask(T, xp, dtype):
    """(T, T): 0 where key <= query, -inf above the diagonal, built once per length      (5)"""
    key = (T, xp.__name__, np.dtype(dtype).str)
    if key not in _FUTURE_MASKS:
        above = xp.triu(xp.ones((T, T), dtype=bool), k=1)
        _FUTURE_MASKS[key] = xp.where(above, -np.inf, 0).astype(dtype)
    return _FUTURE_MASKS[key]


class CausalSoftmax(Function):
    """y = softmax(scale s + future mask) over keys, in one node                          (4), (5)

    Backward: gs = scale y (gy - sum_keys gy y)  (masked entries have y = 0, so get no gradient).
    """

    def __init__(self, scale):
        self.scale = scale

    def forward(self, scores):
        z = scores * self.scale
        z += _future_mask(scores.shape[-1], self.xp, scores.dtype)
        z -= z.max(axis=-1, keepdims=True)
        self.xp.exp(z, out=z)
        z /= z.sum(axis=-1, keepdims=True)
        return z

    def backward(self, gy):
        return SoftmaxGrad(self.scale)(gy, self.output)


class SoftmaxGrad(Function):
    """gs = scale y (gy - r),  r = sum_keys gy y:  softmax's backward as one node.

    d/dgy = SoftmaxGrad(g, y) again;  d/dy = scale (g (gy - r) - gy sum_keys g y).
    """

    def __init__(self, scale):
        self.scale = scale

    def forward(self, gy, y):
        gs = gy - (gy * y).sum(axis=-1, keepdims=True)
        gs *= y
        gs *= self.scale
        return gs

    def backward(self, g):
        gy, y = self.inputs
        needs_gy, needs_y = self.needs_input_grad
        g_gy = SoftmaxGrad(self.scale)(g, y) if needs_gy else None
        if not needs_y:
            return g_gy, None
        r = (gy * y).sum(axis=-1, keepdims=True)
        return g_gy, self.scale * (g * (gy - r) - gy * (g * y).sum(axis=-1, keepdims=True))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd {n_embd} is not divisible by n_head {n_head}")
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        head = C // self.n_head
        qkv = self.qkv(x).reshape(B, T, 3, self.n_head, head).transpose(2, 0, 3, 1, 4)   # (3, B, H, T, d)
        q, k, v = qkv[0], qkv[1], qkv[2]                                                  # (B, H, T, d)
        weights = CausalSoftmax(1 / math.sqrt(head))(q @ k.swapaxes(-1, -2))             # (B, H, T, T)  (4), (5)
        attended = weights @ v                                                            # (B, H, T, d)  (4)
        return self.proj(attended.transpose(0, 2, 1, 3).reshape(B, T, C))               # (B, T, C)


class Block(nn.Module):
    """One pre-norm transformer block (3)."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln2 = nn.LayerNorm(n_embd)
        self.fc = nn.Linear(n_embd, 4 * n_embd)
        self.fc_out = nn.Linear(4 * n_embd, n_embd)

    def forward(self, h):
        h = h + self.attn(self.ln1(h))                                                    # (3)
        return h + self.fc_out(F.gelu(self.fc(self.ln2(h))))                              # (3), (7)


class GPT(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab)."""

    def __init__(self, vocab_size, n_layer, n_head, n_embd, block_size):
        super().__init__()
        self.block_size = block_size
        self.token_embedding = nn.Embedding(vocab_size, n_embd)
        self.position_embedding = nn.Embedding(block_size, n_embd)
        for table in (self.token_embedding, self.position_embedding):
            table.weight.data *= 0.02                                  # GPT-2's N(0, 0.02^2) tables
        self.blocks = nn.Sequential(*[Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_final = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size)

    def forward(self, tokens):
        T = tokens.shape[1]
        if T > self.block_size:
            raise ValueError(f"GPT: sequence of length {T} is longer than block_size {self.block_size}")
        h = self.token_embedding(tokens) + self.position_embedding(np.arange(T))         # (B, T, C)  (2)
        return self.head(self.ln_final(self.blocks(h)))                                   # (B, T, V)  (6)


def _sample_token(logits, temperature, top_k, rng):
    """One draw from softmax(logits / temperature) restricted to the top-k logits."""
    logits = logits.astype(np.float64) / max(temperature, 1e-8)
    if top_k is not None and top_k < len(logits):
        cutoff = np.sort(logits)[-top_k]
        logits = np.where(logits < cutoff, -np.inf, logits)
    probabilities = np.exp(logits - logits.max())
    return rng.choice(len(logits), p=probabilities / probabilities.sum())


VOCABULARY = "\n" + "".join(chr(c) for c in range(32, 127))   # newline and printable ASCII
UNKNOWN = len(VOCABULARY)                                     # every other character


class CharTransformer(GenerativeModel):
    """A character-level GPT over newline, printable ASCII and one token for everything else."""

    def __init__(self, n_layer=2, n_head=4, n_embd=128, block_size=128, seed=0):
        super().__init__(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, seed=seed)
        self.block_size, self.seed = block_size, seed
        ag.manual_seed(seed)
        self.index = {c: i for i, c in enumerate(VOCABULARY)}
        self.gpt = GPT(len(VOCABULARY) + 1, n_layer, n_head, n_embd, block_size)

    def encode(self, text):
        return np.array([self.index.get(c, UNKNOWN) for c in text], dtype=np.int64)

    def decode(self, tokens):
        return "".join(VOCABULARY[t] if t < UNKNOWN else "?" for t in tokens)

    def _windows(self, tokens, starts):
        xp = ag.backend.array_module(tokens)             # windows cut where the tokens live: no host trip
        windows = tokens[xp.asarray(starts)[:, None] + xp.arange(self.block_size + 1)]   # (B, T + 1)
        return windows[:, :-1], windows[:, 1:]

    def loss(self, tokens, starts):
        """Mean next-character cross-entropy (nats) over windows starting at `starts`."""
        inputs, targets = self._windows(tokens, starts)
        return F.cross_entropy(self.gpt(inputs), targets)

    def fit(self, text, steps=None, batch_size=None, lr=None, weight_decay=None, seed=None, progress=True,
            checkpoint=None, checkpoint_every=None, resume=None):
        """AdamW on random windows of `text` (defaults: 3,000 steps, batch 32, lr 1e-3, PyTorch's
        weight decay 0.01).  checkpoint / checkpoint_every (steps) / resume go to `train`, so a long
        run can be stopped and continued; the loss history is kept in `self.history`."""
        tokens = self.encode(text)
        if len(tokens) <= self.block_size + 1:
            raise ValueError(f"CharTransformer.fit: text of {len(tokens)} characters is shorter than "
                             f"one window of {self.block_size + 1}")
        optimizer = optim.AdamW(self.parameters(), lr=1e-3 if lr is None else lr,
                                weight_decay=0.01 if weight_decay is None else weight_decay)
        starts = np.arange(len(tokens) - self.block_size - 1)
        tokens = ag.backend.to_device(tokens, ag.backend.default_device())     # beside the batches of starts
        step = objective_step(lambda batch: self.loss(tokens, batch), optimizer)
        self.history = train(self, starts, step, optimizer, steps=3000 if steps is None else steps,
                             batch_size=32 if batch_size is None else batch_size,
                             seed=self.seed if seed is None else seed, progress=progress,
                             description="CharTransformer", checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume)
        return self

    def bits_per_char(self, text, batch_size=32):
        """Held-out cross-entropy in bits per character, over consecutive windows of block_size."""
        tokens = self.encode(text)
        starts = np.arange(0, len(tokens) - self.block_size - 1, self.block_size)
        total = 0.0
        with ag.no_grad():
            for i in range(0, len(starts), batch_size):
                chunk = starts[i:i + batch_size]
                total += float(self.loss(tokens, chunk).item()) * len(chunk) * self.block_size
        return total / (len(starts) * self.block_size) / math.log(2)

    def generate(self, prompt, max_new_tokens, temperature=1.0, top_k=None, seed=None):
        """Continue `prompt` by sampling max_new_tokens characters."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        tokens = list(self.encode(prompt)) or [self.index["\n"]]
        first_new = len(tokens)
        with ag.no_grad():
            for _ in range(max_new_tokens):
                context = np.array([tokens[-self.block_size:]])
                logits = self.gpt(context).numpy()[0, -1, :UNKNOWN]      # never emit the unknown token
                tokens.append(_sample_token(logits, temperature, top_k, rng))
        return self.decode(tokens[first_new:])

    def sample(self, n, seed=None):
        """n characters generated from a newline."""
        return self.generate("\n", n, seed=seed)


class PixelTransformer(GenerativeModel):
    """Image-GPT on binary images: p(x) = prod_d p(x_d | x_<d) in raster order, one transformer pass (1)."""

    START = 2                                                    # tokens: 0, 1, and the start token

    def __init__(self, n_input=64, n_layer=2, n_head=4, n_embd=64, seed=0):
        super().__init__(n_input=n_input, n_layer=n_layer, n_head=n_head, n_embd=n_embd, seed=seed)
        self.n_input, self.seed = n_input, seed
        ag.manual_seed(seed)
        self.gpt = GPT(3, n_layer, n_head, n_embd, n_input)

    def _inputs(self, X):
        """(inputs, targets): the pixels shifted right behind a start token, and the pixels: (n, D) each,
        on the device of X (the binary check reads one flag back, as the embedding's bounds check does)."""
        X = X if hasattr(X, "shape") else np.asarray(X)
        xp = ag.backend.array_module(X)
        if X.ndim != 2 or X.shape[1] != self.n_input or bool(xp.any((X != 0) & (X != 1))):
            raise ValueError(f"PixelTransformer: expected binary data (n, {self.n_input}), got {X.shape} "
                             f"with values {ag.backend.to_numpy(xp.unique(X))[:5]}")
        X = X.astype(np.int64)
        start = xp.full((len(X), 1), self.START)
        return xp.concatenate([start, X[:, :-1]], axis=1), X                # (n, D): shifted right by one

    def nll(self, X):
        """-log p(x) per image, summed over pixels: (B,)"""
        inputs, targets = self._inputs(X)
        logits = self.gpt(inputs)[:, :, :2]                                  # (B, D, 2): pixel values only
        return F.cross_entropy(logits, targets, reduction="none").sum(axis=1)

    def fit(self, X, epochs=None, batch_size=None, lr=None, seed=None, progress=True):
        """AdamW (lr 3e-3, weight decay 0.01) on the batch mean of -log p(x): 70 epochs of batches of 100.

        The epochs were chosen on a validation split of the digits' training set (fit on 1200,
        validate on 297): 17.96 nats at epoch 50, 17.80 at 65 and 70, 18.32 at 80 (overfitting).
        """
        optimizer = optim.AdamW(self.parameters(), lr=3e-3 if lr is None else lr, weight_decay=0.01)
        step = objective_step(lambda batch: self.nll(batch).mean(), optimizer)
        train(self, np.asarray(ag.backend.to_numpy(X), dtype=np.float32), step, optimizer, epochs=70 if epochs is None else epochs,
              batch_size=100 if batch_size is None else batch_size, seed=self.seed if seed is None else seed,
              progress=progress, description="PixelTransformer")
        return self

    def log_prob(self, X, batch_size=500):
        """Exact log p(x) in nats: (n,)"""
        with ag.no_grad():
            chunks = [-self.nll(X[i:i + batch_size]).numpy() for i in range(0, len(X), batch_size)]
        return np.concatenate(chunks).astype(np.float64)

    def sample(self, n, seed=None):
        """Ancestral sampling in raster order: one pass per pixel over the pixels drawn so far (1)."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        x = np.zeros((n, self.n_input), dtype=np.float32)
        with ag.no_grad():
            for d in range(self.n_input):
                inputs, _ = self._inputs(x)
                logits = self.gpt(inputs[:, :d + 1]).numpy()[:, d, :2]         # (n, 2)
                p_one = 1 / (1 + np.exp(logits[:, 0] - logits[:, 1]))
                x[:, d] = rng.random(n) < p_one
        return x
