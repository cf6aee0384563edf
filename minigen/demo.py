"""Running the demos: `run_demo(main)` for one script, and the runner behind `minigen demo`.

A demo is `demos/NN_name.py` defining `main(quick=False, out_dir="out") -> dict` of key numbers;
it ends with `run_demo(main)`, which parses --quick and --out, runs main and prints the numbers.

`run_all(names, quick)` runs each demo in a fresh process (MPLBACKEND=Agg), times it, collects its
numbers, and merges them into out_dir/summary.md (the rows of demos run earlier into the same folder
stay; out_dir/summary.json keeps them). A demo fails when it exits non-zero, returns a non-finite
number, or prints a warning; the runner then names it and the command exits non-zero.

It also writes out_dir/index.html, a static gallery (no JavaScript, relative links): every figure
each demo wrote (the images created or replaced while it ran), with its caption (the text minigen.plots
stores in the PNG, else one made from the file name), the command that made it, and the demo's key
numbers and wall time. It merges like the summary: out_dir/gallery.json remembers which figures each
demo wrote, and images in the folder that no recorded demo claims are listed at the end.
"""
import argparse
import html
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union
from urllib.parse import quote

from autograd.serialize import atomic_file

RESULT_ENV = "MINIGEN_DEMO_RESULT"
IMAGE_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".svg")
GALLERY_RECORD = "gallery.json"
REPOSITORY_DEMOS = Path(__file__).resolve().parent.parent / "demos"     # next to the minigen package
DEMO_PATTERN = re.compile(r"^(\d+)_(\w+)\.py$")
QUICK_BUDGET_S = 120
WARNING_PATTERN = re.compile(r"\b\w*Warning\b:")


class DemoError(RuntimeError):
    """A demo that could not be found or that failed; the message is one line."""


def run_demo(main: Callable[..., dict], argv: Optional[Sequence[str]] = None) -> dict:
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


def demos_folder() -> Path:
    """The repository's demos/ folder (next to the minigen package); one-line error if absent."""
    if not REPOSITORY_DEMOS.is_dir():
        raise DemoError(f"no demos folder at {REPOSITORY_DEMOS} "
                        "(the demos ship with the repository, not the package)")
    return REPOSITORY_DEMOS


def discover(folder: Optional[Union[str, Path]] = None) -> Dict[str, Path]:
    """name -> path of every demos/NN_name.py, in number order."""
    folder = Path(folder) if folder is not None else demos_folder()
    found = sorted(p for p in folder.iterdir() if DEMO_PATTERN.match(p.name))
    return {p.stem: p for p in found}


def select(names: Union[str, Sequence[str], None], demos: Dict[str, Path]) -> List[tuple]:
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


def listing(demos: Dict[str, Path]) -> str:
    """The demos, one line each: name and the first line of its docstring."""
    lines = []
    for stem, path in demos.items():
        first = _docstring_first_line(path)
        lines.append(f"{stem:<36} {first}")
    lines.append("run one with `minigen demo NAME --quick` (or --full); "
                 "all of them: `minigen demo all --quick`")
    return "\n".join(lines)


def _docstring_first_line(path):
    import ast
    try:
        docstring = ast.get_docstring(ast.parse(Path(path).read_text())) or ""
    except SyntaxError:
        return ""
    return docstring.strip().splitlines()[0] if docstring.strip() else ""


def _matches(name, stem):
    match = DEMO_PATTERN.match(stem + ".py")
    assert match is not None                            # discover keeps only NN_name.py files
    number, rest = match.groups()
    return name in (stem, rest) or (name.isdigit() and int(name) == int(number))


def run_one(path: Union[str, Path], quick: bool, out_dir: str, timeout: Optional[float] = None) -> tuple:
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


def write_summary(rows: Sequence[tuple], path: str, quick: bool) -> str:
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
        lines.append(f"| {name} | {shown} | {elapsed:.1f} | {_status(failure, elapsed, quick)} |")
    total = sum(elapsed for _, elapsed, _ in merged.values())
    lines += ["", f"Total wall time: {total:.1f} s."]
    _write_text(path, "\n".join(lines) + "\n")
    return path


def _status(failure, elapsed, quick):
    if failure is not None:
        return f"FAILED: {failure}"
    return f"ok, over the {QUICK_BUDGET_S} s quick budget" if quick and elapsed > QUICK_BUDGET_S else "ok"


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
    with atomic_file(path, "wb") as file:
        file.write(text.encode("utf-8"))


# -- the gallery ---------------------------------------------------------------------------------
def _image_versions(out_dir):
    """relative path -> (inode, mtime, size) of every image under out_dir (hidden files skipped).

    Figures are written to a temporary file and renamed, so a rewritten figure has a new inode."""
    versions = {}
    for folder, subfolders, files in os.walk(out_dir):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                info = os.stat(os.path.join(folder, name))
                relative = Path(os.path.relpath(os.path.join(folder, name), out_dir)).as_posix()
                versions[relative] = (info.st_ino, info.st_mtime_ns, info.st_size)
    return versions


def _written_since(before, out_dir):
    """The images under out_dir created or replaced since `before` was taken, oldest first."""
    after = _image_versions(out_dir)
    written = [path for path, version in after.items() if before.get(path) != version]
    return sorted(written, key=lambda path: (after[path][1], path))


def _commands(path, quick, out_dir):
    """The shell commands that remake a demo's figures: the script itself, and `minigen demo` when
    the script is one of the repository's demos."""
    out = shlex.quote(str(out_dir))
    in_repository = Path(path).resolve().parent == REPOSITORY_DEMOS
    script = f"demos/{Path(path).name}" if in_repository else shlex.quote(str(path))
    commands = [f"python {script}{' --quick' if quick else ''} --out {out}"]
    if in_repository:
        commands.append(f"minigen demo {Path(path).stem} {'--quick' if quick else '--full'} --out {out}")
    return commands


def _gallery_entry(path, quick, out_dir, figures):
    return {"about": _docstring_first_line(path), "commands": _commands(path, quick, out_dir),
            "quick": bool(quick), "figures": figures}


def figure_caption(path: Union[str, "os.PathLike[str]"]) -> str:
    """The caption a figure carries (the PNG text "Description", else "Title", as minigen.plots
    writes them), else one made from its file name ("50_digits_forward.png" -> "digits forward")."""
    from PIL import Image
    try:
        with Image.open(path) as image:
            text = dict(getattr(image, "text", None) or {})
    except (OSError, SyntaxError, ValueError):                 # not an image PIL can read
        text = {}
    caption = text.get("Description") or text.get("Title")
    if caption:
        return caption
    stem = re.sub(r"^\d+_", "", Path(path).stem)
    return stem.replace("_", " ")


def _earlier_gallery(path):
    """demo name -> its gallery entry from an earlier gallery.json (else empty)."""
    try:
        with open(path) as file:
            record = json.load(file)
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    return {name: entry for name, entry in record.items()
            if isinstance(entry, dict) and isinstance(entry.get("figures"), list)}


def write_gallery(out_dir: str, entries: Dict[str, dict], quick: bool) -> str:
    """out_dir/index.html from the merged record of every demo run into out_dir (gallery.json) and
    the merged summary rows (summary.json). entries: demo name -> what it just wrote; a figure
    belongs to the demo that wrote it last."""
    record_path = os.path.join(out_dir, GALLERY_RECORD)
    record = _earlier_gallery(record_path)
    for name, entry in entries.items():
        for other in record.values():
            other["figures"] = [figure for figure in other["figures"] if figure not in entry["figures"]]
        record[name] = entry
    _write_text(record_path, json.dumps(record, indent=1))
    rows = _earlier_rows(os.path.join(out_dir, "summary.md"))
    path = os.path.join(out_dir, "index.html")
    _write_text(path, gallery_html(out_dir, record, rows, quick))
    return path


GALLERY_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 75em; padding: 0 1em; color: #222; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
code { background: #f3f3f3; padding: 0.1em 0.3em; }
.commands { list-style: none; padding: 0; }
table.numbers { border-collapse: collapse; font-size: 0.9em; margin-bottom: 1em; }
table.numbers td { border: 1px solid #ddd; padding: 0.15em 0.6em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { max-width: 36em; font-size: 0.9em; }
.failed { color: #b00; font-weight: bold; }
"""


def gallery_html(out_dir: str, record: Dict[str, dict], rows: Dict[str, list], quick: bool) -> str:
    """The gallery page: one section per demo (its figures, captions, commands and numbers), then
    the images in out_dir that no demo claims. Only figures that exist are linked."""
    present = _image_versions(out_dir)
    names = sorted(set(record) | set(rows))
    claimed = {figure for entry in record.values() for figure in entry["figures"]}
    unclaimed = sorted(path for path in present if path not in claimed)
    contents = [f'<li><a href="#{html.escape(name)}">{html.escape(name)}</a></li>' for name in names]
    if unclaimed:
        contents.append('<li><a href="#other-figures">other figures</a></li>')
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>minigen demos</title>", f"<style>{GALLERY_STYLE}</style>", "</head>", "<body>",
             "<h1>minigen demos</h1>",
             '<p>Figures written by <code>minigen demo</code>; the key numbers are also in '
             '<a href="summary.md">summary.md</a>.</p>',
             "<ul>", *contents, "</ul>"]
    for name in names:
        entry = record.get(name, {"figures": []})
        parts += _demo_section(out_dir, name, entry, rows.get(name), entry.get("quick", quick), present)
    if unclaimed:
        parts += ['<section id="other-figures">', "<h2>Other figures in this folder</h2>",
                  "<p>Written by runs that did not record which demo made them.</p>",
                  *_figure_block(out_dir, unclaimed), "</section>"]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _demo_section(out_dir, name, entry, row, quick, present):
    """The HTML lines of one demo: heading, what it shows, status and wall time, commands, numbers,
    figures."""
    numbers, elapsed, failure = row if row is not None else ({}, None, None)
    lines = [f'<section id="{html.escape(name)}">', f"<h2>{html.escape(name)}</h2>"]
    if entry.get("about"):
        lines.append(f"<p>{html.escape(entry['about'])}</p>")
    if elapsed is not None:
        status = _status(failure, elapsed, quick)
        marked = f'<span class="failed">{html.escape(status)}</span>' if failure else html.escape(status)
        lines.append(f"<p>{'quick' if quick else 'full'} mode, wall time {elapsed:.1f} s, {marked}</p>")
    if entry.get("commands"):
        commands = [f"<li><code>{html.escape(command)}</code></li>" for command in entry["commands"]]
        lines += ['<ul class="commands">', *commands, "</ul>"]
    if numbers:
        lines += ['<table class="numbers">',
                  *(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(_format(value))}</td></tr>"
                    for key, value in numbers.items()), "</table>"]
    figures = [figure for figure in entry["figures"] if figure in present]
    lines += _figure_block(out_dir, figures) if figures else ["<p>No figures recorded.</p>"]
    lines.append("</section>")
    return lines


def _figure_block(out_dir, figures):
    """Each figure as a linked image with its caption and file name, in a wrapping row."""
    lines = ['<div class="figures">']
    for figure in figures:
        caption = html.escape(figure_caption(os.path.join(out_dir, figure)))
        link = html.escape(quote(figure))
        lines.append(f'<figure><a href="{link}"><img src="{link}" alt="{caption}"></a>'
                     f"<figcaption>{caption}<br><code>{html.escape(figure)}</code></figcaption></figure>")
    lines.append("</div>")
    return lines


def run_all(names: Union[str, Sequence[str], None] = "all", quick: bool = False, out_dir: str = "out",
            folder: Optional[Union[str, Path]] = None, timeout: Optional[float] = None,
            echo: Callable[[str], None] = print) -> List[tuple]:
    """Run the chosen demos one after another; write summary.md and the index.html gallery (both
    kept current as it goes); raise DemoError naming failures."""
    chosen = select(names, discover(folder))
    if not chosen:
        raise DemoError("no demos found (expected demos/NN_name.py)")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for name, path in chosen:
        before = _image_versions(out_dir)
        numbers, elapsed, failure = run_one(path, quick, out_dir, timeout)
        rows.append((name, numbers, elapsed, failure))
        echo(f"{name}: {'ok' if failure is None else 'FAILED'} in {elapsed:.1f} s"
             + ("" if failure is None else f" ({failure})"))
        write_summary(rows, os.path.join(out_dir, "summary.md"), quick)
        figures = _written_since(before, out_dir)
        gallery = write_gallery(out_dir, {name: _gallery_entry(path, quick, out_dir, figures)}, quick)
    echo(f"figures: {gallery}")
    failed = [name for name, _, _, failure in rows if failure is not None]
    if failed:
        raise DemoError(f"demo failed: {', '.join(failed)} (see {os.path.join(out_dir, 'summary.md')})")
    return rows
