"""The model and kernel workloads of `python -m benchmarks` (the VAE step is in engine.py)."""
import importlib
import time

import numpy as np

import autograd
from autograd import backend, nn, optim
from autograd.kernels import reference
from minigen.kernels import reference as model_reference


def find_model(name):
    """minigen.models.<name>, or None while that model has not landed."""
    try:
        return getattr(importlib.import_module("minigen.models"), name)
    except (ImportError, AttributeError):
        return None


def on_backend(name, build):
    """`build()` run with backend `name` active (its step keeps running there)."""
    def make():
        backend.set_backend(name)
        made = build()
        if made is None:
            return None
        step, sync = made

        def run():
            if backend.get_backend() != name:        # (switching backends rebuilds the kernel table)
                backend.set_backend(name)
            step()
        return run, sync
    return make


def step_costs(row, column):
    """The dict where a row keeps the counted costs of its `column`'s step."""
    return row.setdefault("costs", {}).setdefault(column, {})


def sync_for(name):
    if name == "cupy":
        return backend.require_cupy().cuda.get_current_stream().synchronize
    return lambda: None


def rbm_rows(backends, quick, repeats, measure):
    n, d, hidden = (500, 64, 32) if quick else (10000, 784, 256)
    X = (np.random.default_rng(0).random((n, d)) < 0.2).astype(np.float32)
    row = {"workload": f"RBM PCD-1 epoch ({n} x {d}, {hidden} hidden, batch 100)"}
    RBM = find_model("RBM")
    if RBM is None:
        row["note"] = "minigen.models.RBM has not landed"
    for name in backends if RBM else ():
        def build(name=name):
            model = RBM(d, hidden, seed=0)
            data = backend.to_device(X, backend.default_device())
            return (lambda: model.fit(data, epochs=1, batch_size=100, k=1, persistent=True, progress=False),
                    sync_for(name))
        row[name] = measure(on_backend(name, build), repeats, cost_into=step_costs(row, name))
    try:
        from sklearn.neural_network import BernoulliRBM
        row["sklearn BernoulliRBM"] = measure(lambda: (
            lambda: BernoulliRBM(n_components=hidden, batch_size=100, n_iter=1, random_state=0).fit(X),
            lambda: None), repeats)
    except ImportError:
        row["note"] = (row.get("note", "") + "; scikit-learn not importable").lstrip("; ")
    return [row]


def vae_model_rows(backends, quick, repeats, measure):
    """One training step of minigen's VAE(64, 8) as `fit` takes it: AdamW on the IWAE objective
    with the default k_train samples, a batch of 128 binarized digits."""
    VAE = find_model("VAE")
    batch = 32 if quick else 128
    row = {"workload": f"VAE model step (minigen VAE(64, 8), IWAE k=5, B{batch}, AdamW)"}
    if VAE is None:
        row["note"] = "minigen.models.VAE has not landed"
        return [row]
    X = importlib.import_module("minigen.data").load_digits("train", binarize=True)[:batch]
    for name in backends:
        def build(name=name):
            model = VAE(64, 8, seed=0)
            settings = model.settings()
            optimizer = optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
            x = autograd.Tensor(backend.to_device(X, backend.default_device()))

            def step():
                optimizer.zero_grad()
                model.iwae_loss(x, settings.k_train)[0].backward()
                optimizer.step()
            return step, sync_for(name)
        row[name] = measure(on_backend(name, build), repeats, cost_into=step_costs(row, name))
    return [row]


def ddpm_rows(backends, quick, repeats, measure):
    DDPM = find_model("DDPM")
    T, n_samples = (20, 8) if quick else (1000, 64)
    rows = [{"workload": "DDPM denoiser train step (digits, B128)"},
            {"workload": f"DDPM sampling, {T} steps, {n_samples} digits"}]
    if DDPM is None:
        for row in rows:
            row["note"] = "minigen.models.DDPM has not landed"
        return rows
    X = importlib.import_module("minigen.data").load_digits()[:128]             # (128, 64) in [0, 1]
    for name in backends:
        def build_train(name=name):
            model = DDPM((64,), T=T, seed=0)
            optimizer = optim.Adam(model.parameters(), lr=1e-3)
            x = autograd.Tensor(backend.to_device(X, backend.default_device()))

            def step():
                optimizer.zero_grad()
                loss = model.loss(x)
                (loss[0] if isinstance(loss, tuple) else loss).backward()
                optimizer.step()
            return step, sync_for(name)

        def build_sample(name=name):
            model = DDPM((64,), T=T, seed=0)
            return (lambda: model.sample(n_samples)), sync_for(name)
        rows[0][name] = measure(on_backend(name, build_train), repeats, cost_into=step_costs(rows[0], name))
        rows[1][name] = measure(on_backend(name, build_sample), max(1, repeats // 2),
                               cost_into=step_costs(rows[1], name))
    return rows


def conv_rows(backends, quick, repeats, measure):
    rows = []
    for side in ((8,) if quick else (8, 28)):
        batch = 8 if quick else 64
        row = {"workload": f"Conv2d 16->32 3x3 fwd+bwd, {batch}x16x{side}x{side}"}
        x_host = np.random.default_rng(0).standard_normal((batch, 16, side, side)).astype(np.float32)
        for name in backends:
            def build(name=name):
                device = backend.default_device()
                layer = nn.Conv2d(16, 32, 3, padding=1).to(device)
                x = autograd.Tensor(backend.to_device(x_host, device), requires_grad=True)

                def step():
                    layer.zero_grad()
                    x.grad = None
                    (layer(x) ** 2).sum().backward()
                return step, sync_for(name)
            row[name] = measure(on_backend(name, build), repeats, cost_into=step_costs(row, name))
        row["torch cpu"] = measure(lambda: torch_conv(x_host), repeats)
        rows.append(row)
    return rows


def torch_conv(x_host):
    try:
        import torch
    except ImportError:
        return None
    layer = torch.nn.Conv2d(16, 32, 3, padding=1)
    x = torch.tensor(x_host, requires_grad=True)

    def step():
        layer.zero_grad()
        x.grad = None
        (layer(x) ** 2).sum().backward()
    return step, lambda: None


def model_rows(backends, quick, repeats, measure):
    from .transformer import transformer_rows  # (it imports this module's helpers)
    rows = []
    for build in (vae_model_rows, rbm_rows, ddpm_rows, conv_rows, transformer_rows):
        try:
            rows += build(backends, quick, repeats, measure)
        except Exception as error:                     # a model in progress must not stop the bench
            rows.append({"workload": build.__name__, "note": f"failed: {type(error).__name__}: {error}"})
    backend.set_backend("numpy")
    return rows


# -- kernels against their NumPy reference -----------------------------------------------------

def kernel_arguments(name, quick):
    """Host arguments of kernel `name` at the benchmark's size (the models' sizes)."""
    rng = np.random.default_rng(0)
    n = 4096 if quick else 784 * 512                 # the largest MNIST-size VAE weight

    def normal(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    image = (8, 16, 8, 8) if quick else (64, 16, 28, 28)
    conv = ((3, 3), (1, 1), (1, 1), (1, 1))
    return {
        "adam_update": lambda: (normal(n), normal(n), normal(n), np.abs(normal(n)), 1e-3, 0.9, 0.999,
                                1e-8, 10, 0.0, False),
        "sgd_update": lambda: (normal(n), normal(n), normal(n), 1e-2, 0.9, 0.0),
        "rmsprop_update": lambda: (normal(n), normal(n), np.abs(normal(n)), 1e-2, 0.99, 1e-8, 0.0),
        "sample_bernoulli": lambda: (normal(100, 784), rng.random((100, 784), dtype=np.float32)),
        "bernoulli_layer": lambda: (normal(100, 784), normal(784), rng.random((100, 784), dtype=np.float32)),
        "gibbs_step": lambda: ((rng.random((100, 256)) < 0.5).astype(np.float32), 0.1 * normal(784, 256),
                               normal(784), normal(256), rng.random((100, 784), dtype=np.float32),
                               rng.random((100, 256), dtype=np.float32)),
        "langevin_step": lambda: (normal(64, 64), normal(64, 64), normal(64, 64), 0.01),
        "ddpm_step": lambda: (normal(64, 64), normal(64, 64), normal(64, 64), 1.01, 0.02, 0.1),
        "sigmoid": lambda: (normal(128, 784),),
        "softplus": lambda: (normal(128, 784),),
        "bce_with_logits": lambda: (normal(128, 784), (normal(128, 784) > 0).astype(np.float32)),
        "col2im": lambda: (normal(image[0], 16 * 9, image[2] * image[3]), image, *conv),
    }[name]()


REFERENCES = {**reference.KERNELS, **model_reference.KERNELS}
COMPILED = {"numba": ("autograd.kernels.numba_kernels", "minigen.kernels.numba_kernels"),
            "cupy": ("autograd.kernels.cupy_kernels", "minigen.kernels.cupy_kernels")}


def kernel_table(name):
    """The compiled kernels of backend `name`: the engine's and the models' together."""
    table = {}
    for module in COMPILED[name]:
        table.update(importlib.import_module(module).KERNELS)
    return table


def kernel_rows(backends, quick, repeats, measure):
    compiled = {b: kernel_table(b) for b in backends if b != "numpy"}
    names = sorted({k for table in compiled.values() for k in table})
    rows = []
    for kernel_name in names:
        args = kernel_arguments(kernel_name, quick)
        row = {"workload": f"kernel {kernel_name}",
               "numpy": measure(lambda: (lambda: REFERENCES[kernel_name](*args), lambda: None),
                                repeats)}
        for name, table in compiled.items():
            if kernel_name in table:
                device_args = [backend.to_device(a, "cuda") if name == "cupy" and isinstance(a, np.ndarray)
                               else a for a in args]
                row[name] = measure(lambda: (lambda: table[kernel_name](*device_args), sync_for(name)),
                                    repeats)
        rows.append(row)
    return rows


def numba_compile_times(quick):
    """Seconds of each numba kernel's first call (compilation, or loading it from the cache)."""
    table = kernel_table("numba")
    times = {}
    for kernel_name, kernel in table.items():
        args = kernel_arguments(kernel_name, True)
        start = time.perf_counter()
        kernel(*args)
        times[kernel_name] = time.perf_counter() - start
    return times
