"""Running the demos: `run_demo(main)` for one script, and the runner behind `minigen demo`.

A demo is `demos/NN_name.py` defining `main(quick=False, out_dir="out") -> dict` of key numbers;
it ends with `run_demo(main)`, which parses --quick and --out, runs main and prints the numbers.

`run_all(names, quick)` runs each demo in a fresh process (MPLBACKEND=Agg), times it, collects its
numbers, and merges them into out_dir/summary.md (the rows of demos run earlier into the same folder
stay; out_dir/summary.json keeps them). A demo fails when it exits non-zero, returns a non-finite
number, or prints a warning; the runner then names it and the command exits non-zero.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograd.serialize import atomic_file

RESULT_ENV = "MINIGEN_DEMO_RESULT"
DEMO_PATTERN = re.compile(r"^(\d+)_(\w+)\.py$")
QUICK_BUDGET_S = 120
WARNING_PATTERN = re.compile(r"\b\w*Warning\b:")


class DemoError(RuntimeError):
    """A demo that could not be found or that failed; the message is one line."""


def run_demo(main, argv=None):
    """Parse --quick and --out, run main(quick, out_dir), print its numbers (and hand them to a runner)."""
    parser = argparse.ArgumentParser(description=(main.__module__ if main.__module__ != "__main__"
                                                  else "a minigen demo"))
    parser.add_argument("--quick", action="store_true", help="a small, fast version (for make demo)")
    parser.add_argument("--out", default="out", help="folder for the figures (default: out)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    numbers = {key: _plain(value) for key, value in main(quick=args.quick, out_dir=args.out).items()}
    elapsed = time.perf_counter() - started
    for key, value in numbers.items():
        print(f"{key}: {_format(value)}")
    print(f"wall time: {elapsed:.1f} s")
    if os.environ.get(RESULT_ENV):
        _write_json(os.environ[RESULT_ENV], numbers)
    return numbers


def _plain(value):
    """A NumPy scalar as the Python number it holds (so it prints and serializes as one)."""
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _write_json(path, payload):
    with atomic_file(path, "w") as file:
        json.dump(payload, file, default=str)


def demos_folder():
    """The repository's demos/ folder (next to the minigen package); one-line error if absent."""
    folder = Path(__file__).resolve().parent.parent / "demos"
    if not folder.is_dir():
        raise DemoError(f"no demos folder at {folder} (the demos ship with the repository, not the package)")
    return folder


def discover(folder=None):
    """name -> path of every demos/NN_name.py, in number order."""
    folder = Path(folder) if folder is not None else demos_folder()
    found = sorted(p for p in folder.iterdir() if DEMO_PATTERN.match(p.name))
    return {p.stem: p for p in found}


def select(names, demos):
    """The demos asked for: "all", a full stem ("03_vae"), its number ("03", "3") or its name ("vae")."""
    if names in (None, "all") or names == ["all"]:
        return list(demos.items())
    chosen = []
    for name in ([names] if isinstance(names, str) else names):
        matches = [(stem, path) for stem, path in demos.items() if _matches(name, stem)]
        if not matches:
            raise DemoError(f"unknown demo {name!r}; known demos: {', '.join(demos) or 'none'}")
        chosen.extend(matches)
    return chosen


def listing(demos):
    """The demos, one line each: name and the first line of its docstring."""
    lines = []
    for stem, path in demos.items():
        first = _docstring_first_line(path)
        lines.append(f"{stem:<36} {first}")
    lines.append("run one with `minigen demo NAME --quick` (or --full); all of them: `minigen demo all --quick`")
    return "\n".join(lines)


def _docstring_first_line(path):
    import ast
    try:
        docstring = ast.get_docstring(ast.parse(Path(path).read_text())) or ""
    except SyntaxError:
        return ""
    return docstring.strip().splitlines()[0] if docstring.strip() else ""


def _matches(name, stem):
    number, rest = DEMO_PATTERN.match(stem + ".py").groups()
    return name in (stem, rest) or (name.isdigit() and int(name) == int(number))


def run_one(path, quick, out_dir, timeout=None):
    """Run one demo in a fresh process; its numbers, wall time, and a failure reason (or None)."""
    package_root = str(Path(__file__).resolve().parent.parent)         # where `import minigen` works
    with tempfile.TemporaryDirectory() as scratch:
        result_path = os.path.join(scratch, "result.json")
        env = dict(os.environ, MPLBACKEND="Agg", **{RESULT_ENV: result_path})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        command = [sys.executable, str(path), "--out", str(out_dir)] + (["--quick"] if quick else [])
        started = time.perf_counter()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {}, time.perf_counter() - started, f"ran past {timeout} s"
        elapsed = time.perf_counter() - started
        numbers = json.load(open(result_path)) if os.path.exists(result_path) else {}
    return numbers, elapsed, _failure(done, numbers)


def _failure(done, numbers):
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return f"exit status {done.returncode}: {lines[-1] if lines else 'no message'}"
    bad = [k for k, v in numbers.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        return f"non-finite numbers: {', '.join(bad)}"
    warnings = [line for line in done.stderr.splitlines() if WARNING_PATTERN.search(line)]
    if warnings:
        return f"printed a warning: {warnings[0].strip()}"
    return None


def write_summary(rows, path, quick):
    """out/summary.md: one row per demo with its key numbers and wall time, merged with the rows of
    demos run earlier into the same folder (kept in summary.json beside it)."""
    merged = _earlier_rows(path)
    merged.update({name: [numbers, elapsed, failure] for name, numbers, elapsed, failure in rows})
    _write_text(os.path.splitext(path)[0] + ".json", json.dumps(merged, default=str))
    lines = [f"# minigen demos ({'quick' if quick else 'full'} mode)", "",
             "| demo | key numbers | wall time (s) | status |", "|---|---|---|---|"]
    for name in sorted(merged):
        numbers, elapsed, failure = merged[name]
        shown = "; ".join(f"{k} = {_format(v)}" for k, v in numbers.items())
        status = "ok" if failure is None else f"FAILED: {failure}"
        if failure is None and quick and elapsed > QUICK_BUDGET_S:
            status = f"ok, over the {QUICK_BUDGET_S} s quick budget"
        lines.append(f"| {name} | {shown} | {elapsed:.1f} | {status} |")
    total = sum(elapsed for _, elapsed, _ in merged.values())
    lines += ["", f"Total wall time: {total:.1f} s."]
    _write_text(path, "\n".join(lines) + "\n")
    return path


def _earlier_rows(path):
    """name -> [numbers, seconds, failure] from an earlier summary.json beside `path` (else empty)."""
    try:
        with open(os.path.splitext(path)[0] + ".json") as file:
            rows = json.load(file)
    except (OSError, ValueError):
        return {}
    return {name: row for name, row in rows.items() if isinstance(row, list) and len(row) == 3} \
        if isinstance(rows, dict) else {}


def _write_text(path, text):
    with atomic_file(path, "w") as file:
        file.write(text)


def run_all(names="all", quick=False, out_dir="out", folder=None, timeout=None, echo=print):
    """Run the chosen demos one after another; write summary.md; raise DemoError naming failures."""
    chosen = select(names, discover(folder))
    if not chosen:
        raise DemoError("no demos found (expected demos/NN_name.py)")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for name, path in chosen:
        numbers, elapsed, failure = run_one(path, quick, out_dir, timeout)
        rows.append((name, numbers, elapsed, failure))
        echo(f"{name}: {'ok' if failure is None else 'FAILED'} in {elapsed:.1f} s"
             + ("" if failure is None else f" ({failure})"))
        write_summary(rows, os.path.join(out_dir, "summary.md"), quick)     # kept current as it goes
    failed = [name for name, _, _, failure in rows if failure is not None]
    if failed:
        raise DemoError(f"demo failed: {', '.join(failed)} (see {os.path.join(out_dir, 'summary.md')})")
    return rows
