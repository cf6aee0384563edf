"""The character transformer's training step (issue 9's speed goal: at most 2x PyTorch eager on the
CPU): the engine's CharTransformer on each backend against the same GPT written in PyTorch.

One step: a batch of 32 windows of 128 characters of the embedded corpus, two pre-norm blocks of
4-head causal attention and a GELU MLP (128-dimensional embeddings), cross-entropy, backward, AdamW.
"""
import math

import numpy as np

from autograd import backend, optim
from minigen.data import text_corpus

from .workloads import find_model, on_backend, step_costs, sync_for

FULL = {"n_layer": 2, "n_head": 4, "n_embd": 128, "block_size": 128, "batch": 32}
QUICK = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16, "batch": 4}


def engine_step(shape):
    CharTransformer = find_model("CharTransformer")
    model = CharTransformer(**{k: shape[k] for k in ("n_layer", "n_head", "n_embd", "block_size")})
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    tokens = model.encode(text_corpus("train")[:100000])
    starts = np.random.default_rng(0).integers(0, len(tokens) - shape["block_size"] - 1, shape["batch"])
    tokens, starts = (backend.to_device(a, backend.default_device()) for a in (tokens, starts))  # as fit

    def step():
        optimizer.zero_grad()
        model.loss(tokens, starts).backward()
        optimizer.step()
    return step


def torch_step(shape):
    """The same GPT in PyTorch eager on the CPU (on random token windows: the cost is the same), or
    None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    C, H, T = shape["n_embd"], shape["n_head"], shape["block_size"]
    from minigen.models.transformer import VOCABULARY
    vocab = len(VOCABULARY) + 1                                  # printable ASCII, newline, unknown

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
            self.qkv, self.proj = torch.nn.Linear(C, 3 * C), torch.nn.Linear(C, C)
            self.fc, self.fc_out = torch.nn.Linear(C, 4 * C), torch.nn.Linear(4 * C, C)

        def forward(self, x):
            B = x.shape[0]
            q, k, v = self.qkv(self.ln1(x)).reshape(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)
            scores = q @ k.transpose(-1, -2) / math.sqrt(C // H)
            scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
            attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
            x = x + self.proj(attended)
            return x + self.fc_out(torch.nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = torch.nn.Embedding(vocab, C), torch.nn.Embedding(T, C)
            self.blocks = torch.nn.Sequential(*[Block() for _ in range(shape["n_layer"])])
            self.ln, self.head = torch.nn.LayerNorm(C), torch.nn.Linear(C, vocab)

        def forward(self, idx):
            return self.head(self.ln(self.blocks(self.tokens(idx) + self.positions(torch.arange(T)))))

    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    windows = torch.randint(0, vocab, (shape["batch"], T + 1), generator=torch.Generator().manual_seed(0))

    def step():
        optimizer.zero_grad()
        logits = model(windows[:, :-1])
        torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), windows[:, 1:].reshape(-1)).backward()
        optimizer.step()
    return step, lambda: None


def transformer_rows(backends, quick, repeats, measure):
    shape = QUICK if quick else FULL
    row = {"workload": (f"CharTransformer step ({shape['n_layer']} layers, {shape['n_head']} heads, "
                        f"C{shape['n_embd']}, T{shape['block_size']}, B{shape['batch']})")}
    if find_model("CharTransformer") is None:
        row["note"] = "minigen.models.CharTransformer has not landed"
        return [row]
    for name in backends:
        row[name] = measure(on_backend(name, lambda name=name: (engine_step(shape), sync_for(name))), repeats,
                            cost_into=step_costs(row, name))
    row["torch cpu"] = measure(lambda: torch_step(shape), repeats)
    return [row]
