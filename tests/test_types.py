"""The public API is typed: mypy checks autograd/ and minigen/ with the settings in setup.cfg."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is in the test extra")
def test_mypy_passes_on_the_engine_and_the_models():
    done = subprocess.run([sys.executable, "-m", "mypy", "autograd", "minigen"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:]
