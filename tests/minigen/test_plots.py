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
    _assert_png(tmp_path / "e.png", plots.energy_contour(lambda p: 0.5 * (p ** 2).sum(1), tmp_path / "e.png",
                                                         extent, data=points, samples=points + 1))
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
    written = plots.video_gif([brightening, brightening[:4]], path, titles=["a", "b"], fps=5)
    assert os.fspath(written) == str(path)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
        first = np.asarray(gif.convert("L"), dtype=float)
        gif.seek(3)
        last = np.asarray(gif.convert("L"), dtype=float)
    assert np.abs(first - last).mean() > 1           # the frames change as the video does
    assert [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")] == []


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions save, kept open for inspection after they are written."""
    figures = []
    save = plots._save

    def keep(figure, path, title=None, caption=None):
        figures.append(figure)
        return save(figure, path, title, caption)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def _png_text(path):
    from PIL import Image
    with Image.open(path) as image:
        return dict(image.text)


def _outside(legend, axis):
    """Whether the legend's box lies wholly outside the axes' box (so it covers no data)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(axis.figure).get_renderer()                # the saved figure's canvas is gone
    box, area = legend.get_window_extent(renderer), axis.get_window_extent(renderer)
    return box.x0 >= area.x1 or box.x1 <= area.x0 or box.y0 >= area.y1 or box.y1 <= area.y0


def test_style_applies_while_drawing_and_is_left_behind(tmp_path, drawn):
    import matplotlib
    before = dict(matplotlib.rcParams)
    plots.line_plot([1, 2], {"a": [1, 2]}, tmp_path / "p.png", "n", "error", title="t")
    title = drawn[0].axes[0].title
    assert title.get_fontsize() == plots.STYLE["axes.titlesize"] >= 12
    assert drawn[0].axes[0].xaxis.label.get_fontsize() == plots.STYLE["axes.labelsize"]
    assert dict(matplotlib.rcParams) == before


def test_title_names_model_and_data_once_and_is_stored_in_the_png(tmp_path, images):
    assert plots._heading("samples", model="VAE", dataset="digits") == "VAE on digits: samples"
    assert plots._heading("VAE samples", model="VAE", dataset="digits") == "digits: VAE samples"
    assert plots._heading(None, model="VAE") == "VAE" and plots._heading(None) is None
    path = plots.image_grid(images, tmp_path / "g.png", title="samples", model="VAE", dataset="digits",
                            caption="decoder means of z ~ N(0, I)")
    assert _png_text(path) == {"Title": "VAE on digits: samples", "Description": "decoder means of z ~ N(0, I)",
                               "Software": _png_text(path)["Software"]}


def test_long_titles_wrap_to_the_figure(tmp_path, drawn, images):
    title = "a rather long title that says what the figure shows in many more words than fit on a line"
    plots.image_grid(images, tmp_path / "g.png", title=title)
    shown = drawn[0].axes[0].get_title()
    assert "\n" in shown and shown.replace("\n", " ") == title


def test_loss_curves_name_the_losses_on_a_shared_training_axis(tmp_path, drawn):
    history = {"d_loss": [1.0, 0.8, 0.7, 0.6], "g_loss": [2.0, 1.5, 1.2, 1.0], "val_loss": [0.9, 0.65]}
    plots.loss_curves(history, tmp_path / "l.png", steps=400, units="nats", model="GAN")
    axis = drawn[0].axes[0]
    assert axis.get_ylabel() == "d_loss, g_loss, val_loss (nats)" and axis.get_xlabel() == "training step"
    ends = {line.get_label(): line.get_xdata()[-1] for line in axis.get_lines()}
    assert ends == {"d_loss": 400, "g_loss": 400, "val_loss": 400}      # every series spans the training
    assert list(axis.get_lines()[2].get_xdata()) == [200, 400]
    assert _outside(axis.get_legend(), axis) and axis.get_title() == "GAN"
    plots.loss_curves({"L_simple": [3.0, 2.0]}, tmp_path / "one.png")
    single = drawn[1].axes[0]
    assert single.get_ylabel() == "L_simple" and single.get_xlabel() == "fraction of training"
    assert single.get_legend() is None


def test_scatter_names_the_model_and_keeps_its_legend_off_the_data(tmp_path, drawn, rng):
    points = rng.standard_normal((100, 2))
    plots.scatter_2d(points, tmp_path / "s.png", data=points, centers=np.zeros((1, 2)), model="DDPM",
                     dataset="8gaussians")
    axis = drawn[0].axes[0]
    assert axis.get_title() == "DDPM on 8gaussians"
    assert [text.get_text() for text in axis.get_legend().get_texts()] == ["8gaussians data", "DDPM samples",
                                                                           "modes"]
    assert _outside(axis.get_legend(), axis) and (axis.get_xlabel(), axis.get_ylabel()) == ("x1", "x2")


def test_reference_lines_and_classes_are_named_in_the_legend(tmp_path, drawn, rng):
    plots.line_plot([1, 2], {"model": [0.5, 0.2]}, tmp_path / "p.png", "n", "error", hlines={"floor": 0.1})
    assert [t.get_text() for t in drawn[0].axes[0].get_legend().get_texts()] == ["model", "floor"]
    points = rng.standard_normal((40, 2))
    plots.decision_boundary(lambda p: (p[:, 0] > 0).astype(int), points, (points[:, 0] > 0).astype(int),
                            tmp_path / "b.png", axis_labels=("feature 1", "feature 2"))
    axis = drawn[1].axes[0]
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["class 0", "class 1"]
    assert axis.get_xlabel() == "feature 1" and _outside(axis.get_legend(), axis)


def test_forward_process_draws_every_column_on_the_scale_of_x0(tmp_path, drawn, rng):
    x0 = rng.random((3, 16))                                                # data in [0, 1)
    noise = rng.standard_normal((3, 16))
    times = [0, 500, 999]
    states = np.stack([x0, 0.5 * x0 + 0.9 * noise, 0.01 * x0 + noise * 4.0])  # (3 times, 3 rows, 16)
    _assert_png(tmp_path / "f.png", plots.forward_process(states, times, tmp_path / "f.png"))
    axis = drawn[0].axes[0]
    picture, = axis.get_images()
    assert picture.get_clim() == (x0.min(), x0.max())                     # one fixed scale, not per image
    drawn_mosaic = np.asarray(picture.get_array())
    last_column = drawn_mosaic[:4, 10:14]                                   # row 0, column t = 999
    assert np.allclose(last_column, np.clip(states[2, 0].reshape(4, 4), x0.min(), x0.max()))
    assert [label.get_text() for label in axis.get_xticklabels()] == ["0", "500", "999"]
    assert axis.get_xlabel() == "diffusion step t"
    with pytest.raises(ValueError, match="len\\(times\\)"):
        plots.forward_process(states, [0, 1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="value_range"):
        plots.forward_process(states, times, tmp_path / "bad.png", value_range=(1, 1))
    assert not (tmp_path / "bad.png").exists()


def test_strips_take_column_labels_and_check_their_count(tmp_path, drawn, rng):
    plots.chain_strip(rng.random((4, 2, 16)), tmp_path / "c.png", column_labels=[1, 10, 100, 1000],
                      column_axis_label="Gibbs step")
    axis = drawn[0].axes[0]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["1", "10", "100", "1000"]
    assert axis.get_xlabel() == "Gibbs step"
    with pytest.raises(ValueError, match="3 column labels for 4 columns"):
        plots.chain_strip(rng.random((4, 2, 16)), tmp_path / "x.png", column_labels=[1, 2, 3])
