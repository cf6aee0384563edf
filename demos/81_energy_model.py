"""Energy-based model (Du and Mordatch 2019): contrastive divergence with short-run Langevin dynamics
and a replay buffer.

1. The 8-Gaussian ring: EnergyModel with its defaults (an MLP energy 2-128-128-1 with SiLU, 3000
   updates, K = 40 clipped Langevin steps per update from a replay buffer of 10,000 with 5% fresh
   noise); 2,500 samples by 500 Langevin steps from uniform noise over the data's box.  Mode
   coverage (VEEGAN's: high quality within 3 std of a mode; target 8/8 modes and at least 70% high
   quality), the share of the most and least visited modes, the median distance of samples and of
   data to their nearest mode, and the energy landscape with data and samples.
2. The quadratic energy (hidden=()) at temperature 1 (noise_scale = sqrt(2 step_size), no clipping,
   alpha = 0) on a correlated Gaussian: the learned mean and covariance against the data's.
3. Digits (full mode): 1000 updates on the 8x8 digits; samples by 2000 Langevin steps from noise and
   chains from the replay buffer; digits_fd of both with the real-vs-real floor.

Expected wall time on a 2-core CPU: about 2 minutes (quick: about 15 s).
"""
import math
import os
import time

import numpy as np

from minigen import metrics, plots
from minigen.data import TOY_CENTERS, TOY_STD, load_digits, toy_2d
from minigen.models import EnergyModel

EXTENT = (-2.6, 2.6, -2.6, 2.6)
MEAN = np.array([1.0, -2.0])
COVARIANCE = np.array([[2.0, 0.8], [0.8, 1.0]])


def nearest_mode(points):
    """Index of and distance to the nearest ring mode of each point, (n,) and (n,)."""
    distances = np.linalg.norm(points[:, None, :] - TOY_CENTERS["8gaussians"][None], axis=2)   # (n, 8)
    return distances.argmin(axis=1), distances.min(axis=1)


def ring_results(quick, out_dir):
    """Fit on the ring; mode coverage of 2,500 samples, the energy landscape, the loss."""
    X, held_out = toy_2d("8gaussians", 20_000, seed=0), toy_2d("8gaussians", 2_500, seed=1)
    started, cpu = time.perf_counter(), time.process_time()
    model = EnergyModel(2, seed=0).fit(X, steps=200 if quick else None, progress=False)
    train_s, train_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    samples = model.sample(2500, seed=1)
    modes, high_quality = metrics.mode_coverage(samples, TOY_CENTERS["8gaussians"], TOY_STD["8gaussians"])
    mode_of_sample, distance = nearest_mode(samples)
    shares = np.bincount(mode_of_sample, minlength=8) / len(samples)
    plots.energy_contour(model.energy, os.path.join(out_dir, "81_ring_energy.png"), EXTENT, data=held_out,
                         samples=samples, model="EnergyModel", dataset="8gaussians",
                         title=f"E(x), data grey, samples white: {modes}/8 modes, {high_quality:.0%} high quality")
    plots.scatter_2d(samples, os.path.join(out_dir, "81_ring_samples.png"), data=held_out,
                     centers=TOY_CENTERS["8gaussians"], model="EnergyModel", dataset="8gaussians")
    plots.loss_curves({"contrastive divergence (3)": model.history["loss"]},
                      os.path.join(out_dir, "81_ring_loss.png"), title="EnergyModel on 8gaussians: loss")
    return {"ring_modes": modes, "ring_high_quality": high_quality, "ring_largest_mode_share": float(shares.max()),
            "ring_smallest_mode_share": float(shares.min()), "ring_sample_median_distance": float(np.median(distance)),
            "ring_data_median_distance": float(np.median(nearest_mode(held_out)[1])),
            "ring_train_s": round(train_s, 1), "ring_train_cpu_s": round(train_cpu_s, 1)}


def quadratic_form(model):
    """(m, P^-1) of the learned quadratic energy in data coordinates, from central differences of
    model.energy (exact for a quadratic)."""
    def energy(point):
        return model.energy(np.asarray([point], dtype=np.float32))[0]
    unit = np.eye(2)
    gradient = np.array([(energy(e) - energy(-e)) / 2 for e in unit])
    hessian = np.array([[(energy(a + b) - energy(a - b) - energy(b - a) + energy(-a - b)) / 4 for b in unit]
                        for a in unit])
    return -np.linalg.solve(hessian, gradient), np.linalg.inv(hessian)


def quadratic_results(quick):
    """The quadratic energy at T = 1 against the data's mean and covariance."""
    X = np.random.default_rng(0).multivariate_normal(MEAN, COVARIANCE, size=4000).astype(np.float32)
    model = EnergyModel(2, hidden=(), data_std=1.0, step_size=0.05, noise_scale=math.sqrt(0.1), step_clip=None)
    model.fit(X, steps=200 if quick else 1000, batch_size=256, buffer_size=1000, alpha=0.0, progress=False)
    mean, covariance = quadratic_form(model)
    data_covariance = np.cov(X.T, bias=True)
    return {"quadratic_mean_error": float(np.abs(mean - X.mean(axis=0)).max()),
            "quadratic_covariance_relative_error": float(np.linalg.norm(covariance - data_covariance)
                                                         / np.linalg.norm(data_covariance))}


def digits_results(out_dir):
    """1000 updates on digits; digits_fd of samples from noise and of replay-buffer chains."""
    X = load_digits("train")
    started = time.perf_counter()
    model = EnergyModel(64, seed=0).fit(X, steps=1000, progress=False)
    train_s = time.perf_counter() - started
    samples = np.clip(model.sample(1000, steps=2000, seed=1), 0, 1)
    buffer_chains = np.clip(model.unstandardize(model.replay[:1000]), 0, 1)
    plots.image_grid(samples[:64], os.path.join(out_dir, "81_digits_samples.png"),
                     title="2000 Langevin steps from noise", model="EnergyModel", dataset="digits")
    plots.image_grid(buffer_chains[:64], os.path.join(out_dir, "81_digits_buffer.png"),
                     title="chains of the replay buffer", model="EnergyModel", dataset="digits")
    return {"digits_fd_samples": metrics.digits_fd(samples), "digits_fd_buffer": metrics.digits_fd(buffer_chains),
            "digits_fd_floor": metrics.digits_fd_floor(), "digits_train_s": round(train_s, 1)}


def main(quick=False, out_dir="out"):
    results = {**ring_results(quick, out_dir), **quadratic_results(quick)}
    if not quick:
        results.update(digits_results(out_dir))
    return results


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
