"""Autoregressive transformers: the LLM slide at toy scale (Vaswani et al. 2017; Radford et al. 2018),
image-GPT on 8x8 binary digits (Chen et al. 2020, DALL-E 1's autoregressive half), and preference
tuning by direct preference optimization (Rafailov et al. 2023, DPO).

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
step of the default character model about 1.7x faster).
Training minimizes the cross-entropy of next-token prediction.  Generation samples one token at a
time from softmax(logits / temperature), optionally keeping only the top-k logits, feeding each
sample back in (cropped to the last block_size tokens).  The character model's density is the
same product, each factor given the last block_size tokens (L = block_size):
    log pi(y | x) = sum_t log p(y_t | last L tokens of x y_<t)      prompt x, completion y      (8)

DPO tunes the model pi on triples (x, y_w, y_l), a prompt with a preferred and a dispreferred
completion, against a frozen reference pi_ref (the model before tuning):
    r(x, y) = beta log pi(y | x) / pi_ref(y | x)               the implicit reward            (9)
    L = -mean log sigmoid(r(x, y_w) - r(x, y_l))                                               (10)
(10) is the likelihood of a Bradley-Terry preference model whose reward is (9): its minimizer is
the policy pi = pi_ref exp(r / beta) / Z(x) that maximizes E[r] - beta KL(pi || pi_ref), so no
reward model is trained and no sampling happens during tuning; beta sets how far pi may move.
"""
import copy
import math
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

import autograd as ag
from autograd import Function, nn, optim
from autograd.nn import functional as F
from autograd.tensor import Array, Tensor

from ..train import objective_step, train
from .base import GenerativeModel
from .common import seeded_generator


_FUTURE_MASKS: Dict[Tuple[int, str, str], Array] = {}          # (T, array module, dtype) -> mask


def _future_mask(T, xp, dtype):
    """(T, T): 0 where key <= query, -inf above the diagonal, built once per length      (5)"""
    key = (T, xp.__name__, np.dtype(dtype).str)
    if key not in _FUTURE_MASKS:
        above = xp.triu(xp.ones((T, T), dtype=bool), k=1)
        _FUTURE_MASKS[key] = xp.where(above, -np.inf, 0).astype(dtype)
    return _FUTURE_MASKS[key]


def causal_softmax_reference(scores: ag.Tensor, scale: float) -> ag.Tensor:
    """(4), (5) in the engine's own ops, to read and to test CausalSoftmax against: the same values
    and gradients, in three nodes and three temporaries instead of one."""
    mask = _future_mask(scores.shape[-1], ag.backend.array_module(scores.data), scores.dtype)
    return ag.softmax(scores * scale + ag.Tensor(mask), axis=-1)


class CausalSoftmax(Function):
    """y = softmax(scale s + future mask) over keys, in one node                          (4), (5)

    Backward: gs = scale y (gy - sum_keys gy y)  (masked entries have y = 0, so get no gradient).
    """

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def forward(self, scores: Array) -> Array:
        z = scores * self.scale
        z += _future_mask(scores.shape[-1], self.xp, scores.dtype)
        z -= z.max(axis=-1, keepdims=True)
        self.xp.exp(z, out=z)
        z /= z.sum(axis=-1, keepdims=True)
        return z

    def backward(self, gy: Tensor) -> Tensor:
        return SoftmaxGrad(self.scale)(gy, self.output)


class SoftmaxGrad(Function):
    """gs = scale y (gy - r),  r = sum_keys gy y:  softmax's backward as one node.

    d/dgy = SoftmaxGrad(g, y) again;  d/dy = scale (g (gy - r) - gy sum_keys g y).
    """

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def forward(self, gy: Array, y: Array) -> Array:
        gs = gy - (gy * y).sum(axis=-1, keepdims=True)
        gs *= y
        gs *= self.scale
        return gs

    def backward(self, g: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        gy, y = self.inputs
        needs_gy, needs_y = self.needs_input_grad
        g_gy = SoftmaxGrad(self.scale)(g, y) if needs_gy else None
        if not needs_y:
            return g_gy, None
        r = (gy * y).sum(axis=-1, keepdims=True)
        return g_gy, self.scale * (g * (gy - r) - gy * (g * y).sum(axis=-1, keepdims=True))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd {n_embd} is not divisible by n_head {n_head}")
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        head = C // self.n_head
        qkv = self.qkv(x).reshape(B, T, 3, self.n_head, head).transpose(2, 0, 3, 1, 4)   # (3, B, H, T, d)
        q, k, v = qkv[0], qkv[1], qkv[2]                                                  # (B, H, T, d)
        weights = CausalSoftmax(1 / math.sqrt(head))(q @ k.swapaxes(-1, -2))             # (B, H, T, T)  (4), (5)
        attended = weights @ v                                                            # (B, H, T, d)  (4)
        return self.proj(attended.transpose(0, 2, 1, 3).reshape(B, T, C))               # (B, T, C)


class Block(nn.Module):
    """One pre-norm transformer block (3)."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln2 = nn.LayerNorm(n_embd)
        self.fc = nn.Linear(n_embd, 4 * n_embd)
        self.fc_out = nn.Linear(4 * n_embd, n_embd)

    def forward(self, h: Tensor) -> Tensor:
        h = h + self.attn(self.ln1(h))                                                    # (3)
        return h + self.fc_out(F.gelu(self.fc(self.ln2(h))))                              # (3), (7)


class GPT(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab)."""

    def __init__(self, vocab_size: int, n_layer: int, n_head: int, n_embd: int, block_size: int) -> None:
        super().__init__()
        self.block_size = block_size
        self.token_embedding = nn.Embedding(vocab_size, n_embd)
        self.position_embedding = nn.Embedding(block_size, n_embd)
        for table in (self.token_embedding, self.position_embedding):
            table.weight.data *= 0.02                                  # GPT-2's N(0, 0.02^2) tables
        self.blocks = nn.Sequential(*[Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_final = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size)

    def forward(self, tokens: Array) -> Tensor:
        T = tokens.shape[1]
        if T > self.block_size:
            raise ValueError(f"GPT: sequence of length {T} is longer than block_size {self.block_size}")
        h = self.token_embedding(tokens) + self.position_embedding(np.arange(T))         # (B, T, C)  (2)
        return self.head(self.ln_final(self.blocks(h)))                                   # (B, T, V)  (6)


def _sample_tokens(logits, temperature, top_k, rng):
    """One draw per row of logits (B, V) from softmax(logits / temperature), restricted to the row's
    top-k logits, by inverting the cumulative distribution: (B,)."""
    logits = logits.astype(np.float64) / max(temperature, 1e-8)
    if top_k is not None and top_k < logits.shape[1]:
        cutoff = np.sort(logits, axis=1)[:, [-top_k]]                           # (B, 1)
        logits = np.where(logits < cutoff, -np.inf, logits)
    cumulative = np.cumsum(np.exp(logits - logits.max(axis=1, keepdims=True)), axis=1)   # (B, V)
    uniform = rng.random((len(logits), 1)) * cumulative[:, -1:]                 # (B, 1)
    return np.minimum((cumulative <= uniform).sum(axis=1), logits.shape[1] - 1)


VOCABULARY = "\n" + "".join(chr(c) for c in range(32, 127))   # newline and printable ASCII
UNKNOWN = len(VOCABULARY)                                     # every other character
NEWLINE = 0                                                   # the context of an empty prompt


def dpo_loss(chosen: ag.Tensor, rejected: ag.Tensor, reference_chosen: ag.Tensor, reference_rejected: ag.Tensor,
             beta: float) -> ag.Tensor:
    """(10): -mean log sigmoid(r_w - r_l) from the log-probabilities (8) of the chosen and rejected
    completions under the model and the reference, each (P,); a scalar Tensor."""
    reward_margin = beta * ((chosen - reference_chosen) - (rejected - reference_rejected))   # (9): r_w - r_l
    return -ag.logsigmoid(reward_margin).mean()


@dataclass
class CharTransformerDefaults:
    """fit: AdamW on random windows of the text (PyTorch's weight decay 0.01).  dpo_*: Adam on the
    DPO loss (10) over minibatches of preference pairs (the settings of demo 62's full mode)."""
    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    dpo_steps: int = 100
    dpo_batch_size: int = 32
    dpo_lr: float = 3e-4


class CharTransformer(GenerativeModel):
    """A character-level GPT over newline, printable ASCII and one token for everything else.

    Its data is text: fit(text) on one string (or a list of documents, joined by newlines),
    sample(n) -> a string of n characters continuing a newline, log_prob(texts) -> (n,) exact
    log p(text | newline) of each string, by (1) with each conditional from the last block_size
    characters, as `generate` draws them (8).
    """

    likelihood_kind = "exact"
    Defaults = CharTransformerDefaults

    def __init__(self, n_layer: int = 2, n_head: int = 4, n_embd: int = 128, block_size: int = 128,
                 seed: int = 0) -> None:
        super().__init__(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, seed=seed)
        self.block_size, self.seed = block_size, seed
        self.history: Dict[str, List[float]] = {}
        ag.manual_seed(seed)
        self.index = {c: i for i, c in enumerate(VOCABULARY)}
        self.gpt = GPT(len(VOCABULARY) + 1, n_layer, n_head, n_embd, block_size)

    def check_data(self, texts: Any, *, where: str = "fit", binary: Optional[bool] = None, dtype: Any = None,
                   device: Optional[str] = None) -> List[str]:
        """texts as a list of non-empty strings (one string is one text), or a one-line error naming
        the model.  Text has no dtype or device: the base's arguments of those names do not apply."""
        who = f"{self.name}.{where}"
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{who}: expected text (a str or a list of str), got a {type(texts).__name__}")
        if not texts or not all(texts):
            raise ValueError(f"{who}: the text is empty")
        return list(texts)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index.get(c, UNKNOWN) for c in text], dtype=np.int64)

    def decode(self, tokens: Iterable[int]) -> str:
        return "".join(VOCABULARY[t] if t < UNKNOWN else "?" for t in tokens)

    def _corpus_tokens(self, text, where):
        """The tokens of a checked text long enough for one training window."""
        tokens = self.encode("\n".join(self.check_data(text, where=where)))
        if len(tokens) <= self.block_size + 1:
            raise ValueError(f"{self.name}.{where}: text of {len(tokens)} characters is shorter than "
                             f"one window of {self.block_size + 1}")
        return tokens

    def _windows(self, tokens, starts):
        xp = ag.backend.array_module(tokens)             # windows cut where the tokens live: no host trip
        windows = tokens[xp.asarray(starts)[:, None] + xp.arange(self.block_size + 1)]   # (B, T + 1)
        return windows[:, :-1], windows[:, 1:]

    def loss(self, tokens: Any, starts: Any) -> ag.Tensor:
        """Mean next-character cross-entropy (nats) over windows starting at `starts`."""
        inputs, targets = self._windows(tokens, starts)
        return F.cross_entropy(self.gpt(inputs), targets)

    def fit(self, text: Any, steps: Optional[int] = None, batch_size: Optional[int] = None, lr: Optional[float] = None,
            weight_decay: Optional[float] = None, seed: Optional[int] = None, progress: bool = True,
            checkpoint: Optional[str] = None, checkpoint_every: Optional[int] = None,
            resume: Optional[str] = None) -> "CharTransformer":
        """AdamW on random windows of `text`.  checkpoint / checkpoint_every (steps) / resume go to
        `train`, so a long run can be stopped and continued; the loss history is kept in `self.history`."""
        tokens = self._corpus_tokens(text, "fit")
        s = self.settings(steps=steps, batch_size=batch_size, lr=lr, weight_decay=weight_decay)
        optimizer = optim.AdamW(self.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        starts = np.arange(len(tokens) - self.block_size - 1)
        tokens = ag.backend.to_device(tokens, ag.backend.default_device())     # beside the batches of starts
        step = objective_step(lambda batch: self.loss(tokens, batch), optimizer)
        self.history = train(self, starts, step, optimizer, steps=s.steps, batch_size=s.batch_size,
                             seed=self.seed if seed is None else seed, progress=progress,
                             description="CharTransformer", checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume)
        return self

    def bits_per_char(self, text: Any, batch_size: int = 32) -> float:
        """Held-out cross-entropy in bits per character, over consecutive windows of block_size."""
        tokens = self._corpus_tokens(text, "bits_per_char")
        starts = np.arange(0, len(tokens) - self.block_size - 1, self.block_size)
        total = 0.0
        with ag.no_grad():
            for i in range(0, len(starts), batch_size):
                chunk = starts[i:i + batch_size]
                total += float(self.loss(tokens, chunk).item()) * len(chunk) * self.block_size
        return total / (len(starts) * self.block_size) / math.log(2)

    # -- exact log-probabilities of completions (8) ------------------------------------------------
    def _scoring_windows(self, prompt, completion):
        """Windows (inputs, targets, counted) that score every completion character from the last
        block_size tokens before it, as `generate` sees them (8).  Targets up to position block_size
        share one window from the start; each later one gets the block_size tokens before it."""
        context = list(self.encode(prompt)) or [NEWLINE]
        tokens = np.array(context + list(self.encode(completion)), dtype=np.int64)
        first, size = len(context), self.block_size
        shared_end = min(len(tokens), size + 1)
        windows = []
        if first < shared_end:
            windows.append((tokens[:shared_end - 1], tokens[1:shared_end], np.arange(1, shared_end) >= first))
        for target in range(max(first, size + 1), len(tokens)):
            window = tokens[target - size:target + 1]                               # (block_size + 1,)
            windows.append((window[:-1], window[1:], np.arange(size) == size - 1))
        return windows

    def completion_log_probs(self, pairs: Sequence[Tuple[str, str]]) -> ag.Tensor:
        """log pi(y | x) of (8) for each (prompt x, completion y) in `pairs`, batched: a (P,) Tensor,
        differentiable with respect to the model's parameters."""
        windows, owner = [], []
        for index, (prompt, completion) in enumerate(pairs):
            scoring = self._scoring_windows(prompt, completion)
            windows += scoring
            owner += [index] * len(scoring)
        dtype, device = self.gpt.head.weight.dtype, ag.backend.default_device()
        if not windows:
            return ag.zeros(len(pairs), dtype=dtype, device=device)
        length = max(len(inputs) for inputs, _, _ in windows)
        inputs, targets = (np.zeros((len(windows), length), dtype=np.int64) for _ in range(2))
        counted = np.zeros((len(windows), length), dtype=dtype)
        for row, (window_inputs, window_targets, window_counted) in enumerate(windows):
            inputs[row, :len(window_inputs)] = window_inputs                  # padding after the end: causal (5)
            targets[row, :len(window_targets)] = window_targets
            counted[row, :len(window_counted)] = window_counted
        inputs, targets = (ag.backend.to_device(a, device) for a in (inputs, targets))
        token_log_probs = -F.cross_entropy(self.gpt(inputs), targets, reduction="none")   # (W, T)
        per_window = (token_log_probs * ag.tensor(counted, device=device)).sum(axis=1)   # (W,)
        padded = ag.concatenate([per_window, ag.zeros(1, dtype=dtype, device=device)], axis=0)   # (W + 1,)
        return padded[ag.backend.to_device(self._windows_of_pairs(owner, len(pairs)), device)].sum(axis=1)  # (P,) (8)

    @staticmethod
    def _windows_of_pairs(owner, n_pairs):
        """(P, K) indices of each pair's windows (K the most any pair has), padded with W, the index of
        an appended zero; `owner` lists the pair of each window, in order."""
        owner = np.asarray(owner)
        counts = np.bincount(owner, minlength=n_pairs)                           # (P,)
        first = np.cumsum(counts) - counts                                       # each pair's first window
        grid = np.full((n_pairs, max(int(counts.max()), 1)), len(owner))
        grid[owner, np.arange(len(owner)) - first[owner]] = np.arange(len(owner))
        return grid

    def sequence_log_prob(self, prompt: str, completion: str) -> float:
        """log p(completion | prompt) in nats (8): the completion's token log-probabilities, each
        given the last block_size tokens before it (a newline stands for an empty prompt)."""
        with ag.no_grad():
            return float(self.completion_log_probs([(prompt, completion)]).numpy()[0])

    def log_prob(self, texts: Any, batch_size: int = 64) -> np.ndarray:
        """Exact log p(text | newline) in nats of each text: (n,), the density `sample` draws from."""
        texts = self.check_data(texts, where="log_prob")
        with ag.no_grad():
            return np.concatenate([self.completion_log_probs([("", t) for t in texts[i:i + batch_size]]).numpy()
                                   for i in range(0, len(texts), batch_size)]).astype(np.float64)

    # -- preference tuning: DPO (9), (10) ------------------------------------------------------------
    def implicit_reward(self, prompt: str, completion: str, reference: "CharTransformer",
                        beta: float = 0.1) -> float:
        """r(x, y) = beta log pi(y | x) / pi_ref(y | x), the reward DPO's loss compares (9)."""
        return beta * (self.sequence_log_prob(prompt, completion) - reference.sequence_log_prob(prompt, completion))

    def dpo(self, pairs: Iterable[Tuple[str, str, str]], beta: float = 0.1, steps: Optional[int] = None,
            lr: Optional[float] = None, reference: Optional["CharTransformer"] = None, progress: bool = True,
            batch_size: Optional[int] = None, seed: Optional[int] = None) -> "CharTransformer":
        """Tune the model on (prompt, chosen, rejected) triples by minimizing (10) with Adam against a
        frozen reference (a copy of this model as it is now, when None).  The reference's
        log-probabilities are computed once; `self.history` gains "dpo_loss" and "dpo_reward_margin"
        (the batch mean of r_w - r_l)."""
        pairs = self._checked_pairs(pairs)
        s = self.settings(dpo_steps=steps, dpo_lr=lr, dpo_batch_size=batch_size)
        reference = copy.deepcopy(self) if reference is None else reference
        with ag.no_grad():
            reference_chosen = reference.completion_log_probs([(x, chosen) for x, chosen, _ in pairs]).numpy()
            reference_rejected = reference.completion_log_probs([(x, rejected) for x, _, rejected in pairs]).numpy()
        optimizer = optim.Adam(self.parameters(), lr=s.dpo_lr)

        def step(batch):
            rows = ag.backend.to_numpy(batch)
            both = self.completion_log_probs([(pairs[r][0], pairs[r][1]) for r in rows]
                                             + [(pairs[r][0], pairs[r][2]) for r in rows])   # (2B,)
            chosen, rejected = both[:len(rows)], both[len(rows):]
            reference_both = [ag.tensor(a[rows], device=chosen.device) for a in (reference_chosen, reference_rejected)]
            optimizer.zero_grad()
            loss = dpo_loss(chosen, rejected, reference_both[0], reference_both[1], beta)   # (10)
            loss.backward()
            optimizer.step()
            margin = beta * ((chosen - reference_both[0]) - (rejected - reference_both[1]))  # (9)
            return {"dpo_loss": loss, "dpo_reward_margin": margin.detach().mean()}

        history = train(self, np.arange(len(pairs)), step, optimizer, steps=s.dpo_steps,
                        batch_size=s.dpo_batch_size, seed=self.seed if seed is None else seed,
                        progress=progress, description="CharTransformer.dpo")
        self.history = {**self.history, **history}
        return self

    def _checked_pairs(self, pairs: Any) -> List[Tuple[str, str, str]]:
        """pairs as a list of (prompt, chosen, rejected) strings with non-empty completions."""
        pairs = [tuple(p) for p in pairs] if not isinstance(pairs, str) else None
        if not pairs or not all(len(p) == 3 and all(isinstance(t, str) for t in p) for p in pairs):
            raise TypeError(f"{self.name}.dpo: pairs must be a non-empty list of (prompt, chosen, rejected) strings")
        if not all(chosen and rejected for _, chosen, rejected in pairs):
            raise ValueError(f"{self.name}.dpo: every chosen and rejected completion needs at least one character")
        return pairs

    # -- generation ----------------------------------------------------------------------------------
    def generate(self, prompt: str, max_new_tokens: int, temperature: float = 1.0, top_k: Optional[int] = None,
                 seed: Optional[int] = None) -> str:
        """Continue `prompt` by sampling max_new_tokens characters (never the unknown token)."""
        return self.generate_batch([prompt], max_new_tokens, temperature, top_k, seed)[0]

    def generate_batch(self, prompts: Sequence[str], max_new_tokens: int, temperature: float = 1.0,
                       top_k: Optional[int] = None, seed: Optional[int] = None) -> List[str]:
        """One continuation of each prompt, all drawn together (the prompts must have one length; a
        prompt may repeat, for several samples of it)."""
        rng = seeded_generator(seed)
        encoded = [list(self.encode(prompt)) or [NEWLINE] for prompt in prompts]
        if len({len(prompt) for prompt in encoded}) != 1:
            raise ValueError(f"{self.name}.generate_batch: expected prompts of one length, got "
                             f"{sorted({len(prompt) for prompt in encoded})} characters")
        tokens = np.array(encoded)                                                  # (B, T)
        first_new = tokens.shape[1]
        with ag.no_grad():
            for _ in range(max_new_tokens):
                logits = self.gpt(tokens[:, -self.block_size:]).numpy()[:, -1, :UNKNOWN]   # (B, V): never unknown
                tokens = np.concatenate([tokens, _sample_tokens(logits, temperature, top_k, rng)[:, None]], axis=1)
        return [self.decode(row[first_new:]) for row in tokens]

    def sample(self, n: int, seed: Optional[int] = None) -> str:
        """n characters generated from a newline."""
        return self.generate("\n", n, seed=seed)


@dataclass
class PixelTransformerDefaults:
    """AdamW on the batch mean of -log p(x); the epochs were chosen on a validation split of the
    digits' training set (beyond them it overfits)."""
    epochs: int = 70
    batch_size: int = 100
    lr: float = 3e-3
    weight_decay: float = 0.01


class PixelTransformer(GenerativeModel):
    """Image-GPT on binary images: p(x) = prod_d p(x_d | x_<d) in raster order, one transformer pass (1)."""

    likelihood_kind = "exact"
    Defaults = PixelTransformerDefaults
    size_argument = "n_input"
    binary = True
    START = 2                                                    # tokens: 0, 1, and the start token

    def __init__(self, n_input: int = 64, n_layer: int = 2, n_head: int = 4, n_embd: int = 64, seed: int = 0) -> None:
        super().__init__(n_input=n_input, n_layer=n_layer, n_head=n_head, n_embd=n_embd, seed=seed)
        self.n_input, self.seed = n_input, seed
        self.history: Dict[str, List[float]] = {}
        ag.manual_seed(seed)
        self.gpt = GPT(3, n_layer, n_head, n_embd, n_input)

    def _inputs(self, X):
        """(inputs, targets): the pixels shifted right behind a start token, and the pixels: (n, D) each,
        on the device of X (already checked binary)."""
        xp = ag.backend.array_module(X)
        X = X.astype(np.int64)
        start = xp.full((len(X), 1), self.START)
        return xp.concatenate([start, X[:, :-1]], axis=1), X                # (n, D): shifted right by one

    def nll(self, X: Any) -> ag.Tensor:
        """-log p(x) per image, summed over pixels: (B,)                                    (1)"""
        inputs, targets = self._inputs(X)
        logits = self.gpt(inputs)[:, :, :2]                                  # (B, D, 2): pixel values only
        return F.cross_entropy(logits, targets, reduction="none").sum(axis=1)

    def fit(self, X: Any, epochs: Optional[int] = None, batch_size: Optional[int] = None, lr: Optional[float] = None,
            weight_decay: Optional[float] = None, seed: Optional[int] = None,
            progress: bool = True) -> "PixelTransformer":
        """AdamW on the batch mean of -log p(x); `self.history["loss"]` holds the training loss."""
        X = self.check_data(X, where="fit")
        s = self.settings(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay)
        optimizer = optim.AdamW(self.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        step = objective_step(lambda batch: self.nll(batch).mean(), optimizer)
        self.history = train(self, X, step, optimizer, epochs=s.epochs, batch_size=s.batch_size,
                             seed=self.seed if seed is None else seed, progress=progress,
                             description="PixelTransformer")
        return self

    def log_prob(self, X: Any, batch_size: int = 500) -> np.ndarray:
        """Exact log p(x) in nats: (n,)                                                      (1)"""
        X = self.check_data(X, where="log_prob")
        with ag.no_grad():
            chunks = [-self.nll(X[i:i + batch_size]).numpy() for i in range(0, len(X), batch_size)]
        return np.concatenate(chunks).astype(np.float64)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """Ancestral sampling in raster order: one pass per pixel over the pixels drawn so far (1)."""
        rng = seeded_generator(seed)
        x = np.zeros((n, self.n_input), dtype=np.float32)
        with ag.no_grad():
            for d in range(self.n_input):
                inputs, _ = self._inputs(x)
                logits = self.gpt(inputs[:, :d + 1]).numpy()[:, d, :2]         # (n, 2)
                p_one = 1 / (1 + np.exp(logits[:, 0] - logits[:, 1]))
                x[:, d] = rng.random(n) < p_one
        return x
