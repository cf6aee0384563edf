"""The `minigen` command line: train, sample, eval (and the likelihood table), demo, bench.

    minigen train MODEL [--data NAME|PATH] [--epochs N] [--steps N] [--backend numpy|numba|cupy]
                        [--out DIR] [--seed S] [--quick]
    minigen sample RUN_DIR [--n N] [--out FILE]
    minigen eval RUN_DIR [--json]          minigen eval --table [--quick] [--runs DIR]
    minigen demo [NAME|all] [--quick] [--out DIR]
    minigen bench [--backends numpy,numba,cupy] [--json]

Usage errors (bad arguments, unknown models or data, missing files, corrupt checkpoints, an
unavailable backend) exit with status 2 and one line on stderr; every file is written atomically.
"""
import argparse
import importlib.util
import inspect
import json
import math
import os
import subprocess
import sys

import numpy as np

import autograd
from minigen import data as datasets
from minigen import runs, zoo

USAGE_ERROR = 2
FAILURE = 1
INTERRUPTED = 130
BACKENDS = ("numpy", "numba", "cupy")
TABLE_DATA = "digits-binary"

# Reference rows of shared/MODELS.md: test NLL in nats on binarized digits (the API.md split),
# measured with code outside this project.
REFERENCE_NLL = (
    ("mixture of 50 Bernoullis, EM", "exact", 18.76),
    ("scikit-learn BernoulliRBM, 16 hidden, PCD-1, 200 epochs", "exact", 18.86),
    ("PyTorch MADE, one hidden layer of 500, 300 epochs", "exact", 17.48),
    ("PyTorch VAE 64-256-256-8, 300 epochs, k=2000", "IWAE", 16.24),
)
LIKELIHOOD_KINDS = ("exact", "AIS", "IWAE", "bound")


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (no usage block) and exit status 2."""

    def error(self, message):
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
        return datasets.load_named(name)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None


def _load_run(run_dir):
    try:
        return runs.load_run(run_dir)
    except (runs.RunError, autograd.CheckpointError) as exc:
        raise UsageError(str(exc)) from None


def _finite_numbers(metrics):
    """Metrics as plain floats/ints/strings (JSON-able)."""
    return {k: (float(v) if isinstance(v, (float, np.floating)) else
                int(v) if isinstance(v, (int, np.integer)) else str(v)) for k, v in metrics.items()}


def _fit_kwargs(entry, model, options):
    """Keyword arguments for model.fit: the entry's own, then seed / epochs / steps from the command line."""
    accepted = inspect.signature(model.fit).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = dict(entry.fit_kwargs(options))
    for name in ("epochs", "steps"):
        if options.get(name) is None:
            continue
        if name not in accepted and not takes_any:
            raise UsageError(f"model {entry.name!r} does not take --{name}")
        kwargs[name] = options[name]
    if "seed" in accepted or takes_any:
        kwargs.setdefault("seed", options["seed"])
    if "progress" in accepted or takes_any:
        kwargs.setdefault("progress", options.get("progress", True))
    return kwargs


def train_run(entry, data_name, options, run_dir, argv=None):
    """Build, fit, evaluate and save one run; returns (model, info)."""
    X_train, X_test = _load_data(data_name)
    data_shape = (len(X_train),) if isinstance(X_train, str) else tuple(X_train.shape[1:])
    autograd.manual_seed(options["seed"])
    model = entry.build(data_shape, options)
    model.fit(X_train, **_fit_kwargs(entry, model, options))
    metrics = _finite_numbers(entry.evaluate(model, X_test)) if entry.evaluate else {}
    info = runs.provenance(entry.name, dict(model.config), data_name, options["seed"], argv)
    info.update(options={k: v for k, v in options.items() if k != "progress"}, metrics=metrics)
    runs.save_run(run_dir, model, info)
    return model, info


# -- train -------------------------------------------------------------------------------------
def cmd_train(args, argv):
    if args.epochs is not None and args.epochs < 1 or args.steps is not None and args.steps < 1:
        raise UsageError("--epochs and --steps must be at least 1")
    _use_backend(args.backend)
    entry = _entry(args.model)
    data_name = args.data or entry.data
    run_dir = args.out or os.path.join("runs", f"{entry.name}-{os.path.basename(data_name)}-seed{args.seed}")
    options = {"seed": args.seed, "epochs": args.epochs, "steps": args.steps, "quick": args.quick,
               "data": data_name, "progress": True}
    _, info = train_run(entry, data_name, options, run_dir, argv)
    for name, value in info["metrics"].items():
        print(f"{name}: {value}")
    print(f"run saved in {run_dir}")
    return 0


# -- sample ------------------------------------------------------------------------------------
def cmd_sample(args, argv):
    if args.n < 1:
        raise UsageError("--n must be at least 1")
    entry, model, info = _load_run(args.run_dir)
    if getattr(model, "sample", None) is None:
        raise UsageError(f"model {entry.name!r} is not generative: it has no sample()")
    data_name = info["data"]
    if data_name == "text":
        text = model.generate("\n", max_new_tokens=args.n)
        out = args.out or os.path.join(args.run_dir, "sample.txt")
        runs.write_text_atomic(out, text)
        print(text)
    else:
        out = args.out or os.path.join(args.run_dir, "samples.png")
        _draw_samples(np.asarray(autograd.backend.to_numpy(model.sample(args.n, seed=args.seed))),
                      data_name, out)
    print(f"wrote {out}")
    return 0


def _draw_samples(samples, data_name, out):
    from minigen import plots
    title = f"{len(samples)} samples"
    if samples.ndim == 2 and samples.shape[1] == 2:
        train, _ = _load_data(data_name)
        centers = datasets.TOY_CENTERS.get(data_name)
        return plots.scatter_2d(samples, out, data=train[:2000], centers=centers, title=title)
    flat = samples.reshape(len(samples), -1)
    if math.isqrt(flat.shape[1]) ** 2 != flat.shape[1]:
        raise UsageError(f"cannot draw samples of shape {samples.shape[1:]} as images or points")
    return plots.image_grid(np.clip(flat, 0, 1), out, title=title)


# -- eval --------------------------------------------------------------------------------------
def cmd_eval(args, argv):
    if args.table:
        return cmd_table(args)
    if args.run_dir is None:
        raise UsageError("give a RUN_DIR, or --table")
    entry, model, info = _load_run(args.run_dir)
    if entry.evaluate is None:
        raise UsageError(f"model {entry.name!r} has no evaluation metrics")
    _, X_test = _load_data(info["data"])
    metrics = _finite_numbers(entry.evaluate(model, X_test))
    print(json.dumps(metrics, indent=2) if args.json else
          "\n".join(f"{name}: {value}" for name, value in metrics.items()))
    return 0


def likelihood_rows(runs_dir, quick, echo=print):
    """(label, kind, nll) for every registered family with a likelihood, trained (or cached) on digits."""
    rows = []
    _, X_test = _load_data(TABLE_DATA)
    for entry in zoo.with_likelihood():
        model = _cached_table_model(entry, runs_dir, quick, echo)
        for label, kind, nll in entry.likelihood(model, X_test):
            if kind not in LIKELIHOOD_KINDS:
                raise ValueError(f"{entry.name}: likelihood kind {kind!r} is not one of {LIKELIHOOD_KINDS}")
            rows.append((label, kind, float(nll)))
    return rows


def _cached_table_model(entry, runs_dir, quick, echo):
    run_dir = os.path.join(runs_dir, f"table-{entry.name}{'-quick' if quick else ''}")
    try:
        return runs.load_run(run_dir)[1]
    except (runs.RunError, autograd.CheckpointError):
        echo(f"training {entry.name} on {TABLE_DATA} ({'quick' if quick else 'default settings'}) ...")
    options = {"seed": 0, "epochs": None, "steps": None, "quick": quick, "data": TABLE_DATA,
               "progress": False}
    return train_run(entry, TABLE_DATA, options, run_dir, argv=["eval", "--table"])[0]


def format_table(rows):
    """One Markdown table: this project's rows, then the references of shared/MODELS.md."""
    lines = ["| model | kind | test NLL (nats) | source |", "|---|---|---|---|"]
    lines += [f"| {label} | {kind} | {nll:.2f} | minigen |" for label, kind, nll in rows]
    lines += [f"| {label} | {kind} | {nll:.2f} | reference |" for label, kind, nll in REFERENCE_NLL]
    return "\n".join(lines)


def cmd_table(args):
    rows = likelihood_rows(args.runs, args.quick, echo=lambda line: print(line, file=sys.stderr))
    print(f"Test NLL on binarized digits ({TABLE_DATA}, test split, nats per image, lower is better)")
    print(format_table(rows))
    return 0


# -- demo and bench ----------------------------------------------------------------------------
def cmd_demo(args, argv):
    from minigen import demo
    try:
        found = demo.discover()
        if not found:
            raise demo.DemoError(f"no demos found in {demo.demos_folder()} (expected NN_name.py)")
        demo.select(args.name, found)
    except demo.DemoError as exc:
        raise UsageError(str(exc)) from None
    try:
        demo.run_all(args.name, quick=args.quick, out_dir=args.out, timeout=args.timeout)
    except demo.DemoError as exc:
        print(f"minigen demo: {exc}", file=sys.stderr)
        return FAILURE
    return 0


def cmd_bench(args, argv):
    """Run `python -m benchmarks` in a child process: minigen itself never imports the benchmarks."""
    if importlib.util.find_spec("benchmarks") is None:
        raise UsageError("the benchmarks are not available (run from a source checkout of minigen)")
    forwarded = (["--backends", args.backends] if args.backends else []) + (["--json"] if args.json else [])
    return subprocess.run([sys.executable, "-m", "benchmarks", *forwarded]).returncode


# -- the parser ------------------------------------------------------------------------------
def build_parser():
    parser = OneLineParser(prog="minigen", description="Deep generative models from scratch.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    commands.required = True

    train = commands.add_parser("train", help="train a model family and save a run directory")
    train.add_argument("model", help="a model family (see minigen.zoo.REGISTRY)")
    train.add_argument("--data", help="data set name or IDX file path (default: the family's)")
    train.add_argument("--epochs", type=int, help="epochs (default: the model's own)")
    train.add_argument("--steps", type=int, help="updates, for models trained by iterations")
    train.add_argument("--backend", choices=BACKENDS, default=autograd.get_backend())
    train.add_argument("--out", help="run directory (default: runs/MODEL-DATA-seedS)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quick", action="store_true", help="the family's small, fast settings")
    train.set_defaults(handler=cmd_train)

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--n", type=int, default=64, help="how many samples (characters for text)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", help="output file (default: RUN_DIR/samples.png or sample.txt)")
    sample.set_defaults(handler=cmd_sample)

    evaluate = commands.add_parser("eval", help="a run's metrics, or the likelihood table")
    evaluate.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--table", action="store_true", help="test NLL of every likelihood model")
    evaluate.add_argument("--quick", action="store_true", help="with --table: quick training")
    evaluate.add_argument("--runs", default="runs", help="with --table: where cached runs live")
    evaluate.set_defaults(handler=cmd_eval)

    demo = commands.add_parser("demo", help="run the demo scripts; writes out/*.png and out/summary.md")
    demo.add_argument("name", nargs="?", default="all", help="a demo (number or name), or all")
    demo.add_argument("--quick", action="store_true")
    demo.add_argument("--out", default="out")
    demo.add_argument("--timeout", type=float, default=None, help="seconds per demo")
    demo.set_defaults(handler=cmd_demo)

    bench = commands.add_parser("bench", help="the backend benchmarks")
    bench.add_argument("--backends", help="comma-separated, e.g. numpy,numba,cupy")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        status = args.handler(args, argv)
    except UsageError as exc:
        print(f"minigen {args.command}: error: {exc}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None
    except KeyboardInterrupt as exc:
        print(f"minigen {args.command}: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        raise SystemExit(INTERRUPTED) from None
    except FloatingPointError as exc:
        print(f"minigen {args.command}: error: {exc}", file=sys.stderr)
        raise SystemExit(FAILURE) from None
    raise SystemExit(status)
