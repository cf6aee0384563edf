"""Figures for the demos and the command line: headless (Agg), PNG, written atomically.

Every function takes NumPy arrays (or anything np.asarray accepts), writes one small PNG to `path`
through a temporary file in the same folder, closes its figure, and returns the path.

One look for every figure: the matplotlib settings in STYLE apply while a function draws (and
only then). Axes carry their quantities and units; legends sit outside the axes, on the right,
so they never cover data. `model=` and `dataset=` put the model and the data into the title
("DDPM on 8gaussians: ..."), unless the title names them already.

Images are drawn on one fixed value range for the whole figure, [0, 1] unless `value_range` says
otherwise (map tanh outputs in [-1, 1] back first), never rescaled image by image.

The title, and a longer `caption=` when given, are also written into the PNG's text chunks
("Title", "Description"): the demo gallery (minigen.demo) reads its captions from there.
"""
import functools
import math
import os
import tempfile
import textwrap
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Tuple, Union

import matplotlib
import numpy as np
from numpy.typing import ArrayLike

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from autograd.serialize import atomic_file  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

PathLike = Union[str, "os.PathLike[str]"]
Range = Tuple[float, float]

DPI = 100
GRID_POINTS = 120
TITLE_SIZE = 12
STYLE: "dict[RcKeyType, Any]" = {
    "font.size": 11,
    "figure.titlesize": TITLE_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": 11,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "0.8",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "image.interpolation": "nearest",
}
XY_LABELS = ("x1", "x2")


def _styled(draw: Callable) -> Callable:
    """Run a drawing function under STYLE (matplotlib's global settings are left as they were)."""
    @functools.wraps(draw)
    def styled(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return styled


def _heading(title=None, model=None, dataset=None):
    """The figure's title, "model on dataset: title", leaving out a name the title already holds."""
    named = [name for name in (model, dataset) if name and name.lower() not in (title or "").lower()]
    return ": ".join(part for part in (" on ".join(named), title) if part) or None


def _wrapped(title, figure):
    """The title broken into lines about as wide as the figure (about half an em a character)."""
    characters = int(figure.get_figwidth() * 72 / (0.5 * TITLE_SIZE))
    return textwrap.fill(title, width=max(24, characters))


def _place_title(figure, title):
    """The title right above the (first) axes, or above the figure when it has none; long titles
    wrap and grow upwards, and the tight bounding box of the saved figure holds them."""
    if figure.axes:
        figure.axes[0].set_title(_wrapped(title, figure))
    else:
        figure.suptitle(_wrapped(title, figure))


def _save(figure, path, title=None, caption=None):
    """Write `figure` to `path` as a PNG via a temporary file and a rename; close it; return path."""
    if title:
        _place_title(figure, title)
    metadata = {key: text for key, text in (("Title", title), ("Description", caption)) if text}
    path = os.fspath(path)
    try:
        with atomic_file(path, "wb") as file:
            figure.savefig(file, format="png", dpi=DPI, bbox_inches="tight", metadata=metadata)
    finally:
        plt.close(figure)
    return path


def _legend(axis, marker_area=None):
    """The legend outside the axes, to the right of them, so it covers no data; scatter markers
    drawn at `marker_area` (points^2) there when given, however small they are in the plot."""
    if not axis.get_legend_handles_labels()[0]:
        return
    legend = axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    for handle in legend.legend_handles if marker_area else []:
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([marker_area])


def _as_images(images, shape=None):
    """(n, H, W) float images from (n, H, W) or (n, D) rows with D a perfect square (or `shape`)."""
    images = np.asarray(images, dtype=np.float64)
    if shape is not None:
        return images.reshape(len(images), *shape)
    if images.ndim == 3:
        return images
    if images.ndim != 2:
        raise ValueError(f"images must be (n, D) or (n, H, W), got shape {images.shape}")
    side = math.isqrt(images.shape[1])
    if side * side != images.shape[1]:
        raise ValueError(f"images of {images.shape[1]} pixels are not square; pass shape=(H, W)")
    return images.reshape(len(images), side, side)


def _tile(images, nrow, gap=0.3):
    """One mosaic (rows*H + gaps, nrow*W + gaps) of images, with a one-pixel gap of value `gap`."""
    n, height, width = images.shape
    rows = math.ceil(n / nrow)
    mosaic = np.full((rows * (height + 1) - 1, nrow * (width + 1) - 1), gap)
    for i, image in enumerate(images):
        top, left = (i // nrow) * (height + 1), (i % nrow) * (width + 1)
        mosaic[top:top + height, left:left + width] = image
    return mosaic


def _checked_range(value_range, where):
    low, high = (float(value) for value in value_range)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{where}: value_range must be two finite numbers, low < high; got {value_range}")
    return low, high


def _mosaic_figure(images, nrow, value_range, scale=0.06):
    """A figure of the tiled images, all drawn on one value range (low = white, high = black)."""
    low, high = value_range
    mosaic = _tile(images, nrow, gap=low + 0.3 * (high - low))
    height, width = mosaic.shape
    figure, axis = plt.subplots(figsize=(max(2.0, width * scale), max(2.0, height * scale)))
    axis.imshow(np.clip(mosaic, low, high), cmap="gray_r", vmin=low, vmax=high)
    axis.set_axis_off()
    return figure, axis


def _label_columns(axis, labels, image_width, axis_label=None):
    """Write labels[j] under column j of a mosaic of images `image_width` pixels wide."""
    centers = np.arange(len(labels)) * (image_width + 1) + (image_width - 1) / 2
    axis.set_axis_on()
    axis.set_xticks(centers, [str(label) for label in labels])
    axis.set_yticks([])
    axis.tick_params(length=0, labelsize=STYLE["xtick.labelsize"])
    for spine in axis.spines.values():
        spine.set_visible(False)
    if axis_label:
        axis.set_xlabel(axis_label)


@_styled
def image_grid(images: ArrayLike, path: PathLike, nrow: Optional[int] = None, title: Optional[str] = None,
               shape: Optional[Tuple[int, int]] = None, *, value_range: Range = (0.0, 1.0),
               model: Optional[str] = None, dataset: Optional[str] = None,
               caption: Optional[str] = None) -> str:
    """A grid of images (n, D) with D square, or (n, H, W), drawn on value_range (default [0, 1])."""
    pictures = _as_images(images, shape)
    if len(pictures) == 0:
        raise ValueError("image_grid: no images to draw")
    nrow = nrow or math.ceil(math.sqrt(len(pictures)))
    figure, _ = _mosaic_figure(pictures, nrow, _checked_range(value_range, "image_grid"))
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def interpolation_strip(rows: Sequence[ArrayLike], path: PathLike, shape: Optional[Tuple[int, int]] = None,
                        title: Optional[str] = None, *, value_range: Range = (0.0, 1.0),
                        column_labels: Optional[Sequence] = None, column_axis_label: Optional[str] = None,
                        model: Optional[str] = None, dataset: Optional[str] = None,
                        caption: Optional[str] = None) -> str:
    """Rows of images (r, steps, D) or a list of (steps, D): one interpolation per row.

    column_labels: one label per column, written under it (with column_axis_label beneath).
    """
    arrays = [np.asarray(row) for row in rows]
    steps = len(arrays[0])
    if column_labels is not None and len(column_labels) != steps:
        raise ValueError(f"interpolation_strip: {len(column_labels)} column labels for {steps} columns")
    images = np.concatenate([_as_images(row, shape) for row in arrays])
    figure, axis = _mosaic_figure(images, steps, _checked_range(value_range, "interpolation_strip"))
    if column_labels is not None:
        _label_columns(axis, column_labels, images.shape[2], column_axis_label)
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def chain_strip(chain: ArrayLike, path: PathLike, shape: Optional[Tuple[int, int]] = None,
                title: Optional[str] = None, *, value_range: Range = (0.0, 1.0),
                column_labels: Optional[Sequence] = None, column_axis_label: Optional[str] = None,
                model: Optional[str] = None, dataset: Optional[str] = None,
                caption: Optional[str] = None) -> str:
    """A Markov chain (steps, n, D): one column per step, one row per chain."""
    chain = np.asarray(chain)
    if chain.ndim != 3:
        raise ValueError(f"chain_strip: chain must be (steps, n, D), got shape {chain.shape}")
    per_chain = chain.transpose(1, 0, 2)                                 # (n, steps, D)
    return interpolation_strip(list(per_chain), path, shape=shape, title=title, value_range=value_range,
                               column_labels=column_labels, column_axis_label=column_axis_label,
                               model=model, dataset=dataset, caption=caption)


@_styled
def forward_process(states: ArrayLike, times: Sequence[float], path: PathLike,
                    shape: Optional[Tuple[int, int]] = None, title: Optional[str] = None, *,
                    value_range: Optional[Range] = None, model: Optional[str] = None,
                    dataset: Optional[str] = None, caption: Optional[str] = None) -> str:
    """The noising process x_t ~ q(x_t | x_0): states (len(times), n, D), one column per t (written
    under it), one row per x_0.

    Every column is drawn on one value range, by default the range of x_0 (the data's scale), so
    the late columns show the noise the process ends in rather than a rescaled image.
    """
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 3 or len(states) != len(times):
        raise ValueError(f"forward_process: states must be (len(times), n, D) = ({len(times)}, n, D), "
                         f"got shape {states.shape}")
    if value_range is None:
        value_range = (states[0].min(), states[0].max())
    return chain_strip(states, path, shape, title or "forward process q(x_t | x_0)",
                       value_range=_checked_range(value_range, "forward_process"),
                       column_labels=[f"{t:g}" for t in times], column_axis_label="diffusion step t",
                       model=model, dataset=dataset, caption=caption)


def _loss_axis_label(names, units):
    """The y label of loss curves: the loss names (or "loss" when there are many), with units."""
    label = ", ".join(names) if 0 < len(names) <= 3 else "loss"
    return f"{label} ({units})" if units else label


@_styled
def loss_curves(history: Mapping[str, Sequence[float]], path: PathLike, title: Optional[str] = None, *,
                steps: Optional[int] = None, units: Optional[str] = None, logy: bool = False,
                model: Optional[str] = None, dataset: Optional[str] = None,
                caption: Optional[str] = None) -> str:
    """Each named series of `history` (loss name -> values logged at even intervals) over training.

    Series of different lengths (losses every few steps, validation every epoch) share one axis:
    record i of n sits at the end of its interval, (i + 1) / n of the way through training, in
    training steps when `steps` (the steps trained) is given. `units` goes on the y axis.
    """
    series = {name: np.asarray(values, dtype=np.float64) for name, values in history.items() if len(values)}
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for name, values in series.items():
        progress = np.arange(1, values.size + 1) / values.size           # end of each logging interval
        axis.plot(progress * (steps or 1), values, label=name, marker="o" if values.size <= 20 else None,
                  markersize=3)
    axis.set_xlabel("training step" if steps else "fraction of training")
    axis.set_ylabel(_loss_axis_label(list(series), units))
    axis.set_yscale("log" if logy else "linear")
    axis.grid(True)
    if len(series) > 1:
        _legend(axis)
    return _save(figure, path, _heading(title, model, dataset), caption)


def _square_axis(extent=None, axis_labels=XY_LABELS):
    figure, axis = plt.subplots(figsize=(4, 4))
    if extent is not None:
        axis.set_xlim(extent[0], extent[1])
        axis.set_ylim(extent[2], extent[3])
    axis.set_aspect("equal")
    axis.set_xlabel(axis_labels[0])
    axis.set_ylabel(axis_labels[1])
    return figure, axis


@_styled
def scatter_2d(samples: ArrayLike, path: PathLike, data: Optional[ArrayLike] = None,
               centers: Optional[ArrayLike] = None, title: Optional[str] = None, *,
               model: Optional[str] = None, dataset: Optional[str] = None,
               axis_labels: Tuple[str, str] = XY_LABELS, caption: Optional[str] = None) -> str:
    """Model samples (n, 2) over the data (grey) and the mixture centers (red crosses).

    The title (and the samples' legend entry) name the model when `model` is given.
    """
    samples = np.asarray(samples)
    figure, axis = _square_axis(axis_labels=axis_labels)
    if data is not None:
        data = np.asarray(data)
        axis.scatter(data[:, 0], data[:, 1], s=2, c="0.7", label=f"{dataset} data" if dataset else "data")
    axis.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:blue",
                 label=f"{model} samples" if model else "samples")
    if centers is not None:
        centers = np.asarray(centers)
        axis.scatter(centers[:, 0], centers[:, 1], s=30, c="tab:red", marker="x", label="modes")
    _legend(axis, marker_area=20)
    return _save(figure, path, _heading(title, model, dataset), caption)


def _grid(extent, points=GRID_POINTS):
    xs = np.linspace(extent[0], extent[1], points)
    ys = np.linspace(extent[2], extent[3], points)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)


@_styled
def density_2d(log_density: Callable[[np.ndarray], ArrayLike], path: PathLike, extent: Sequence[float],
               samples: Optional[ArrayLike] = None, title: Optional[str] = None, *,
               model: Optional[str] = None, dataset: Optional[str] = None,
               axis_labels: Tuple[str, str] = XY_LABELS, caption: Optional[str] = None) -> str:
    """exp(log_density) on a grid over extent (xmin, xmax, ymin, ymax), relative to its maximum;
    optional samples on top."""
    gx, gy, points = _grid(extent)
    log_values = np.asarray(log_density(points), dtype=np.float64).reshape(gx.shape)
    density = np.exp(log_values - log_values.max())
    figure, axis = _square_axis(extent, axis_labels)
    image = axis.imshow(density, origin="lower", extent=extent, cmap="viridis", aspect="equal",
                        interpolation="bilinear")
    figure.colorbar(image, ax=axis, shrink=0.8, label="p(x) / max p(x)")
    if samples is not None:
        samples = np.asarray(samples)
        axis.scatter(samples[:, 0], samples[:, 1], s=1, c="white", alpha=0.5)
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def energy_contour(energy: Callable[[np.ndarray], ArrayLike], path: PathLike, extent: Sequence[float],
                   data: Optional[ArrayLike] = None, samples: Optional[ArrayLike] = None,
                   title: Optional[str] = None, *, model: Optional[str] = None, dataset: Optional[str] = None,
                   axis_labels: Tuple[str, str] = XY_LABELS, caption: Optional[str] = None) -> str:
    """Filled contours of energy((m, 2)) -> (m,) over extent (low energy dark), with the data (grey)
    and samples (white) on top; the colorbar takes the place of a legend."""
    gx, gy, points = _grid(extent)
    values = np.asarray(energy(points), dtype=np.float64).reshape(gx.shape)
    figure, axis = _square_axis(extent, axis_labels)
    filled = axis.contourf(gx, gy, values, levels=30, cmap="viridis")
    figure.colorbar(filled, ax=axis, shrink=0.8, label="E(x)")
    for shown, color in ((data, "0.7"), (samples, "white")):
        if shown is not None:
            shown = np.asarray(shown)
            axis.scatter(shown[:, 0], shown[:, 1], s=1, c=color, alpha=0.6)
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def vector_field(field_fn: Callable[[np.ndarray], ArrayLike], path: PathLike, extent: Sequence[float],
                 trajectories: Optional[Sequence[ArrayLike]] = None, title: Optional[str] = None, *,
                 model: Optional[str] = None, dataset: Optional[str] = None,
                 axis_labels: Tuple[str, str] = XY_LABELS, caption: Optional[str] = None) -> str:
    """Arrows of field_fn((m, 2)) -> (m, 2) over extent, and trajectories (each (steps, 2)) on top,
    each starting at a black dot."""
    gx, gy, points = _grid(extent, points=17)
    field = np.asarray(field_fn(points), dtype=np.float64)
    figure, axis = _square_axis(extent, axis_labels)
    axis.quiver(gx, gy, field[:, 0].reshape(gx.shape), field[:, 1].reshape(gx.shape),
                color="0.5", angles="xy")
    for trajectory in trajectories or []:
        trajectory = np.asarray(trajectory)
        axis.plot(trajectory[:, 0], trajectory[:, 1], linewidth=1.2)
        axis.plot(trajectory[0, 0], trajectory[0, 1], "o", markersize=4, color="black")
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def line_plot(x: ArrayLike, curves: Mapping[str, ArrayLike], path: PathLike, xlabel: str, ylabel: str,
              title: Optional[str] = None, logx: bool = False, logy: bool = False,
              hlines: Optional[Mapping[str, float]] = None, *, model: Optional[str] = None,
              dataset: Optional[str] = None, caption: Optional[str] = None) -> str:
    """Named curves (name -> y values over x) with optional dashed reference lines (name -> y),
    all named in the legend."""
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for name, values in curves.items():
        axis.plot(x, values, marker="o", markersize=3, label=name)
    for (name, level), style in zip((hlines or {}).items(), ["--", ":", "-.", (0, (5, 5))] * 8):
        axis.axhline(level, linestyle=style, linewidth=1.2, color="0.35", label=name)
    axis.set_xscale("log" if logx else "linear")
    axis.set_yscale("log" if logy else "linear")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(True)
    _legend(axis)
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def decision_boundary(predict_fn: Callable[[np.ndarray], ArrayLike], X: ArrayLike, y: ArrayLike,
                      path: PathLike, title: Optional[str] = None, *, model: Optional[str] = None,
                      dataset: Optional[str] = None, axis_labels: Tuple[str, str] = XY_LABELS,
                      caption: Optional[str] = None) -> str:
    """Regions of predict_fn((m, 2)) -> labels over the 2-D points X, coloured by their labels y."""
    X, y = np.asarray(X), np.asarray(y)
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-6
    extent = (X[:, 0].min() - margin[0], X[:, 0].max() + margin[0],
              X[:, 1].min() - margin[1], X[:, 1].max() + margin[1])
    gx, gy, points = _grid(extent)
    regions = np.asarray(predict_fn(points)).reshape(gx.shape)
    figure, axis = _square_axis(extent, axis_labels)
    axis.set_aspect("auto")
    axis.contourf(gx, gy, regions, alpha=0.3, cmap="tab10", vmin=0, vmax=9)
    for label in np.unique(y):
        members = X[y == label]
        axis.scatter(members[:, 0], members[:, 1], s=8, color=plt.cm.tab10(int(label) % 10),
                     edgecolors="k", linewidths=0.2, label=f"class {label}")
    _legend(axis, marker_area=20)
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def bar_comparison(labels: Sequence[str], bars: Mapping[str, ArrayLike], path: PathLike, ylabel: str,
                   title: Optional[str] = None, *, xlabel: Optional[str] = None, model: Optional[str] = None,
                   dataset: Optional[str] = None, caption: Optional[str] = None) -> str:
    """Grouped bars: one group per label, one bar per named series (name -> values over labels)."""
    width = 0.8 / max(1, len(bars))
    positions = np.arange(len(labels))
    figure, axis = plt.subplots(figsize=(max(5, 0.45 * len(labels)), 3.2))
    for i, (name, values) in enumerate(bars.items()):
        axis.bar(positions + (i - (len(bars) - 1) / 2) * width, values, width, label=name)
    axis.set_xticks(positions)
    axis.set_xticklabels(labels, rotation=90 if len(labels) > 8 else 0, fontsize=8)
    axis.set_ylabel(ylabel)
    if xlabel:
        axis.set_xlabel(xlabel)
    axis.grid(True, axis="y")
    _legend(axis)
    return _save(figure, path, _heading(title, model, dataset), caption)


@_styled
def video_gif(videos: Sequence[ArrayLike], path: PathLike, shape: Optional[Tuple[int, int]] = None,
              titles: Optional[Sequence[str]] = None, fps: int = 10) -> str:
    """Videos (frames, D) side by side as an animated GIF (Pillow, which matplotlib brings)."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    movies = [_as_images(video, shape) for video in videos]
    figure, axes = plt.subplots(1, len(movies), figsize=(2.2 * len(movies), 2.4), squeeze=False)
    pictures = []
    for axis, video, name in zip(axes[0], movies, titles or [""] * len(movies)):
        pictures.append(axis.imshow(np.clip(video[0], 0, 1), cmap="gray_r", vmin=0, vmax=1))
        axis.set_title(name)
        axis.set_axis_off()

    def show(frame):
        for picture, video in zip(pictures, movies):
            picture.set_data(np.clip(video[frame], 0, 1))
        return pictures

    frames = min(len(video) for video in movies)
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".gif")
    os.close(handle)
    try:
        FuncAnimation(figure, show, frames=frames).save(temporary, writer=PillowWriter(fps=fps), dpi=DPI)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
        plt.close(figure)
    return os.fspath(path)
