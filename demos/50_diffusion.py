"""Diffusion (DDPM, Ho et al. 2020) on the 2-D toys and on 8x8 digits.

Writes: samples over the data on each toy; DDPM against DDIM step counts on the 8-Gaussian ring
(MMD^2 against steps); the forward noising strip and the reverse process strip on digits; digit
samples; loss curves.  Numbers: MMD^2 of 1000 samples against 1000 held-out points on each toy
with the 95th percentile of 30 real-vs-real MMD^2 (the floor), mode coverage on the ring,
digits_fd of ancestral (1000 steps) and DDIM (100 steps) samples with its real-vs-real floor.

Expected wall time on a 2-core CPU: quick about 15 s idle (50 s measured with the machine shared);
full about 30 minutes (each toy trains for about 2 minutes, digits for about 5).
"""
import os
import time

import numpy as np

from minigen import metrics, plots
from minigen.data import TOY_CENTERS, TOY_NAMES, TOY_STD, load_digits, toy_2d
from minigen.models import DDPM


def real_floor(name, n=1000, draws=30):
    """The 95th percentile of MMD^2 between two independent draws of n points of the toy."""
    values = [metrics.mmd(toy_2d(name, n, seed=1000 + k), toy_2d(name, n, seed=2000 + k)) for k in range(draws)]
    return float(np.percentile(values, 95))


def toy_results(name, quick, out_dir):
    """Train on one toy, sample, score against held-out points and draw the samples."""
    n = 300 if quick else 1000
    model = DDPM((2,), seed=0)
    started = time.perf_counter()
    model.fit(toy_2d(name, 20_000, seed=0), steps=150 if quick else None, progress=False)
    train_s = time.perf_counter() - started
    samples = model.sample(n, method="ddim" if quick else "ddpm", steps=20 if quick else None, seed=1)
    held_out = toy_2d(name, n, seed=1)
    results = {f"{name}_mmd": metrics.mmd(samples, held_out),
               f"{name}_floor95": real_floor(name, n, draws=5 if quick else 30),
               f"{name}_train_s": round(train_s, 1)}
    if name in TOY_CENTERS:
        modes, quality = metrics.mode_coverage(samples, TOY_CENTERS[name], TOY_STD[name])
        results.update({f"{name}_modes": modes, f"{name}_high_quality": quality})
    plots.scatter_2d(samples, os.path.join(out_dir, f"50_{name}_samples.png"), data=held_out,
                     title=f"DDPM on {name}: MMD^2 {results[f'{name}_mmd']:.4f}")
    return model, results


def step_counts(model, quick, out_dir):
    """MMD^2 of DDPM (respaced) and DDIM samples against the number of denoising steps."""
    steps = [5, 10, 20] if quick else [5, 10, 20, 50, 100, 250, 1000]
    n = 300 if quick else 1000
    held_out = toy_2d("8gaussians", n, seed=1)
    curves = {method: [metrics.mmd(model.sample(n, method=method, steps=s, seed=2), held_out) for s in steps]
              for method in ("ddpm", "ddim")}
    plots.line_plot(steps, curves, os.path.join(out_dir, "50_ddpm_vs_ddim_steps.png"), "denoising steps",
                    "MMD^2 to held-out data", title="8 Gaussians: DDPM vs DDIM", logx=True, logy=True,
                    hlines={"real vs real (95%)": real_floor("8gaussians", n, draws=5 if quick else 30)})
    return {f"{method}_{s}_steps_mmd": value for method, values in curves.items() for s, value in zip(steps, values)}


def digits_results(quick, out_dir):
    """Train on digits; the forward and reverse strips, samples and the Frechet distance."""
    X = load_digits("train")
    model = DDPM((64,), seed=0)
    started = time.perf_counter()
    model.fit(X, steps=20 if quick else None, progress=False)
    train_s = time.perf_counter() - started
    forward_times = np.linspace(0, model.T - 1, 10).astype(int)
    x0 = 2 * X[:6] - 1                                                                # pixels in [-1, 1]
    noise = np.random.default_rng(0).standard_normal(x0.shape)
    noised = np.stack([model.q_sample(x0, np.full(6, t), noise) for t in forward_times])  # (10, 6, 64)
    plots.forward_process(noised, forward_times, os.path.join(out_dir, "50_digits_forward.png"),
                          title="q(x_t | x_0), pixels in [-1, 1]", model="DDPM", dataset="digits")
    n = 64 if quick else 500
    method, steps = ("ddim", 10) if quick else ("ddpm", None)
    samples, trajectory = model.sample(n, method=method, steps=steps, seed=1, return_trajectory=True)
    frames = np.linspace(0, len(trajectory) - 1, 10).astype(int)
    plots.chain_strip(np.clip(trajectory[frames, :6], 0, 1), os.path.join(out_dir, "50_digits_reverse.png"),
                      title="reverse process, x_T to x_0")
    plots.image_grid(np.clip(samples[:64], 0, 1), os.path.join(out_dir, "50_digits_samples.png"),
                     title="DDPM samples")
    plots.loss_curves({"L_simple": model.history["loss"]}, os.path.join(out_dir, "50_digits_loss.png"))
    ddim = model.sample(n, method="ddim", steps=10 if quick else 100, seed=1)
    return {"digits_fd_ddpm": metrics.digits_fd(np.clip(samples, 0, 1)),
            "digits_fd_ddim100": metrics.digits_fd(np.clip(ddim, 0, 1)),
            "digits_fd_floor": metrics.digits_fd_floor(), "digits_train_s": round(train_s, 1)}


def main(quick=False, out_dir="out"):
    results = {}
    ring = None
    for name in TOY_NAMES:
        model, numbers = toy_results(name, quick, out_dir)
        results.update(numbers)
        ring = model if name == "8gaussians" else ring
    results.update(step_counts(ring, quick, out_dir))
    results.update(digits_results(quick, out_dir))
    return results


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
