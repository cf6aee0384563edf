"""Denoising diffusion at 28x28 (MNIST-5k) with a U-Net: the denoising trajectory, and
classifier-free guided samples of every class.

The denoiser is the registry's 28x28 network (minigen.models.denoisers.default_denoiser): a U-Net
28 -> 14 -> 7 -> 14 -> 28 of residual blocks with the time (and label) embedding, 32/64/64 channels,
4-head self-attention over the 49 positions at 7x7, and skip connections; sampling uses an
exponential moving average of its weights (DDPM(ema=0.999)).  The model sees the grey-level digits.

1. An unconditional DDPM: the reverse chain from x_T ~ N(0, I) to a digit, a row of frames per
   sample, and mnist_fd of its samples against the test split with the real-vs-real floor.
2. A class-conditional DDPM (n_classes=10, labels dropped with probability 0.1 in training) sampled
   with classifier-free guidance eps~ = (1 + w) eps(x, y) - w eps(x): one row per class at w = 2,
   and the fraction of samples that the fixed MNIST classifier reads as the class asked for.

Full mode trains each model with DDPMDefaults.for_shape((784,)) (20,000 steps of 128) and samples by
DDIM in 100 steps; it is meant for a GPU (MINIGEN_BACKEND=cupy), where it was not measured.  On a
2-core CPU (one BLAS thread) a training step at batch 128 takes 2.1 s and one eps_theta pass over 100
images 0.5 s (measured), so the full mode would take about 24 hours there (an estimate from those
times, not run).  Quick mode (20 training steps of 16 per model, 10 DDIM steps: noise-like samples, a
smoke test) took 23 s on the CPU, plus about 15 s the first time to train the mnist_fd classifier.
"""
import os

import numpy as np

from minigen import data, metrics, plots, zoo
from minigen.models import DDPM

GUIDANCE = 2.0
FRAMES = 10


def fit(model, quick, *arrays):
    settings = dict(zoo.DDPM_MNIST_QUICK) if quick else {}
    return model.fit(*arrays, progress=False, **settings)


def trajectory(model, quick, out_dir):
    """Frames of the reverse chain, x_T (left) to x_0 (right), one row per sample."""
    steps = 10 if quick else 100
    _, chain = model.sample(6, method="ddim", steps=steps, seed=2, return_trajectory=True)   # (steps+1, 6, 784)
    shown = np.round(np.linspace(0, steps, FRAMES)).astype(int)
    rows = [np.clip(chain[shown, i], 0, 1) for i in range(chain.shape[1])]
    plots.interpolation_strip(rows, os.path.join(out_dir, "91_mnist_ddpm_trajectory.png"),
                              column_labels=[f"{steps - s}" for s in shown], column_axis_label="DDIM steps left",
                              title="the reverse chain: noise x_T to digit x_0", dataset="MNIST-5k")


def main(quick=False, out_dir="out"):
    X, y = data.load_mnist("train", return_labels=True)
    steps, n_per_class = (10, 2) if quick else (100, 50)

    model = fit(DDPM((784,), ema=zoo.DDPM_MNIST_EMA, seed=0), quick, X)
    trajectory(model, quick, out_dir)
    samples = np.clip(model.sample(10 * n_per_class, method="ddim", steps=steps, seed=1), 0, 1)
    numbers = {"mnist_fd": float(metrics.mnist_fd(samples)), "mnist_fd_floor": float(metrics.mnist_fd_floor()),
               "fd_samples": len(samples), "ddim_steps": steps}

    guided = fit(DDPM((784,), n_classes=10, ema=zoo.DDPM_MNIST_EMA, seed=0), quick, X, y)
    labels = np.repeat(np.arange(10), n_per_class)
    per_class = np.clip(guided.sample(len(labels), y=labels, guidance=GUIDANCE, method="ddim", steps=steps,
                                      seed=3), 0, 1)
    shown = per_class.reshape(10, n_per_class, 784)[:, :min(n_per_class, 10)].reshape(-1, 784)
    plots.image_grid(shown, os.path.join(out_dir, "91_mnist_guided.png"), nrow=min(n_per_class, 10),
                     title=f"classifier-free guidance, w = {GUIDANCE}: one row per class 0..9", dataset="MNIST-5k")
    numbers["guided_class_accuracy"] = float(metrics.classifier_accuracy(data="mnist", images=per_class,
                                                                         labels=labels))
    numbers["guidance"] = GUIDANCE
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
