"""Mode collapse on the 2-D toys: the saturating minimax GAN, the non-saturating GAN and WGAN-GP on
the ring of 8 Gaussians and the grid of 25 (VEEGAN's benchmark).

Each run trains the same MLP generator and discriminator (three hidden layers of 128) with the
loss's tuned defaults, draws 2,500 samples and counts the modes captured and the fraction of
high-quality samples (within 3 std of a mode), averaged over seeds.  Snapshots of the samples over
the data as training goes on show modes being found, or dropped and chased (the "Helvetica
scenario").

Measured by this script end to end (seeds 0-2, 1,012 s on a 2-core machine shared with other jobs):
non-saturating (5,000 steps of 512) ring 8/8 modes, 95.5% high quality, grid 23.7/25 (at least 22),
88.2%; WGAN-GP (4,000 steps) ring 8/8, 94.6%, grid 24.7/25 (at least 24) but only 24.7% high
quality (samples spread between the modes); saturating minimax ring 8/8, 87.6%, grid 25/25, 85.9%.
Expected wall time on a 2-core CPU: about 17 minutes, as measured above; quick mode: about 10 s
(one short run on the ring).
"""
import os

import numpy as np

from minigen import data, metrics, plots
from minigen.models.gan import GAN, GANDefaults

N_SAMPLES = 2500
SNAPSHOTS = 4


def train_one(toy, loss, seed, steps, out_dir, draw):
    """Fit one GAN; returns (modes captured, fraction high quality), drawing snapshots if asked."""
    X = data.toy_2d(toy, 5000, seed=seed)
    gan = GAN(2, latent_dim=2, hidden=(128, 128, 128), loss=loss, seed=seed)
    steps = steps or None
    total = steps or GANDefaults.tuned(loss, "mlp").steps
    snapshots = {}

    def snapshot(model, step):
        snapshots[step] = model.sample(500, seed=0)
    gan.fit(X, steps=steps, progress=False, callback=snapshot if draw else None,
            callback_every=max(1, total // SNAPSHOTS))
    samples = gan.sample(N_SAMPLES, seed=1000 + seed)
    if draw:
        draw_run(toy, loss, X, snapshots, samples, gan.history, out_dir)
    return metrics.mode_coverage(samples, data.TOY_CENTERS[toy], data.TOY_STD[toy])


def draw_run(toy, loss, X, snapshots, samples, history, out_dir):
    for step, points in snapshots.items():
        plots.scatter_2d(points, os.path.join(out_dir, f"gan_{toy}_{loss}_step{step:05d}.png"), data=X[:2000],
                         centers=data.TOY_CENTERS[toy], title=f"{loss} on {toy}: step {step}")
    plots.scatter_2d(samples, os.path.join(out_dir, f"gan_{toy}_{loss}_final.png"), data=X[:2000],
                     centers=data.TOY_CENTERS[toy], title=f"{loss} on {toy}: {N_SAMPLES} samples")
    plots.loss_curves(history, os.path.join(out_dir, f"gan_{toy}_{loss}_losses.png"), title=f"{loss} on {toy}")


def main(quick=False, out_dir="out"):
    if quick:
        plan, seeds, steps = [("8gaussians", "nonsaturating")], [0], 400
    else:
        plan = [(toy, loss) for toy in ("8gaussians", "25gaussians")
                for loss in ("nonsaturating", "wgan-gp", "minimax")]
        seeds, steps = [0, 1, 2], None
    numbers = {"samples_per_run": N_SAMPLES, "seeds": len(seeds)}
    for toy, loss in plan:
        results = np.array([train_one(toy, loss, seed, steps, out_dir, draw=seed == seeds[0]) for seed in seeds])
        numbers[f"{toy}_{loss}_modes"] = float(results[:, 0].mean())
        numbers[f"{toy}_{loss}_modes_min"] = int(results[:, 0].min())
        numbers[f"{toy}_{loss}_high_quality"] = float(results[:, 1].mean())
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
