"""The `minigen` command line: list, train, sample, eval (and the likelihood table), demo, bench.

    minigen list                                    the families, their data, defaults and run times
    minigen train MODEL [--data NAME|PATH] [--epochs N] [--steps N] [--backend numpy|numba|cupy]
                        [--out DIR] [--seed S] [--quick] [--force] [--quiet]
    minigen train --resume RUN_DIR                  continue an interrupted run where it stopped
    minigen sample RUN_DIR [--n N] [--label K] [--guidance W] [--out FILE.png|.npy|.npz|.txt|-]
    minigen eval RUN_DIR [--json]          minigen eval --table [--quick] [--runs DIR]
    minigen demo [NAME|all] [--quick|--full] [--out DIR]
    minigen bench [--backends numpy,numba,cupy] [--json]

Usage errors (bad arguments, unknown models or data, missing files, corrupt checkpoints, an
unavailable backend) exit with status 2 and one line on stderr, before any training starts when
they can be known then; every file is written atomically.  `train` checkpoints into its run
directory while it trains and when it is interrupted (Ctrl-C), saves the model before evaluating
it, and `train --resume RUN_DIR` ends with the same model, bit for bit on the CPU, as a run that
was never interrupted.
"""
import argparse
import contextlib
import dataclasses
import importlib.util
import inspect
import json
import math
import os
import shutil
import subprocess
import sys
from typing import Any, Callable, Iterable, Iterator, NoReturn, Sequence

import numpy as np

import autograd
from minigen import data as datasets
from minigen import runs, zoo
from minigen.models import GenerativeModel

USAGE_ERROR = 2
FAILURE = 1
INTERRUPTED = 130
BACKENDS = ("numpy", "numba", "cupy")
TABLE_DATA = "digits-binary"
TABLE_SETS = ("digits-binary", "mnist-binary")
MAX_SEED = 2**32 - 1
MAX_SAMPLES = 100_000                  # images or points per `sample` call
MAX_CHARACTERS = 1_000_000             # characters per `sample` call of a text model
CHECKPOINT_EVERY = 25                  # epochs, or steps x 4, between checkpoints while training
SAMPLE_FORMATS = (".png", ".npy", ".npz", ".txt")

# Reference rows: test NLL in nats on each table's binarized data (its fixed test split), measured
# with code outside this project.
REFERENCE_NLL = {
    "digits-binary": (
        ("mixture of 50 Bernoullis, EM", "exact", 18.76),
        ("scikit-learn BernoulliRBM, 16 hidden, PCD-1, 200 epochs", "exact", 18.86),
        ("PyTorch MADE, one hidden layer of 500, 300 epochs", "exact", 17.48),
        ("PyTorch VAE 64-256-256-8, 300 epochs, k=2000", "IWAE", 16.24),
    ),
    "mnist-binary": (
        ("PyTorch VAE 784-512-512-32 tanh, 200 epochs, k=1000", "IWAE", 97.20),
        ("PyTorch MADE 784-500-784, one ordering, 100 epochs", "exact", 100.40),
        ("mixture of 50 Bernoullis, EM", "exact", 164.12),
        ("mixture of 200 Bernoullis, EM", "exact", 150.35),
        ("scikit-learn BernoulliRBM, 20 hidden, PCD-1, 100 epochs", "exact", 170.69),
    ),
}
LIKELIHOOD_KINDS = ("exact", "AIS", "IWAE", "bound")


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


# -- shared steps ------------------------------------------------------------------------------
def _entry(name):
    try:
        return zoo.get(name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None


def _use_backend(name):
    try:
        autograd.set_backend(name)
    except (autograd.backend.BackendError, ImportError) as exc:
        raise UsageError(f"backend {name!r} is unavailable: {str(exc).splitlines()[0]}") from None


def _load_data(name):
    try:
        X_train, X_test = datasets.load_named(name)
    except (ValueError, OSError, ImportError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    if len(X_train) == 0:
        raise UsageError(f"data set {name!r} leaves no training rows")
    return X_train, X_test


def _load_for(entry, data_name):
    """(train, test) for a family: arrays (or text), or (X, y) pairs for a class-conditional family."""
    if not entry.labels:
        return _load_data(data_name)
    try:
        train, test = datasets.load_named_labelled(data_name)
    except (ValueError, OSError, ImportError) as exc:
        raise UsageError(f"model {entry.name!r} learns from class labels: {str(exc).splitlines()[0]}") from None
    return train, test


def _inputs(part):
    """The examples of a training or test part: X itself, or X of an (X, y) pair."""
    return part[0] if isinstance(part, tuple) else part


def _load_run(run_dir):
    try:
        return runs.load_run(run_dir)
    except (runs.RunError, autograd.CheckpointError) as exc:
        raise UsageError(str(exc)) from None


def _finite_numbers(metrics):
    """Metrics as plain floats/ints/strings (JSON-able)."""
    return {k: (float(v) if isinstance(v, (float, np.floating)) else
                int(v) if isinstance(v, (int, np.integer)) else str(v)) for k, v in metrics.items()}


UNITS = (("bits_per_char", " bits per character"), ("nll", " nats per example"), ("elbo", " nats per example"),
         ("log_z", " nats"), ("mse", " (squared error per example)"))


def _format_number(value, name=""):
    """4 significant digits for floats, with the unit the metric's name implies; integers and
    strings as they are."""
    if not isinstance(value, float):
        return str(value)
    unit = next((unit for key, unit in UNITS if key in name and not name.endswith("_std")), "")
    return f"{value:.4g}{unit}"


def _takes(model, name):
    """Whether model.fit accepts setting `name`: a field of its Defaults, a named parameter, or, for
    a family without Defaults, anything its **kwargs take."""
    defaults = getattr(model, "Defaults", None)
    fields = {f.name for f in dataclasses.fields(defaults)} if dataclasses.is_dataclass(defaults) else set()
    return name in fields or name in inspect.signature(model.fit).parameters or \
        (not fields and _passes_on(model, name))


def _passes_on(model, name):
    """Whether model.fit passes keyword `name` on (as a parameter, or through **kwargs to train)."""
    parameters = inspect.signature(model.fit).parameters
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _fit_kwargs(entry, model, options):
    """Keyword arguments for model.fit: the entry's own, then seed / epochs / steps from the command line."""
    kwargs = dict(entry.fit_kwargs(options))
    for name in ("epochs", "steps"):
        if options.get(name) is None:
            continue
        if not _takes(model, name):
            raise UsageError(f"model {entry.name!r} does not take --{name}")
        kwargs[name] = options[name]
    if _passes_on(model, "seed"):
        kwargs.setdefault("seed", options["seed"])
    if _passes_on(model, "progress"):
        kwargs.setdefault("progress", options.get("progress", True))
    return kwargs


def _checkpoint_kwargs(model, run_dir, resume):
    """checkpoint / resume arguments for fit, when the family trains through minigen.train."""
    if not all(_passes_on(model, name) for name in ("checkpoint", "checkpoint_every", "resume")):
        return {}
    path = os.path.join(run_dir, runs.CHECKPOINT_FILE)
    steps_based = _takes(model, "steps") and not _takes(model, "epochs")
    kwargs = {"checkpoint": path, "checkpoint_every": CHECKPOINT_EVERY * (4 if steps_based else 1)}
    if resume:
        kwargs["resume"] = path
    return kwargs


def _check_compatible(entry, data_name, X_train):
    """Text models train on text, the others on arrays: say so before building anything."""
    wants_text, is_text = entry.data == "text", isinstance(X_train, str)
    if wants_text != is_text:
        raise UsageError(f"model {entry.name!r} trains on {'text' if wants_text else 'arrays of numbers'}, "
                         f"and {data_name!r} is {'text' if is_text else 'not text'}")


def _checked_model(entry, X_train, options):
    """The family's fresh model for this data, with the data checked by the model's own rules."""
    data_shape = (len(X_train),) if isinstance(X_train, str) else tuple(X_train.shape[1:])
    autograd.manual_seed(options["seed"])
    try:
        model = entry.build(data_shape, options)
        if not isinstance(X_train, str) and hasattr(model, "check_data"):
            model.check_data(X_train, where="fit")
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    return model


def _fit(model, train_part, kwargs, run_dir):
    """model.fit; Ctrl-C leaves the checkpoint (if the family writes one) and says how to resume."""
    try:
        model.fit(*(train_part if isinstance(train_part, tuple) else (train_part,)), **kwargs)
    except KeyboardInterrupt as exc:
        checkpointed = os.path.isfile(os.path.join(run_dir, runs.CHECKPOINT_FILE))
        hint = f"; continue with: minigen train --resume {run_dir}" if checkpointed else ""
        raise KeyboardInterrupt(f"{str(exc) or 'training stopped'}{hint}") from None
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None


def train_run(entry: zoo.Entry, data_name: str, options: dict[str, Any], run_dir: str,
              argv: Sequence[str] | None = None, resume: bool = False, data: tuple | None = None,
              model: GenerativeModel | None = None,
              fit_kwargs: dict[str, Any] | None = None) -> tuple[GenerativeModel, dict[str, Any]]:
    """Build (unless given), fit, save, then evaluate one run; returns (model, info).  `fit_kwargs`
    are those of _fit_kwargs when the caller has already worked them out.

    run.json is written before training (status "training"), so an interrupted run can be resumed;
    the model is saved as soon as it is trained, and the metrics are added after the evaluation."""
    X_train, X_test = data or _load_for(entry, data_name)
    model = model or _checked_model(entry, _inputs(X_train), options)
    info = runs.provenance(entry.name, dict(model.config), data_name, options["seed"], argv)
    info.update(options={k: v for k, v in options.items() if k != "progress"}, status="training",
                quick=bool(options.get("quick")))
    runs.write_info(run_dir, info)
    if fit_kwargs is None:
        fit_kwargs = _fit_kwargs(entry, model, options)
    _fit(model, X_train, {**fit_kwargs, **_checkpoint_kwargs(model, run_dir, resume)}, run_dir)
    info["status"] = "trained"
    runs.save_run(run_dir, model, info)
    if entry.evaluate:
        _say(options, f"evaluating {entry.name} on the {data_name} test split ...")
        try:
            info["metrics"] = _finite_numbers(entry.evaluate(model, X_test))
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"during the evaluation; the trained model is saved in {run_dir} "
                                    f"(`minigen eval {run_dir}` evaluates it)") from None
    info["status"] = "evaluated"
    runs.save_run(run_dir, model, info)
    return model, info


def _say(options, message):
    if options.get("progress", True):
        print(message, file=sys.stderr, flush=True)


# -- train -------------------------------------------------------------------------------------
def _train_options(args):
    if args.epochs is not None and args.epochs < 1 or args.steps is not None and args.steps < 1:
        raise UsageError("--epochs and --steps must be at least 1")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer from 0 to {MAX_SEED}, got {args.seed}")


def cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    if args.resume is not None:
        return cmd_resume(args, argv)
    if args.model is None:
        raise UsageError("a MODEL is required (or --resume RUN_DIR); `minigen list` shows the families")
    _train_options(args)
    _use_backend(args.backend)
    entry = _entry(args.model)
    data_name = args.data or entry.data
    X_train, X_test = _load_for(entry, data_name)
    _check_compatible(entry, data_name, _inputs(X_train))
    options = {"seed": args.seed, "epochs": args.epochs, "steps": args.steps, "quick": args.quick,
               "data": data_name, "progress": not args.quiet}
    model = _checked_model(entry, _inputs(X_train), options)
    fit_kwargs = _fit_kwargs(entry, model, options)                       # refuses what fit does not take
    run_dir = args.out if args.out is not None else \
        os.path.join("runs", f"{entry.name}-{os.path.basename(data_name)}-seed{args.seed}")
    created = _prepare(run_dir, force=args.force)
    if args.force and not created:
        _clear_run(run_dir)
    with _removed_on_failure(run_dir, created):
        result = train_run(entry, data_name, options, run_dir, argv, data=(X_train, X_test), model=model,
                           fit_kwargs=fit_kwargs)
    return _report(*result, run_dir)


def cmd_resume(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Continue the interrupted run in args.resume with the options it was started with."""
    run_dir = args.resume
    if args.model is not None or args.out not in (None, run_dir):
        raise UsageError("--resume RUN_DIR continues that run: give no MODEL and no other --out")
    try:
        info = runs.read_info(run_dir)
    except runs.RunError as exc:
        raise UsageError(str(exc)) from None
    if not os.path.isfile(os.path.join(run_dir, runs.CHECKPOINT_FILE)):
        raise UsageError(f"{run_dir}: has no checkpoint to resume from")
    if info.get("status") == "evaluated":
        raise UsageError(f"{run_dir}: the run has finished; nothing to resume")
    _use_backend(info.get("backend") if args.backend is None else args.backend)
    entry = _entry(info["family"])
    options = dict(info.get("options") or {}, progress=not args.quiet)
    X_train, X_test = _load_for(entry, info["data"])
    try:
        model = runs.build_model(entry, info, run_dir)
    except runs.RunError as exc:
        raise UsageError(str(exc)) from None
    autograd.manual_seed(options.get("seed", 0))
    return _report(*train_run(entry, info["data"], options, run_dir, argv, resume=True,
                              data=(X_train, X_test), model=model), run_dir)


def _prepare(run_dir, force):
    try:
        return runs.prepare_run_dir(run_dir, force=force)
    except runs.RunError as exc:
        raise UsageError(str(exc)) from None


def _clear_run(run_dir):
    """--force: the previous run's files go, so nothing of it can be mistaken for the new one."""
    for name in runs.RUN_FILES:
        if os.path.isfile(os.path.join(run_dir, name)):
            os.remove(os.path.join(run_dir, name))


@contextlib.contextmanager
def _removed_on_failure(run_dir: str, created: bool) -> Iterator[None]:
    """A run that fails before it wrote a checkpoint or a model leaves nothing behind: the folder
    made for it goes, or, in a folder that was there, its run.json."""
    try:
        yield
    except BaseException:
        if not any(os.path.isfile(os.path.join(run_dir, name)) for name in (runs.CHECKPOINT_FILE, runs.MODEL_FILE)):
            if created:
                shutil.rmtree(run_dir, ignore_errors=True)
            elif os.path.isfile(os.path.join(run_dir, runs.RUN_FILE)):
                os.remove(os.path.join(run_dir, runs.RUN_FILE))
        raise


def _report(model, info, run_dir):
    quick = " (quick mode: a smoke test, not the family's result)" if info.get("quick") else ""
    for name, value in info.get("metrics", {}).items():
        print(f"{name}: {_format_number(value, name)}")
    print(f"run saved in {run_dir}{quick}")
    return 0


# -- list --------------------------------------------------------------------------------------
def family_table() -> str:
    """One line per family: name, default data, likelihood kind, default length, what --quick does."""
    lines = []
    for name in zoo.names():
        entry = zoo.REGISTRY[name]
        cls = entry.model_class
        defaults = cls.Defaults() if dataclasses.is_dataclass(getattr(cls, "Defaults", None)) else None
        length = ", ".join(f"{field} {getattr(defaults, field)}" for field in ("epochs", "steps")
                           if defaults is not None and hasattr(defaults, field)) or "closed form"
        quick = ", ".join(f"{k} {v}" for k, v in entry.fit_kwargs({"quick": True}).items() if v is not None)
        lines.append(f"{name:<18} data {entry.data:<14} likelihood {str(getattr(cls, 'likelihood_kind', None)):<6} "
                     f"default {length}; --quick: {quick or 'same'}; full CPU run {entry.cpu_time or 'not measured'}"
                     f"  {entry.description}")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace, argv: Sequence[str]) -> int:
    print(family_table())
    return 0


# -- sample ------------------------------------------------------------------------------------
def _sample_target(args, run_dir, is_text):
    """Where the samples go and in which format (by extension); '-' is stdout (text only)."""
    if args.out is None:
        return os.path.join(run_dir, "sample.txt" if is_text else "samples.png"), ".txt" if is_text else ".png"
    if args.out == "-":
        if not is_text:
            raise UsageError("--out - (standard output) is for text models; give FILE.npy or FILE.png")
        return "-", "-"
    extension = os.path.splitext(args.out)[1].lower()
    if extension not in SAMPLE_FORMATS:
        raise UsageError(f"--out {args.out!r}: unknown format; use one of {', '.join(SAMPLE_FORMATS)} or -")
    if extension == ".txt" and not is_text or is_text and extension != ".txt":
        raise UsageError(f"--out {args.out!r}: {'text' if is_text else 'this model'} samples go to "
                         f"{'.txt or -' if is_text else '.png, .npy or .npz'}")
    return args.out, extension


def _sample_kwargs(model, args):
    kwargs = {}
    label = None
    if args.label is not None:
        try:
            label = datasets.label_of(args.label)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for name, value in (("y", label), ("guidance", args.guidance)):
        if value is None:
            continue
        if name not in inspect.signature(model.sample).parameters:
            raise UsageError(f"this model is not conditional: it takes no --{'label' if name == 'y' else name}")
        kwargs[name] = value
    return kwargs


def cmd_sample(args: argparse.Namespace, argv: Sequence[str]) -> int:
    entry, model, info = _load_run(args.run_dir)
    is_text = info["data"] == "text"
    limit = MAX_CHARACTERS if is_text else MAX_SAMPLES
    if not 1 <= args.n <= limit:
        raise UsageError(f"--n must be from 1 to {limit}, got {args.n}")
    if getattr(model, "sample", None) is None:
        raise UsageError(f"model {entry.name!r} is not generative: it has no sample()")
    out, kind = _sample_target(args, args.run_dir, is_text)
    if is_text:
        return _write_text_sample(model.generate("\n", max_new_tokens=args.n, seed=args.seed), out)
    try:
        samples = model.sample(args.n, seed=args.seed, **_sample_kwargs(model, args))
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    samples = np.asarray(autograd.backend.to_numpy(samples))
    if kind == ".png":
        _draw_samples(samples, info["data"], out)
    else:
        _write_array(out, samples, kind)
    print(f"wrote {out}")
    return 0


def _write_text_sample(text, out):
    if out == "-":
        sys.stdout.write(text + "\n")
        return 0
    runs.write_text_atomic(out, text)
    print(text)
    print(f"wrote {out}")
    return 0


def _write_array(out, samples, kind):
    from autograd.serialize import atomic_file
    with atomic_file(out, "wb") as file:
        if kind == ".npy":
            np.save(file, samples, allow_pickle=False)
        else:
            np.savez(file, samples=samples)


def _draw_samples(samples, data_name, out):
    from minigen import plots
    title = f"{len(samples)} samples"
    if samples.ndim == 2 and samples.shape[1] == 2:
        train, _ = _load_data(data_name)
        centers = datasets.TOY_CENTERS.get(data_name)
        return plots.scatter_2d(samples, out, data=train[:2000], centers=centers, title=title)
    flat = samples.reshape(len(samples), -1)
    if math.isqrt(flat.shape[1]) ** 2 != flat.shape[1]:
        raise UsageError(f"cannot draw samples of shape {samples.shape[1:]} as images or points; "
                         "write them with --out FILE.npy")
    return plots.image_grid(np.clip(flat, 0, 1), out, title=title)


# -- eval --------------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace, argv: Sequence[str]) -> int:
    if args.table:
        return cmd_table(args)
    if args.run_dir is None:
        raise UsageError("give a RUN_DIR, or --table")
    entry, model, info = _load_run(args.run_dir)
    if entry.evaluate is None:
        raise UsageError(f"model {entry.name!r} has no evaluation metrics")
    _, X_test = _load_for(entry, info["data"])
    metrics = _finite_numbers(entry.evaluate(model, X_test))
    if info.get("quick"):
        metrics["quick_mode"] = "yes: a smoke test, not the family's result"
    print(json.dumps(metrics, indent=2) if args.json else
          "\n".join(f"{name}: {_format_number(value, name)}" for name, value in metrics.items()))
    return 0


def likelihood_rows(runs_dir: str, quick: bool, echo: Callable[[str], Any] = print,
                    data_name: str = TABLE_DATA) -> list[tuple[str, str, float]]:
    """(label, kind, nll) for every registered family with a likelihood, trained (or cached) on
    `data_name` (binarized digits by default)."""
    rows = []
    _, X_test = _load_data(data_name)
    for entry in zoo.with_likelihood(data_name):
        assert entry.likelihood is not None                  # with_likelihood keeps only these entries
        model = _cached_table_model(entry, runs_dir, quick, echo, data_name)
        for label, kind, nll in entry.likelihood(model, X_test):
            if kind not in LIKELIHOOD_KINDS:
                raise ValueError(f"{entry.name}: likelihood kind {kind!r} is not one of {LIKELIHOOD_KINDS}")
            rows.append((label, kind, float(nll)))
    return rows


def _cached_table_model(entry, runs_dir, quick, echo, data_name=TABLE_DATA):
    """The family's table run from the cache when it is one (right family, data, mode, finished);
    otherwise it is trained again and the cache replaced."""
    prefix = "table-" if data_name == TABLE_DATA else f"table-{data_name}-"
    run_dir = os.path.join(runs_dir, f"{prefix}{entry.name}{'-quick' if quick else ''}")
    try:
        cached_entry, model, info = runs.load_run(run_dir)
        if cached_entry is entry and info.get("data") == data_name and bool(info.get("quick")) == quick \
                and info.get("status", "evaluated") == "evaluated":
            return model
    except (runs.RunError, autograd.CheckpointError):
        pass
    echo(f"training {entry.name} on {data_name} ({'quick' if quick else 'default settings'}) ...")
    options = {"seed": 0, "epochs": None, "steps": None, "quick": quick, "data": data_name,
               "progress": False}
    runs.prepare_run_dir(run_dir, force=True)
    _clear_run(run_dir)
    return train_run(entry, data_name, options, run_dir, argv=["eval", "--table", "--data", data_name])[0]


def format_table(rows: Iterable[tuple[str, str, float]], quick: bool = False,
                 data_name: str = TABLE_DATA) -> str:
    """One Markdown table: this project's rows, then the reference rows."""
    source = "minigen (quick: smoke test)" if quick else "minigen"
    lines = ["| model | kind | test NLL (nats) | source |", "|---|---|---|---|"]
    lines += [f"| {label} | {kind} | {nll:.2f} | {source} |" for label, kind, nll in rows]
    lines += [f"| {label} | {kind} | {nll:.2f} | reference |" for label, kind, nll in REFERENCE_NLL[data_name]]
    return "\n".join(lines)


def cmd_table(args: argparse.Namespace) -> int:
    data_name = args.data or TABLE_DATA
    if data_name not in TABLE_SETS:
        raise UsageError(f"--data for the table must be one of {', '.join(TABLE_SETS)}, not {data_name!r}")
    rows = likelihood_rows(args.runs, args.quick, echo=lambda line: print(line, file=sys.stderr),
                           data_name=data_name)
    caveat = " QUICK MODE: short training, a smoke test; the references are full runs." if args.quick else ""
    print(f"Test NLL on {data_name} (test split, nats per image, lower is better).{caveat}")
    print(format_table(rows, args.quick, data_name))
    return 0


# -- demo and bench ----------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from minigen import demo
    try:
        found = demo.discover()
        if not found:
            raise demo.DemoError(f"no demos found in {demo.demos_folder()} (expected NN_name.py)")
        if args.name is None:
            print(demo.listing(found))
            return 0
        demo.select(args.name, found)
    except demo.DemoError as exc:
        raise UsageError(str(exc)) from None
    if args.name == "all" and not (args.quick or args.full):
        raise UsageError("`demo all` needs --quick (a few minutes) or --full (about an hour)")
    try:
        demo.run_all(args.name, quick=args.quick, out_dir=args.out, timeout=args.timeout)
    except demo.DemoError as exc:
        print(f"minigen demo: {exc}", file=sys.stderr)
        return FAILURE
    return 0


def cmd_bench(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run `python -m benchmarks` in a child process: minigen itself never imports the benchmarks."""
    if importlib.util.find_spec("benchmarks") is None:
        raise UsageError("the benchmarks are not available (run from a source checkout of minigen)")
    for name in (args.backends.split(",") if args.backends else []):
        _check_backend_available(name.strip())
    forwarded = (["--backends", args.backends] if args.backends else []) + (["--json"] if args.json else [])
    return subprocess.run([sys.executable, "-m", "benchmarks", *forwarded]).returncode


def _check_backend_available(name):
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    try:
        {"cupy": autograd.backend.require_cupy, "numba": autograd.backend.require_numba}.get(name, lambda: None)()
    except autograd.backend.BackendError as exc:
        raise UsageError(f"backend {name!r} is unavailable: {str(exc).splitlines()[0]}") from None


# -- the parser ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="minigen", description="Deep generative models from scratch.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    commands.required = True

    listing = commands.add_parser("list", help="the model families: data, defaults, likelihood, run time")
    listing.set_defaults(handler=cmd_list)

    train = commands.add_parser("train", help="train a model family and save a run directory",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="families (minigen list):\n" + family_table())
    train.add_argument("model", nargs="?", help="a model family (see below, or `minigen list`)")
    train.add_argument("--data", help="data set name or IDX file path (default: the family's)")
    train.add_argument("--epochs", type=int, help="epochs (default: the model's own)")
    train.add_argument("--steps", type=int, help="updates, for models trained by iterations")
    train.add_argument("--backend", choices=BACKENDS, default=None,
                       help="numpy, numba or cupy (default: $MINIGEN_BACKEND, else numpy)")
    train.add_argument("--out", help="run directory (default: runs/MODEL-DATA-seedS)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quick", action="store_true", help="the family's small, fast settings (a smoke test)")
    train.add_argument("--force", action="store_true", help="replace the run (or other files) in --out")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    train.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    train.set_defaults(handler=cmd_train)

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--n", type=int, default=64, help="how many samples (characters for text)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--label", help="the class to draw, for conditional models: 7 or a word (\"seven\")")
    sample.add_argument("--guidance", type=float, help="classifier-free guidance weight w")
    sample.add_argument("--out", help="FILE.png (a grid), FILE.npy / FILE.npz (the arrays), FILE.txt or - "
                                      "(text models); default RUN_DIR/samples.png or RUN_DIR/sample.txt")
    sample.set_defaults(handler=cmd_sample)

    evaluate = commands.add_parser("eval", help="a run's metrics, or the likelihood table")
    evaluate.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--table", action="store_true", help="test NLL of every likelihood model")
    evaluate.add_argument("--quick", action="store_true", help="with --table: quick training")
    evaluate.add_argument("--runs", default="runs", help="with --table: where cached runs live")
    evaluate.add_argument("--data", help="with --table: digits-binary (default) or mnist-binary")
    evaluate.set_defaults(handler=cmd_eval)

    demo = commands.add_parser("demo", help="list the demos, or run them (figures and out/summary.md)")
    demo.add_argument("name", nargs="?", default=None, help="a demo (number or name), or all; none lists them")
    mode = demo.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small, fast versions (seconds each)")
    mode.add_argument("--full", action="store_true", help="the full versions (minutes each)")
    demo.add_argument("--out", default=None, help="output folder (default: out/quick or out/full)")
    demo.add_argument("--timeout", type=float, default=None, help="seconds per demo")
    demo.set_defaults(handler=cmd_demo)

    bench = commands.add_parser("bench", help="the backend benchmarks")
    bench.add_argument("--backends", help="comma-separated, e.g. numpy,numba,cupy")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "train" and args.backend is None and args.resume is None:
        args.backend = _default_backend_or_error()
    if getattr(args, "command", None) == "demo" and args.out is None:
        args.out = os.path.join("out", "quick" if args.quick else "full")
    try:
        status = args.handler(args, argv)
    except UsageError as exc:
        _fail(args, f"error: {exc}", USAGE_ERROR)
    except KeyboardInterrupt as exc:
        _fail(args, f"interrupted{': ' + str(exc) if str(exc) else ''}", INTERRUPTED)
    except FloatingPointError as exc:
        _fail(args, f"error: {exc}", FAILURE)
    except MemoryError:
        _fail(args, "error: out of memory; ask for fewer samples, a smaller model or less data", USAGE_ERROR)
    except OSError as exc:
        _fail(args, f"error: {exc.filename or ''}: {exc.strerror or exc}", USAGE_ERROR)
    except (runs.RunError, autograd.CheckpointError, autograd.backend.BackendError) as exc:
        _fail(args, f"error: {str(exc).splitlines()[0]}", USAGE_ERROR)
    raise SystemExit(status)


def _default_backend_or_error():
    requested = os.environ.get("MINIGEN_BACKEND") or "numpy"
    if requested not in BACKENDS:
        print(f"minigen train: error: MINIGEN_BACKEND={requested!r} is not one of {', '.join(BACKENDS)}; "
              "unset it or pass --backend", file=sys.stderr)
        raise SystemExit(USAGE_ERROR)
    return requested


def _fail(args, message, status):
    print(f"minigen {args.command}: {message}", file=sys.stderr)
    raise SystemExit(status) from None
