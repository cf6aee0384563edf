"""minigen.plots: every figure is a PNG written atomically at the path it returns."""
import os

import numpy as np
import pytest

from minigen import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, returned):
    assert returned == str(path)
    with open(path, "rb") as file:
        assert file.read(8) == PNG_MAGIC
    leftovers = [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".tmp-")]
    assert leftovers == []


@pytest.fixture
def images(rng):
    return rng.random((10, 64))


def test_image_grid_from_rows_and_from_3d(tmp_path, images):
    _assert_png(tmp_path / "a.png", plots.image_grid(images, tmp_path / "a.png", title="t"))
    _assert_png(tmp_path / "b.png", plots.image_grid(images.reshape(10, 8, 8), tmp_path / "b.png", nrow=5))
    _assert_png(tmp_path / "c.png", plots.image_grid(images.reshape(10, 4, 16), tmp_path / "c.png"))
    _assert_png(tmp_path / "d.png", plots.image_grid(images, tmp_path / "d.png", shape=(4, 16)))


def test_image_grid_refuses_non_square_rows(tmp_path, rng):
    with pytest.raises(ValueError, match="not square"):
        plots.image_grid(rng.random((4, 10)), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_tile_places_images_row_major_with_gaps():
    images = np.stack([np.full((2, 2), value) for value in (0.0, 1.0, 0.5)])
    mosaic = plots._tile(images, nrow=2)
    assert mosaic.shape == (5, 5)
    assert (mosaic[:2, :2] == 0).all() and (mosaic[:2, 3:] == 1).all() and (mosaic[3:, :2] == 0.5).all()


def test_curves_and_lines(tmp_path):
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [2.5]}
    _assert_png(tmp_path / "l.png", plots.loss_curves(history, tmp_path / "l.png"))
    path = tmp_path / "sub" / "p.png"
    _assert_png(path, plots.line_plot([10, 100, 1000], {"nb": [0.3, 0.2, 0.2], "lr": [0.5, 0.2, 0.1]},
                                      path, "n", "error", logx=True, hlines={"floor": 0.05}))


def test_two_dimensional_figures(tmp_path, rng):
    points = rng.standard_normal((200, 2))
    extent = (-3, 3, -3, 3)
    _assert_png(tmp_path / "s.png", plots.scatter_2d(points, tmp_path / "s.png", data=points + 1,
                                                     centers=np.zeros((1, 2))))
    _assert_png(tmp_path / "d.png", plots.density_2d(lambda p: -0.5 * (p ** 2).sum(1), tmp_path / "d.png",
                                                     extent, samples=points))
    spiral = np.array([[1.0, 0.0], [0.0, 1.2], [-1.4, 0.0]])
    _assert_png(tmp_path / "v.png", plots.vector_field(lambda p: p[:, ::-1] * [-1, 1], tmp_path / "v.png",
                                                       extent, trajectories=[spiral]))
    labels = (points[:, 0] > 0).astype(int)
    _assert_png(tmp_path / "b.png", plots.decision_boundary(lambda p: (p[:, 0] > 0).astype(int), points,
                                                            labels, tmp_path / "b.png"))


def test_strips(tmp_path, rng):
    rows = [rng.random((6, 16)) for _ in range(3)]
    _assert_png(tmp_path / "i.png", plots.interpolation_strip(rows, tmp_path / "i.png"))
    _assert_png(tmp_path / "c.png", plots.chain_strip(rng.random((5, 2, 16)), tmp_path / "c.png"))
    with pytest.raises(ValueError, match="steps, n, D"):
        plots.chain_strip(rng.random((5, 16)), tmp_path / "bad.png")


def test_bar_comparison_with_many_labels(tmp_path):
    labels = [f"mode {i}" for i in range(12)]
    bars = {"minimax": np.linspace(0, 1, 12), "wgan-gp": np.full(12, 0.5)}
    _assert_png(tmp_path / "bars.png", plots.bar_comparison(labels, bars, tmp_path / "bars.png", "coverage",
                                                            title="t"))


def test_video_gif_has_one_frame_per_step_of_the_shortest_video(tmp_path):
    from PIL import Image
    brightening = np.linspace(0, 1, 6)[:, None] * np.ones((6, 16))          # 6 frames of 4x4
    path = tmp_path / "v.gif"
    assert os.fspath(plots.video_gif([brightening, brightening[:4]], path, titles=["a", "b"], fps=5)) == str(path)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
        first = np.asarray(gif.convert("L"), dtype=float)
        gif.seek(3)
        last = np.asarray(gif.convert("L"), dtype=float)
    assert np.abs(first - last).mean() > 1           # the frames change as the video does
    assert [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")] == []
