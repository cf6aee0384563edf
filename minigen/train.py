"""One training loop for every model: seeded minibatches, a progress bar, a loss history,
validation, checkpoints and exact resume.

A model hands the loop a `step(batch) -> dict of floats` that performs one update (for a single
objective, `objective_step(loss_fn, optimizer)` builds it: zero_grad, loss, backward, step).
Everything the step depends on lives in the model, its optimizers and the seeded generators, so a
checkpoint of those (plus the loop's own generator and counters) resumes a run exactly: on the numpy
backend, a run interrupted and resumed ends with the same parameters, bit for bit, as one that was not.

Checkpoints are written every `checkpoint_every` epochs (or steps, for step-based runs) and when
the run is interrupted with Ctrl-C; they are .npz files written to a temporary name and renamed.
"""
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, ContextManager, Iterable, Sequence

import numpy as np

import autograd
from autograd import nn
from autograd import random as ag_random
from autograd.optim import Optimizer
from autograd.tensor import Array, Tensor

CHECKPOINT_FORMAT = "minigen-checkpoint-1"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, after the checkpoint was written."""


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads(limit: int = 1) -> ContextManager[Any]:
    """Training multiplies small matrices, where one BLAS thread beats several fighting over the
    cores (and over the cores of any other process): training runs with `limit` BLAS threads unless
    the user chose a number through the usual environment variables."""
    if any(os.environ.get(name) for name in THREAD_VARIABLES):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=limit, user_api="blas")


def objective_step(loss_fn: Callable[[Any], Tensor | dict[str, Tensor]], optimizer: Optimizer,
                   clip_grad_norm: float | None = None) -> Callable[[Any], dict[str, Tensor]]:
    """A step for a single objective: loss_fn(batch) -> scalar Tensor, minimized by `optimizer`.
    loss_fn may instead return a dict of scalar Tensors: its "loss" is minimized, and the other
    terms (the parts of the loss, say) are reported in the history beside it."""
    def step(batch):
        optimizer.zero_grad()
        losses = loss_fn(batch)
        losses = losses if isinstance(losses, dict) else {"loss": losses}
        losses["loss"].backward()
        if clip_grad_norm is not None:
            clip_gradients(optimizer.params, clip_grad_norm)
        optimizer.step()
        return losses
    return step


def clip_gradients(params: Iterable[Tensor], max_norm: float) -> Array:
    """Scale all gradients together so that their global L2 norm is at most `max_norm`; returns
    the norm before clipping.  The norm stays on the device (no GPU sync per step): every gradient
    is multiplied by min(1, max_norm / norm), exactly 1 when the norm is already below."""
    grads = [p.grad.data for p in params if p.grad is not None]
    xp = autograd.backend.array_module(grads[0])
    norm = xp.sqrt(sum((g * g).sum(dtype=xp.float64) for g in grads))
    scale = xp.minimum(1.0, max_norm / (norm + 1e-12))
    for g in grads:
        g *= scale.astype(g.dtype)
    return norm


def _as_device_arrays(data):
    """The training arrays on the active backend's device (a tuple for (X, y) data)."""
    arrays = data if isinstance(data, tuple) else (data,)
    device = autograd.backend.default_device()
    return tuple(autograd.backend.to_device(np.asarray(a) if not hasattr(a, "shape") else a, device)
                 for a in arrays)


class Loop:
    """The state of one training run: counters, history and the minibatch generator."""

    def __init__(self, model: nn.Module, optimizers: Iterable[Optimizer], seed: int | None) -> None:
        self.model = model
        self.optimizers = list(optimizers)
        self.epoch = 0
        self.step = 0
        self.history: dict[str, list[float]] = {}
        self.batch_rng = np.random.default_rng(seed)
        self.epoch_start_rng = _rng_state(self.batch_rng)   # to redraw the current epoch's order

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizers": [opt.state_dict() for opt in self.optimizers],
            "epoch": self.epoch,
            "step": self.step,
            "history": {k: list(map(float, v)) for k, v in self.history.items()},
            "batch_rng": self.epoch_start_rng,
            "global_rng": ag_random.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any], path: str = "checkpoint") -> None:
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise autograd.CheckpointError(f"{path}: not a minigen training checkpoint")
        self.model.load_state_dict(state["model"])
        if len(state["optimizers"]) != len(self.optimizers):
            raise autograd.CheckpointError(f"{path}: checkpoint has {len(state['optimizers'])} optimizers, "
                                           f"this run has {len(self.optimizers)}")
        for opt, opt_state in zip(self.optimizers, state["optimizers"]):
            opt.load_state_dict(opt_state)
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch_start_rng = state["batch_rng"]
        _set_rng_state(self.batch_rng, self.epoch_start_rng)
        ag_random.set_state(state["global_rng"])

    def save(self, path: str) -> None:
        autograd.save(self.state_dict(), path)

    def record(self, name: str, value: float) -> None:
        self.history.setdefault(name, []).append(float(value))


def _rng_state(rng):
    return json.dumps(rng.bit_generator.state)


def _set_rng_state(rng, state):
    rng.bit_generator.state = json.loads(state)


def load_checkpoint(path: str) -> dict[str, Any]:
    """A training checkpoint as a dict; one-line CheckpointError for a missing, corrupt or foreign file."""
    state = autograd.load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise autograd.CheckpointError(f"{path}: not a minigen training checkpoint")
    return state


def _batches(arrays, batch_size, rng, skip=0):
    """Minibatches of a fresh permutation (the last one may be smaller), the first `skip` left out."""
    n = len(arrays[0])
    order = rng.permutation(n)
    xp = autograd.backend.array_module(arrays[0])
    for start in range(skip * batch_size, n, batch_size):
        index = xp.asarray(order[start:start + batch_size])
        batch = tuple(a[index] for a in arrays)
        yield batch if len(batch) > 1 else batch[0]


class _DeferredInterrupt:
    """Ctrl-C sets a flag that the loop reads between steps, so no update is left half done."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:            # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


class _FiniteGuard:
    """The NaN guard: every step's losses are checked for non-finite values before anything is saved.

    Each step leaves its losses here as 0-d device arrays (no synchronisation); `check` reads them all
    back at once and raises FloatingPointError naming the first bad loss and its step.  On the CPU
    backends the loop checks after every step; on a GPU at every logged step and before every
    checkpoint, so the last good checkpoint is never overwritten with a broken state.
    """

    def __init__(self, every_step):
        self.every_step = every_step
        self.pending = []                                    # (step, name, 0-d array)

    def add(self, step, losses):
        for name, value in losses.items():
            self.pending.append((step, name, value.data if isinstance(value, autograd.Tensor) else value))
        if self.every_step:
            self.check()

    def check(self):
        if not self.pending:
            return
        values = [value for _, _, value in self.pending]
        on_device = any(autograd.backend.device_of(v) == "cuda" for v in values)   # floats may come first
        xp = autograd.backend.module_for_device("cuda" if on_device else "cpu")
        finite = autograd.backend.to_numpy(xp.isfinite(xp.stack([xp.asarray(v).reshape(()) for v in values])))
        pending, self.pending = self.pending, []
        if not finite.all():
            step, name, value = pending[int(np.argmin(finite))]
            raise FloatingPointError(f"{name} became {float(value)} at step {step}; training stopped "
                                     f"(the last checkpoint, if any, holds the last good state; rerun under "
                                     f"autograd.detect_anomaly() to name the op that made it)")


class _LogLines:
    """Progress where stderr is not a terminal (logs, nohup, CI): one plain line every `every` seconds,
    and a last line at the end, in the same words as the bar."""

    def __init__(self, total, description, every=5.0):
        self.total, self.description, self.every = total, description, every
        self.n, self.postfix = 0, {}
        self.started = self.last = time.monotonic()

    def update(self, count=1):
        self.n += count
        if time.monotonic() - self.last >= self.every:
            self._line()

    def set_postfix(self, values):
        self.postfix = dict(values)

    def close(self):
        if self.n:
            self._line()

    def _line(self):
        self.last = time.monotonic()
        losses = " ".join(f"{k}={v}" for k, v in self.postfix.items())
        print(f"{self.description}: step {self.n}/{self.total} ({100 * self.n / max(self.total, 1):.0f}%), "
              f"{self.last - self.started:.0f} s {losses}".rstrip(), file=sys.stderr, flush=True)


class _Silent:
    n = 0

    def update(self, count=1):
        pass

    def set_postfix(self, values):
        pass

    def close(self):
        pass


def _progress(total, enabled, description):
    """A tqdm bar on a terminal (it stays, as the run's summary line), plain log lines elsewhere,
    nothing when progress is off."""
    if not enabled:
        return _Silent()
    if not sys.stderr.isatty():
        return _LogLines(total, description)
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=description, leave=True, dynamic_ncols=True)


def train(model: nn.Module, data: Array | tuple, step: Callable[[Any], dict[str, Any]],
          optimizers: Optimizer | Sequence[Optimizer], *, epochs: int | None = None, steps: int | None = None,
          batch_size: int = 128, seed: int | None = 0, progress: bool = True,
          validate: Callable[[], dict[str, float]] | None = None, validate_every: int = 1,
          checkpoint: str | None = None, checkpoint_every: int | None = None, resume: str | None = None,
          log_every: int = 10, description: str | None = None) -> dict[str, list[float]]:
    """Run `step` over minibatches of `data` for `epochs` epochs (or `steps` updates).

    data        an array (n, ...) or a tuple of arrays sharing their first axis
    step        step(batch) -> dict of scalar losses (Tensors or floats), updating the model
    optimizers  the optimizers the step uses (their state is checkpointed)
    validate    validate() -> dict of numbers, called every `validate_every` epochs
    checkpoint  a path: written every `checkpoint_every` epochs (or steps), at the end, and on Ctrl-C
    resume      a checkpoint path to continue from (the run then ends where an uninterrupted one would);
                a path that does not exist is an error, unless it is also `checkpoint` (resume if there)
    Returns the history: name -> list of values (losses per step, validation per call).
    """
    if (epochs is None) == (steps is None):
        raise ValueError("train: give exactly one of epochs= or steps=")
    optimizers = [optimizers] if isinstance(optimizers, Optimizer) else list(optimizers)
    arrays = _as_device_arrays(data)
    if len(arrays[0]) == 0:
        raise ValueError(f"{type(model).__name__}.fit: the training data has no rows")
    if int(batch_size) < 1:
        raise ValueError(f"{type(model).__name__}.fit: batch_size must be at least 1, got {batch_size}")
    loop = Loop(model, optimizers, seed)
    if resume is not None:
        if not os.path.exists(resume) and resume != checkpoint:
            raise FileNotFoundError(f"resume: no checkpoint at {resume}")
        if os.path.exists(resume):
            loop.load_state_dict(load_checkpoint(resume), resume)
    batches_per_epoch = math.ceil(len(arrays[0]) / batch_size)
    if steps is not None:
        total_steps = steps
    else:
        assert epochs is not None                           # exactly one of the two was given (checked above)
        total_steps = epochs * batches_per_epoch
    bar = _progress(total_steps, progress, description or type(model).__name__)
    bar.update(loop.step)
    guard = _FiniteGuard(every_step=autograd.backend.default_device() == "cpu")
    model.train()
    with _DeferredInterrupt() as interrupt, blas_threads():
        while loop.step < total_steps:
            done_this_epoch = loop.step - loop.epoch * batches_per_epoch
            for batch in _batches(arrays, batch_size, loop.batch_rng, skip=done_this_epoch):
                losses = step(batch)
                loop.step += 1
                guard.add(loop.step, losses)
                _log(loop, losses, bar, log_every, guard)
                if steps is not None:
                    _maybe_checkpoint(loop, checkpoint, checkpoint_every, loop.step, guard)
                if interrupt.requested or (steps is not None and loop.step >= total_steps):
                    break
            else:
                _end_epoch(loop, model, validate, validate_every, checkpoint,
                           checkpoint_every if steps is None else None, guard)
            if interrupt.requested:
                guard.check()
                if checkpoint is not None:
                    loop.save(checkpoint)
                bar.close()
                raise TrainingInterrupted(f"interrupted at step {loop.step}; checkpoint: {checkpoint}")
    bar.close()
    guard.check()
    model.eval()
    if checkpoint is not None:
        loop.save(checkpoint)
    return loop.history


def _end_epoch(loop, model, validate, validate_every, checkpoint, checkpoint_every, guard):
    loop.epoch += 1
    loop.epoch_start_rng = _rng_state(loop.batch_rng)
    if validate is not None and loop.epoch % validate_every == 0:
        model.eval()
        for name, value in validate().items():
            loop.record(f"val_{name}", value)
        model.train()
    _maybe_checkpoint(loop, checkpoint, checkpoint_every, loop.epoch, guard)


def _log(loop, losses, bar, log_every, guard):
    """Record the losses; read them back from the device only every `log_every` steps."""
    if loop.step % log_every and loop.step != 1:
        bar.update(1)
        return
    guard.check()
    for name, value in losses.items():
        loop.record(name, float(value.item() if hasattr(value, "item") else value))
    bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in loop.history.items() if not k.startswith("val_")})
    bar.update(1)


def _maybe_checkpoint(loop, path, every, count, guard):
    if path is not None and every and count % every == 0:
        guard.check()
        loop.save(path)
