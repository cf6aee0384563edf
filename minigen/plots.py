"""Figures for the demos and the command line: headless (Agg), PNG, written atomically.

Every function takes NumPy arrays (or anything np.asarray accepts), writes one small PNG to `path`
through a temporary file in the same folder, closes its figure, and returns the path.
Images are drawn with values clipped to [0, 1] (map tanh outputs in [-1, 1] back first).
"""
import math
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from autograd.serialize import atomic_file

DPI = 100
GRID_POINTS = 120


def _save(figure, path, title=None):
    """Write `figure` to `path` as a PNG via a temporary file and a rename; close it; return path."""
    if title:
        figure.suptitle(title, fontsize=10)
    path = os.fspath(path)
    try:
        with atomic_file(path, "wb") as file:
            figure.savefig(file, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(figure)
    return path


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


def _tile(images, nrow):
    """One mosaic (rows*H + gaps, nrow*W + gaps) of images, with a one-pixel light grey gap."""
    n, height, width = images.shape
    rows = math.ceil(n / nrow)
    mosaic = np.full((rows * (height + 1) - 1, nrow * (width + 1) - 1), 0.3)
    for i, image in enumerate(images):
        top, left = (i // nrow) * (height + 1), (i % nrow) * (width + 1)
        mosaic[top:top + height, left:left + width] = image
    return mosaic


def _figure_for(mosaic, scale=0.06):
    height, width = mosaic.shape
    figure, axis = plt.subplots(figsize=(max(2.0, width * scale), max(2.0, height * scale)))
    axis.imshow(np.clip(mosaic, 0, 1), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    axis.set_axis_off()
    return figure


def image_grid(images, path, nrow=None, title=None, shape=None):
    """A grid of images (n, D) with D square, or (n, H, W); values in [0, 1]."""
    images = _as_images(images, shape)
    if len(images) == 0:
        raise ValueError("image_grid: no images to draw")
    nrow = nrow or math.ceil(math.sqrt(len(images)))
    return _save(_figure_for(_tile(images, nrow)), path, title)


def interpolation_strip(rows, path, shape=None, title=None):
    """Rows of images (r, steps, D) or a list of (steps, D): one interpolation per row."""
    rows = [np.asarray(row) for row in rows]
    steps = len(rows[0])
    images = np.concatenate([_as_images(row, shape) for row in rows])
    return _save(_figure_for(_tile(images, steps)), path, title)


def chain_strip(chain, path, shape=None, title=None):
    """A Markov chain (steps, n, D): one column per step, one row per chain."""
    chain = np.asarray(chain)
    if chain.ndim != 3:
        raise ValueError(f"chain_strip: chain must be (steps, n, D), got shape {chain.shape}")
    per_chain = chain.transpose(1, 0, 2)                                 # (n, steps, D)
    return interpolation_strip(list(per_chain), path, shape=shape, title=title)


def loss_curves(history, path, title=None):
    """Each named series of `history` (name -> list of numbers) against its index."""
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for name, values in history.items():
        values = np.asarray(values, dtype=np.float64)
        if values.size:
            axis.plot(np.arange(1, values.size + 1), values, label=name, linewidth=1)
    axis.set_xlabel("record")
    axis.set_ylabel("value")
    if history:
        axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return _save(figure, path, title)


def _square_axis(extent=None):
    figure, axis = plt.subplots(figsize=(4, 4))
    if extent is not None:
        axis.set_xlim(extent[0], extent[1])
        axis.set_ylim(extent[2], extent[3])
    axis.set_aspect("equal")
    return figure, axis


def scatter_2d(samples, path, data=None, centers=None, title=None):
    """Model samples (n, 2) over the data (grey) and the mixture centers (red crosses)."""
    samples = np.asarray(samples)
    figure, axis = _square_axis()
    if data is not None:
        data = np.asarray(data)
        axis.scatter(data[:, 0], data[:, 1], s=2, c="0.7", label="data")
    axis.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:blue", label="samples")
    if centers is not None:
        centers = np.asarray(centers)
        axis.scatter(centers[:, 0], centers[:, 1], s=30, c="tab:red", marker="x", label="modes")
    axis.legend(fontsize=7, markerscale=3, loc="upper right")
    return _save(figure, path, title)


def _grid(extent, points=GRID_POINTS):
    xs = np.linspace(extent[0], extent[1], points)
    ys = np.linspace(extent[2], extent[3], points)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)


def density_2d(log_density, path, extent, samples=None, title=None):
    """exp(log_density) on a grid over extent (xmin, xmax, ymin, ymax); optional samples on top."""
    gx, gy, points = _grid(extent)
    log_values = np.asarray(log_density(points), dtype=np.float64).reshape(gx.shape)
    density = np.exp(log_values - log_values.max())
    figure, axis = _square_axis(extent)
    axis.imshow(density, origin="lower", extent=extent, cmap="viridis", aspect="equal")
    if samples is not None:
        samples = np.asarray(samples)
        axis.scatter(samples[:, 0], samples[:, 1], s=1, c="white", alpha=0.5)
    return _save(figure, path, title)


def vector_field(field_fn, path, extent, trajectories=None, title=None):
    """Arrows of field_fn((m, 2)) -> (m, 2) over extent, and trajectories (each (steps, 2)) on top."""
    gx, gy, points = _grid(extent, points=17)
    field = np.asarray(field_fn(points), dtype=np.float64)
    figure, axis = _square_axis(extent)
    axis.quiver(gx, gy, field[:, 0].reshape(gx.shape), field[:, 1].reshape(gx.shape),
                color="0.5", angles="xy")
    for trajectory in trajectories or []:
        trajectory = np.asarray(trajectory)
        axis.plot(trajectory[:, 0], trajectory[:, 1], linewidth=1.2)
        axis.plot(trajectory[0, 0], trajectory[0, 1], "o", markersize=4, color="black")
    return _save(figure, path, title)


def line_plot(x, curves, path, xlabel, ylabel, title=None, logx=False, logy=False, hlines=None):
    """Named curves (name -> y values over x) with optional reference lines (name -> y)."""
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for name, values in curves.items():
        axis.plot(x, values, marker="o", markersize=3, linewidth=1, label=name)
    for name, level in (hlines or {}).items():
        axis.axhline(level, linestyle="--", linewidth=1, color="0.4")
        axis.annotate(name, (axis.get_xlim()[0], level), fontsize=7, va="bottom")
    axis.set_xscale("log" if logx else "linear")
    axis.set_yscale("log" if logy else "linear")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return _save(figure, path, title)


def decision_boundary(predict_fn, X, y, path, title=None):
    """Regions of predict_fn((m, 2)) -> labels over the 2-D points X, coloured by their labels y."""
    X, y = np.asarray(X), np.asarray(y)
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-6
    extent = (X[:, 0].min() - margin[0], X[:, 0].max() + margin[0],
              X[:, 1].min() - margin[1], X[:, 1].max() + margin[1])
    gx, gy, points = _grid(extent)
    regions = np.asarray(predict_fn(points)).reshape(gx.shape)
    figure, axis = _square_axis(extent)
    axis.set_aspect("auto")
    axis.contourf(gx, gy, regions, alpha=0.3, cmap="tab10", vmin=0, vmax=9)
    axis.scatter(X[:, 0], X[:, 1], c=y, s=8, cmap="tab10", vmin=0, vmax=9, edgecolors="k", linewidths=0.2)
    return _save(figure, path, title)


def bar_comparison(labels, bars, path, ylabel, title=None):
    """Grouped bars: one group per label, one bar per named series (name -> values over labels)."""
    width = 0.8 / max(1, len(bars))
    positions = np.arange(len(labels))
    figure, axis = plt.subplots(figsize=(max(5, 0.45 * len(labels)), 3.2))
    for i, (name, values) in enumerate(bars.items()):
        axis.bar(positions + (i - (len(bars) - 1) / 2) * width, values, width, label=name)
    axis.set_xticks(positions)
    axis.set_xticklabels(labels, rotation=90 if len(labels) > 8 else 0, fontsize=7)
    axis.set_ylabel(ylabel)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, axis="y")
    return _save(figure, path, title)


def video_gif(videos, path, shape=None, titles=None, fps=10):
    """Videos (frames, D) side by side as an animated GIF (Pillow, which matplotlib brings)."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    videos = [_as_images(video, shape) for video in videos]
    figure, axes = plt.subplots(1, len(videos), figsize=(2.2 * len(videos), 2.4), squeeze=False)
    pictures = []
    for axis, video, name in zip(axes[0], videos, titles or [""] * len(videos)):
        pictures.append(axis.imshow(np.clip(video[0], 0, 1), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest"))
        axis.set_title(name, fontsize=8)
        axis.set_axis_off()

    def show(frame):
        for picture, video in zip(pictures, videos):
            picture.set_data(np.clip(video[frame], 0, 1))
        return pictures

    frames = min(len(video) for video in videos)
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
    return path
