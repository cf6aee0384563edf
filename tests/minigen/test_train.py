"""minigen.train: exact resume (also from a Ctrl-C in mid-epoch), checkpoints that refuse foreign
files, the NaN guard, validation, gradient clipping and a quiet progress bar."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import autograd
from autograd import nn, optim
from autograd.nn import functional as F
from minigen import train as training

N_ROWS, BATCH = 30, 8                     # 4 batches per epoch, the last one smaller


def make_run(seed=0):
    """A tiny noisy regression, initialised from `seed`, whose loss draws from the global generator."""
    autograd.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    rng = np.random.default_rng(0)                          # the same data whatever the seed
    X = rng.standard_normal((N_ROWS, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    def loss_fn(batch):
        inputs, targets = batch
        noisy = autograd.tensor(inputs) + 0.1 * autograd.randn(*inputs.shape)
        return F.mse_loss(model(noisy), autograd.tensor(targets))

    return model, optimizer, training.objective_step(loss_fn, optimizer), (X, y)


def parameters(model):
    return [p.data.copy() for p in model.parameters()]


def assert_bitwise_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def uninterrupted(**schedule):
    model, optimizer, step, data = make_run()
    history = training.train(model, data, step, optimizer, batch_size=BATCH, seed=5, progress=False,
                             log_every=1, **schedule)
    return parameters(model), history


def interrupt_at(step, at_step):
    """A step that sends this process SIGINT (Ctrl-C) right after update number `at_step`."""
    count = {"steps": 0}

    def wrapped(batch):
        losses = step(batch)
        count["steps"] += 1
        if count["steps"] == at_step:
            os.kill(os.getpid(), signal.SIGINT)
        return losses
    return wrapped


def test_resume_after_finished_epochs_equals_uninterrupted(tmp_path):
    expected, expected_history = uninterrupted(epochs=4)
    path = str(tmp_path / "ckpt.npz")
    model, optimizer, step, data = make_run()
    training.train(model, data, step, optimizer, epochs=2, batch_size=BATCH, seed=5, progress=False,
                   checkpoint=path, log_every=1)
    model, optimizer, step, data = make_run()
    history = training.train(model, data, step, optimizer, epochs=4, batch_size=BATCH, seed=5,
                             progress=False, resume=path, log_every=1)
    assert_bitwise_equal(parameters(model), expected)
    assert history == expected_history


@pytest.mark.parametrize("schedule, at_step", [({"epochs": 4}, 6), ({"steps": 13}, 7)])
def test_resume_from_a_mid_epoch_ctrl_c_equals_uninterrupted(tmp_path, schedule, at_step):
    expected, expected_history = uninterrupted(**schedule)
    path = str(tmp_path / "ckpt.npz")
    model, optimizer, step, data = make_run()
    with pytest.raises(training.TrainingInterrupted, match=f"step {at_step}"):
        training.train(model, data, interrupt_at(step, at_step), optimizer, batch_size=BATCH, seed=5,
                       progress=False, checkpoint=path, log_every=1, **schedule)
    state = training.load_checkpoint(path)
    assert state["step"] == at_step and state["epoch"] == 1
    model, optimizer, step, data = make_run(seed=99)          # a different init: all of it must come back
    history = training.train(model, data, step, optimizer, batch_size=BATCH, seed=5, progress=False,
                             resume=path, log_every=1, **schedule)
    assert_bitwise_equal(parameters(model), expected)
    assert history == expected_history
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


SIGINT_SCRIPT = """
    import sys, time
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from test_train import make_run
    from minigen import train as training
    model, optimizer, step, data = make_run()
    count = [0]
    def slow_step(batch):
        losses = step(batch)
        count[0] += 1
        if count[0] == 3:
            open({marker!r}, "w").close()
        time.sleep(0.01)
        return losses
    training.train(model, data, slow_step, optimizer, steps=10**6, batch_size=8, progress=False,
                   checkpoint={path!r}, checkpoint_every=10**6)
"""


def test_sigint_to_a_training_process_leaves_a_loadable_checkpoint(tmp_path):
    path, marker = str(tmp_path / "ckpt.npz"), str(tmp_path / "started")
    script = tmp_path / "run.py"
    root = os.path.dirname(os.path.dirname(training.__file__))
    script.write_text(textwrap.dedent(SIGINT_SCRIPT.format(
        root=root, tests=os.path.dirname(__file__), marker=marker, path=path)))
    process = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(marker) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "TrainingInterrupted" in err
    state = training.load_checkpoint(path)
    assert state["step"] >= 3
    model, *_ = make_run(seed=1)
    model.load_state_dict(state["model"])
    assert_bitwise_equal(parameters(model), [np.asarray(a) for a in state["model"].values()])
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


@pytest.fixture
def checkpoint_file(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    model, optimizer, step, data = make_run()
    training.train(model, data, step, optimizer, epochs=1, batch_size=BATCH, progress=False, checkpoint=path)
    return path


def _refused(path, words):
    model, optimizer, step, data = make_run()
    with pytest.raises(autograd.CheckpointError) as info:
        training.train(model, data, step, optimizer, epochs=2, batch_size=BATCH, progress=False, resume=path)
    message = str(info.value)
    assert path in message and words in message and "\n" not in message


def test_truncated_checkpoint_is_refused(checkpoint_file):
    with open(checkpoint_file, "rb") as file:
        raw = file.read()
    with open(checkpoint_file, "wb") as file:
        file.write(raw[: len(raw) // 2])
    _refused(checkpoint_file, "corrupt")


def test_pickled_npy_is_refused(tmp_path):
    path = str(tmp_path / "evil.npz")
    with open(path, "wb") as file:
        np.save(file, np.array([{"payload": 1}], dtype=object), allow_pickle=True)
    _refused(path, "corrupt")


def test_foreign_npz_and_other_state_dicts_are_refused(tmp_path):
    foreign = str(tmp_path / "foreign.npz")
    np.savez(foreign, weights=np.zeros(3))
    _refused(foreign, "no manifest")
    other = str(tmp_path / "weights.npz")
    autograd.save({"weight": np.zeros(3)}, other)
    _refused(other, "not a minigen training checkpoint")


def nan_at(step, model, at_step):
    """A step that breaks the model (NaN weights, NaN loss) at update number `at_step`."""
    count = {"steps": 0}

    def wrapped(batch):
        count["steps"] += 1
        if count["steps"] >= at_step:
            for p in model.parameters():
                p.data[...] = np.nan
            return {"loss": autograd.tensor(np.float32(np.nan))}
        return step(batch)
    return wrapped


def test_nan_guard_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    model, optimizer, step, data = make_run()
    with pytest.raises(FloatingPointError, match="loss became nan at step 7"):
        training.train(model, data, nan_at(step, model, 7), optimizer, steps=20, batch_size=BATCH,
                       progress=False, checkpoint=path, checkpoint_every=1, log_every=10)
    state = training.load_checkpoint(path)
    assert state["step"] == 6
    assert all(np.isfinite(a).all() for a in state["model"].values())


def test_nan_guard_on_epoch_checkpoints(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    model, optimizer, step, data = make_run()
    with pytest.raises(FloatingPointError, match="at step 9"):
        training.train(model, data, nan_at(step, model, 9), optimizer, epochs=5, batch_size=BATCH,
                       progress=False, checkpoint=path, checkpoint_every=1)
    assert training.load_checkpoint(path)["epoch"] == 2


def test_validation_every_n_epochs_and_history():
    model, optimizer, step, data = make_run()
    calls = []

    def validate():
        calls.append(1)
        return {"loss": 0.5}

    history = training.train(model, data, step, optimizer, epochs=6, batch_size=BATCH, progress=False,
                             validate=validate, validate_every=2, log_every=1)
    assert len(calls) == 3 and history["val_loss"] == [0.5, 0.5, 0.5]
    assert len(history["loss"]) == 6 * 4 and all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize("progress, terminal, shown", [(True, False, "tiny-run: step 4/4 (100%)"),
                                                       (False, True, None), (False, False, None),
                                                       (True, True, "tiny-run")])
def test_progress_is_a_bar_on_a_terminal_and_log_lines_elsewhere(capsys, monkeypatch, progress, terminal, shown):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    model, optimizer, step, data = make_run()
    training.train(model, data, step, optimizer, epochs=1, batch_size=BATCH, progress=progress,
                   description="tiny-run")
    err = capsys.readouterr().err
    assert (shown in err) if shown else err == ""


def test_exactly_one_of_epochs_or_steps():
    model, optimizer, step, data = make_run()
    for schedule in ({}, {"epochs": 1, "steps": 1}):
        with pytest.raises(ValueError, match="exactly one of epochs= or steps="):
            training.train(model, data, step, optimizer, progress=False, **schedule)


def test_clip_gradients_scales_to_the_global_norm():
    a, b = nn.Parameter(np.zeros(1, np.float32)), nn.Parameter(np.zeros(1, np.float32))
    a.grad, b.grad = autograd.tensor(np.array([3.0], np.float32)), autograd.tensor(np.array([4.0], np.float32))
    assert training.clip_gradients([a, b], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose([a.grad.data[0], b.grad.data[0]], [0.6, 0.8], rtol=1e-6)
    assert training.clip_gradients([a, b], 10.0) == pytest.approx(1.0)
    np.testing.assert_allclose([a.grad.data[0], b.grad.data[0]], [0.6, 0.8], rtol=1e-6)
