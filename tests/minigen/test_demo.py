"""minigen.demo: run_demo's arguments, discovery, the runner's summary and its failure reports."""
import textwrap

import numpy as np
import pytest

from minigen import demo

OK_DEMO = """
    import os
    def main(quick=False, out_dir="out"):
        with open(os.path.join(out_dir, "ok.png"), "wb") as file:
            file.write(b"png")
        return {"score": 1.5 if quick else 2.5, "mode": "quick" if quick else "full", "count": 3}
    if __name__ == "__main__":
        from minigen.demo import run_demo
        run_demo(main)
"""
FAILING_DEMO = """
    def main(quick=False, out_dir="out"):
        raise RuntimeError("the model diverged")
    if __name__ == "__main__":
        from minigen.demo import run_demo
        run_demo(main)
"""
WARNING_DEMO = """
    import warnings
    def main(quick=False, out_dir="out"):
        warnings.warn("careful", RuntimeWarning)
        return {"score": 1.0}
    if __name__ == "__main__":
        from minigen.demo import run_demo
        run_demo(main)
"""
NAN_DEMO = OK_DEMO.replace('1.5 if quick else 2.5', 'float("nan")')


def _write_demos(folder, **sources):
    folder.mkdir(exist_ok=True)
    for name, source in sources.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


def test_run_demo_parses_arguments_and_prints(tmp_path, capsys):
    seen = {}

    def main(quick=False, out_dir="out"):
        seen.update(quick=quick, out_dir=out_dir)
        return {"loss": np.float32(0.125), "name": "x"}

    numbers = demo.run_demo(main, ["--quick", "--out", str(tmp_path / "o")])
    assert seen == {"quick": True, "out_dir": str(tmp_path / "o")}
    assert numbers == {"loss": 0.125, "name": "x"}
    assert type(numbers["loss"]) is float
    printed = capsys.readouterr().out
    assert "loss: 0.125" in printed and "wall time" in printed


def test_discover_and_select(tmp_path):
    folder = _write_demos(tmp_path / "demos", **{"01_first": OK_DEMO, "02_second": OK_DEMO, "helper": OK_DEMO})
    found = demo.discover(folder)
    assert list(found) == ["01_first", "02_second"]
    assert [n for n, _ in demo.select("2", found)] == ["02_second"]
    assert [n for n, _ in demo.select("first", found)] == ["01_first"]
    assert [n for n, _ in demo.select("all", found)] == ["01_first", "02_second"]
    with pytest.raises(demo.DemoError, match="known demos: 01_first, 02_second"):
        demo.select("third", found)


def test_run_all_writes_summary_with_numbers(tmp_path):
    folder = _write_demos(tmp_path / "demos", **{"01_ok": OK_DEMO})
    out = tmp_path / "out"
    rows = demo.run_all("all", quick=True, out_dir=str(out), folder=folder, echo=lambda line: None)
    (name, numbers, elapsed, failure), = rows
    assert name == "01_ok" and failure is None and elapsed > 0
    assert numbers == {"score": 1.5, "mode": "quick", "count": 3}
    assert (out / "ok.png").exists()
    summary = (out / "summary.md").read_text()
    assert "| 01_ok | score = 1.5; mode = quick; count = 3 |" in summary and "quick mode" in summary


@pytest.mark.parametrize("source, reason", [(FAILING_DEMO, "the model diverged"),
                                            (WARNING_DEMO, "printed a warning"),
                                            (NAN_DEMO, "non-finite numbers: score")])
def test_run_all_names_the_failing_demo(tmp_path, source, reason):
    folder = _write_demos(tmp_path / "demos", **{"01_ok": OK_DEMO, "02_bad": source})
    out = tmp_path / "out"
    with pytest.raises(demo.DemoError, match="demo failed: 02_bad"):
        demo.run_all("all", quick=True, out_dir=str(out), folder=folder, echo=lambda line: None)
    summary = (out / "summary.md").read_text()
    assert reason in summary and "| 01_ok |" in summary
