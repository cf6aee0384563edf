"""The README is true to the letter: its commands and Python snippets run, its two commands are the
Makefile's, and every file, figure and module it points at exists.

The commands of "Try it" run as written, in a scratch folder, with `.venv/bin/` meaning the
environment that runs these tests (where `make test` installed minigen)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def section(title):
    """The text of the README section `## title`."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, flags=re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def code_blocks(text, language=""):
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def scratch_env(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    env.setdefault("MINIGEN_CACHE", str(tmp_path / "cache"))
    return env


def test_try_it_commands_run_as_written(tmp_path):
    commands = [line for line in code_blocks(section("Try it"))[0].splitlines() if line.strip()]
    assert commands and all(line.startswith(".venv/bin/minigen ") for line in commands)
    for line in commands:
        argv = [str(BIN / "minigen"), *line.split()[1:]] if (BIN / "minigen").exists() else \
            [sys.executable, "-m", "minigen", *line.split()[1:]]
        done = subprocess.run(argv, cwd=tmp_path, env=scratch_env(tmp_path), capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
    assert (tmp_path / "vae-samples.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "sevens.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("index", range(len(code_blocks(section("Using the library"), "python"))))
def test_python_snippets_run(tmp_path, index):
    snippet = code_blocks(section("Using the library"), "python")[index]
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=scratch_env(tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_two_commands_are_the_makefiles():
    block = code_blocks(section("The two commands"))[0]
    assert [line.split()[1] for line in block.splitlines() if line.startswith("make ")] == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text()
    assert "-m minigen demo all --quick" in makefile and "-m pytest" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_path_the_readme_names_exists():
    named = set(re.findall(r"`((?:autograd|minigen|demos|benchmarks|tests)/[\w/.]+)`", README))
    named |= set(re.findall(r"\]\((docs/[\w/.-]+)\)", README))
    missing = [path for path in sorted(named) if not (ROOT / path.rstrip("/")).exists()
               and not (ROOT / path.rstrip("/")).with_suffix(".py").exists()]
    assert not missing, missing
    assert (ROOT / "LICENSE").exists()
