"""minigen.demo's gallery: out/index.html lists each demo's figures with captions, commands and
numbers, merges across runs like summary.md, links only files that exist, and renders in a browser."""
import json
import os
import shutil
import subprocess
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from minigen import demo, plots

PLOTTING_DEMO = """
    '''Draws two figures for the gallery.'''
    import os
    import numpy as np
    from minigen import plots
    def main(quick=False, out_dir="out"):
        rng = np.random.default_rng(0)
        plots.image_grid(rng.random((16, 64)), os.path.join(out_dir, "01_grid.png"), title="random pixels")
        plots.scatter_2d(rng.standard_normal((50, 2)), os.path.join(out_dir, "01_points.png"), model="Toy",
                         dataset="gaussian")
        return {"score": 0.25, "steps": 3}
    if __name__ == "__main__":
        from minigen.demo import run_demo
        run_demo(main)
"""
SUBFOLDER_DEMO = """
    '''Writes one figure into a subfolder, with a space in its name.'''
    import os
    import numpy as np
    from minigen import plots
    def main(quick=False, out_dir="out"):
        path = os.path.join(out_dir, "curves", "error rate.png")
        plots.line_plot([1, 2, 3], {"error": [0.3, 0.2, 0.1]}, path, "training set size", "test error",
                        title="error falls", caption="a longer caption")
        return {"error": 0.1}
    if __name__ == "__main__":
        from minigen.demo import run_demo
        run_demo(main)
"""


class _Page(HTMLParser):
    """The image sources, link targets and element ids of an HTML page."""

    def __init__(self):
        super().__init__()
        self.sources, self.links, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])


def _parse(path):
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """Two demos run one after the other into one folder (two `minigen demo` calls)."""
    root = tmp_path_factory.mktemp("gallery")
    folder = root / "demos"
    folder.mkdir()
    (folder / "01_plotting.py").write_text(textwrap.dedent(PLOTTING_DEMO))
    (folder / "02_subfolder.py").write_text(textwrap.dedent(SUBFOLDER_DEMO))
    out = root / "out"
    for name in ("01", "02"):
        demo.run_all(name, quick=True, out_dir=str(out), folder=folder, echo=lambda line: None)
    return out


def test_every_image_and_link_of_the_gallery_resolves(gallery):
    page = _parse(gallery / "index.html")
    assert len(page.sources) == 3
    for target in page.sources + page.links:
        parts = urlparse(target)
        assert parts.scheme == "" and parts.netloc == "" and not parts.path.startswith("/")   # relative
        if parts.path:
            assert (gallery / unquote(parts.path)).is_file(), target
        else:
            assert parts.fragment in page.ids, target


def test_gallery_merges_demos_and_shows_captions_commands_and_numbers(gallery):
    page = (gallery / "index.html").read_text(encoding="utf-8")
    first, second = page.index('id="01_plotting"'), page.index('id="02_subfolder"')
    assert first < page.index("01_grid.png") < page.index("01_points.png") < second   # grouped by demo
    assert second < page.index("curves/error%20rate.png")
    assert "random pixels" in page and "Toy on gaussian" in page         # captions are the plot titles
    assert "a longer caption" in page and "error falls" not in page      # a caption wins over the title
    assert "Draws two figures for the gallery." in page
    assert "--quick --out" in page and "01_plotting.py" in page
    assert "<td>score</td><td>0.25</td>" in page and "<td>error</td><td>0.1</td>" in page
    assert page.count("wall time") == 2 and "Other figures" not in page
    record = json.loads((gallery / "gallery.json").read_text())
    assert record["01_plotting"]["figures"] == ["01_grid.png", "01_points.png"]
    assert record["02_subfolder"]["figures"] == ["curves/error rate.png"]
    assert [name for name in os.listdir(gallery) if name.startswith(".tmp-")] == []


def test_a_figure_belongs_to_the_demo_that_wrote_it_last(tmp_path):
    (tmp_path / "shared.png").write_bytes(b"not really a png")
    (tmp_path / "stray.png").write_bytes(b"not really a png")
    entry = {"about": "", "commands": [], "quick": True}
    demo.write_gallery(str(tmp_path), {"01_a": {**entry, "figures": ["shared.png"]}}, quick=True)
    demo.write_gallery(str(tmp_path), {"02_b": {**entry, "figures": ["shared.png", "gone.png"]}}, quick=True)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    first, second, other = (page.index(marker) for marker in
                            ('id="01_a"', 'id="02_b"', 'id="other-figures"'))
    assert page.index('src="shared.png"', second) < other                # listed once, under 02_b
    assert page.count('src="shared.png"') == 1
    assert "No figures recorded" in page[first:second]
    assert 'src="stray.png"' in page[other:]                           # unclaimed images still shown
    assert "gone.png" not in page                                       # never a dangling link


def test_figure_caption_reads_plots_text_else_the_file_name(tmp_path):
    titled = plots.image_grid(np.zeros((4, 16)), tmp_path / "30_rbm_samples.png", title="RBM samples",
                              model="RBM-16")
    assert demo.figure_caption(titled) == "RBM-16: RBM samples"
    captioned = plots.image_grid(np.zeros((4, 16)), tmp_path / "x.png", title="t", caption="longer text")
    assert demo.figure_caption(captioned) == "longer text"
    (tmp_path / "50_digits_forward.png").write_bytes(b"png")
    assert demo.figure_caption(tmp_path / "50_digits_forward.png") == "digits forward"


def _screenshot_spread(page, folder):
    """Render `page` in headless Chromium; the standard deviation of the screenshot's grey levels."""
    from PIL import Image
    screenshot = folder / "screenshot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--hide-scrollbars", f"--user-data-dir={folder / 'profile'}",
                    f"--screenshot={screenshot}", "--window-size=1200,900", Path(page).resolve().as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert screenshot.is_file(), "chromium wrote no screenshot"
    with Image.open(screenshot) as image:
        return float(np.asarray(image.convert("L"), dtype=np.float64).std())


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
def test_gallery_renders_in_a_headless_browser(gallery, tmp_path):
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert _screenshot_spread(blank, tmp_path / "blank") < 1.0          # the measure sees an empty page
    assert _screenshot_spread(gallery / "index.html", tmp_path / "gallery") > 20.0
