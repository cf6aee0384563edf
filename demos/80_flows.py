"""Real NVP (Dinh, Sohl-Dickstein and Bengio 2017): exact likelihoods on 2-D toys and on digits.

1. The 8-Gaussian ring (modes of std 0.02 on a circle of radius 2): RealNVP with its defaults (16
   affine couplings with 2-128-128-4 ReLU conditioners, 8000 Adam steps) fit to 200,000 points.
   Held-out NLL in nats per point beside the truth, log 8 + 1 + log(2 pi 0.02^2) = -2.91 (the
   entropy of the ring), and beside the exact mixture's NLL on the same points; target at most -2.3.
   The learned density (and one mode up close), samples over the data, the loss.
2. Two moons: the same flow; density, samples, held-out NLL.
3. Dequantized 8x8 digits (levels k = 0..16 become (k + u) / 17, u uniform): a flow of 8 couplings,
   its number of steps chosen among 250, 500 and 1000 on a validation split cut from the training
   set, then refit on all of it; test bits per dimension beside a full-covariance Gaussian and the
   uniform density (log2 17 = 4.09 bits), and samples.

Expected wall time on a 2-core CPU: about 5 minutes (each toy trains for about 2 minutes; quick:
about 20 s).
"""
import math
import os
import time

import numpy as np
from scipy.special import logsumexp

from minigen import plots
from minigen.data import TOY_CENTERS, TOY_STD, load_digits, toy_2d
from minigen.models import RealNVP
from minigen.models.flow import bits_per_dim, dequantize

RING_TRUTH = math.log(8) + 1 + math.log(2 * math.pi * TOY_STD["8gaussians"] ** 2)   # -E log p, nats
EXTENT = {"8gaussians": (-2.5, 2.5, -2.5, 2.5), "moons": (-1.5, 2.5, -1.0, 1.5)}
LEVELS = 17
DIGITS_FLOW = {"n_layers": 8, "hidden": (128, 128)}
DIGITS_STEPS = (250, 500, 1000)
NOISE_COPIES = 10                     # dequantized copies of each training image


def ring_log_density(points):
    """The exact log density of the 8-Gaussian ring (equal weights), (n,)."""
    centers, std = TOY_CENTERS["8gaussians"], TOY_STD["8gaussians"]
    squared = ((points[:, None, :] - centers[None]) ** 2).sum(axis=2)                    # (n, 8)
    return logsumexp(-squared / (2 * std ** 2), axis=1) - math.log(8 * 2 * math.pi * std ** 2)


def toy_results(name, quick, out_dir):
    """Fit the default flow to one toy; held-out NLL, density, samples and the loss curve."""
    X = toy_2d(name, 20_000 if quick else 200_000, seed=0)
    held_out = toy_2d(name, 2_000 if quick else 20_000, seed=1)
    started, cpu = time.perf_counter(), time.process_time()
    model = RealNVP(2, seed=0).fit(X, steps=300 if quick else None, progress=False)
    results = {f"{name}_heldout_nll": -model.score(held_out),
               f"{name}_train_s": round(time.perf_counter() - started, 1),
               f"{name}_train_cpu_s": round(time.process_time() - cpu, 1)}
    if name == "8gaussians":
        results.update(ring_truth_nll=RING_TRUTH, ring_truth_nll_heldout=float(-ring_log_density(held_out).mean()),
                       ring_target_nll=-2.3)
    nll = results[f"{name}_heldout_nll"]
    plots.density_2d(model.log_prob, os.path.join(out_dir, f"80_{name}_density.png"), EXTENT[name],
                     title=f"density, held-out NLL {nll:.2f} nats", model="RealNVP", dataset=name)
    if name == "8gaussians":
        plots.density_2d(model.log_prob, os.path.join(out_dir, "80_8gaussians_one_mode.png"), (-0.1, 0.1, 1.9, 2.1),
                         samples=held_out, title="one mode up close (data: white)", model="RealNVP", dataset=name)
    plots.scatter_2d(model.sample(2000, seed=2), os.path.join(out_dir, f"80_{name}_samples.png"), data=held_out,
                     model="RealNVP", dataset=name)
    plots.loss_curves({"-log p(x)": model.history["loss"]}, os.path.join(out_dir, f"80_{name}_loss.png"),
                      title=f"RealNVP on {name}: training loss (nats per point)")
    return results


def gaussian_log_likelihood(X, reference):
    """log N(x; mean, covariance) of the rows of X for the Gaussian fit to `reference`, (n,)."""
    mean, covariance = reference.mean(axis=0), np.cov(reference.T, bias=True)
    difference = X - mean
    mahalanobis = np.einsum("ni,ij,nj->n", difference, np.linalg.inv(covariance), difference)
    return -0.5 * (mahalanobis + np.linalg.slogdet(2 * np.pi * covariance)[1])


def dequantized(levels, copies, seed):
    return dequantize(np.repeat(levels, copies, axis=0), LEVELS, np.random.default_rng(seed))


def digits_bpd(steps, fit_levels, eval_levels):
    """Test (or validation) bits per dimension of a flow trained `steps` steps; the flow too."""
    model = RealNVP(64, seed=0, **DIGITS_FLOW).fit(dequantized(fit_levels, NOISE_COPIES, 0), steps=steps,
                                                   progress=False)
    return bits_per_dim(model.log_prob(dequantized(eval_levels, 5, 1)), 64, LEVELS), model


def digits_results(quick, out_dir):
    """Steps chosen on a validation split, then test bits per dimension and samples."""
    train_levels = np.round(load_digits("train") * 16)
    test_levels = np.round(load_digits("test") * 16)
    candidates = (50,) if quick else DIGITS_STEPS
    validation = {steps: digits_bpd(steps, train_levels[:1200], train_levels[1200:])[0] for steps in candidates}
    best = min(validation, key=validation.get)
    started = time.perf_counter()
    test_bpd, model = digits_bpd(best, train_levels, test_levels)
    train_s = time.perf_counter() - started
    gaussian = gaussian_log_likelihood(dequantized(test_levels, 5, 1), dequantized(train_levels, NOISE_COPIES, 0))
    plots.image_grid(np.clip(model.sample(64, seed=0), 0, 1), os.path.join(out_dir, "80_digits_samples.png"),
                     title=f"RealNVP samples, test {test_bpd:.2f} bits per dimension", dataset="digits")
    return {"digits_test_bpd": test_bpd, "digits_steps_chosen": best,
            **{f"digits_validation_bpd_{steps}_steps": value for steps, value in validation.items()},
            "digits_gaussian_bpd": bits_per_dim(gaussian, 64, LEVELS), "digits_uniform_bpd": math.log2(LEVELS),
            "digits_train_s": round(train_s, 1)}


def main(quick=False, out_dir="out"):
    results = {}
    for name in ("8gaussians", "moons"):
        results.update(toy_results(name, quick, out_dir))
    results.update(digits_results(quick, out_dir))
    return results


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
