"""Score models and Langevin dynamics (Song and Ermon 2019; Song et al. 2021).

Part 1, the exact score of 0.8 N((5,5), I) + 0.2 N((-5,-5), I): plain Langevin from uniform
starts keeps the 50/50 split of its starting points, annealed Langevin over sigmas 20 -> 1 recovers
the 0.8/0.2 weights; the VP SDE's Euler-Maruyama sampler and its probability-flow ODE (with the
exact score of each noised marginal) reproduce the mixture too.
Part 2, an NCSN trained by denoising score matching on the swiss roll: annealed Langevin samples
over the data, and Langevin trajectories over the learned score field.

Expected wall time on a 2-core CPU: quick about 20 s; full about 4 minutes.
"""
import os

import numpy as np

from minigen import metrics, plots
from minigen.data import toy_2d
from minigen.models import NCSN
from minigen.models.score import annealed_langevin, geometric_sigmas, langevin, mixture_score
from minigen.models.sde import VPSDE

MEANS = np.array([[5.0, 5.0], [-5.0, -5.0]])
WEIGHTS = np.array([0.8, 0.2])


def upper_weight(x):
    return float((x[:, 0] > 0).mean())


def exact_score_samplers(quick, out_dir):
    """Mode weights reached by plain and annealed Langevin and by the VP SDE samplers."""
    rng = np.random.default_rng(0)
    n = 500 if quick else 3000
    start = rng.uniform(-8, 8, (n, 2)).astype(np.float32)
    plain = langevin(lambda x: mixture_score(x, MEANS, WEIGHTS, 1.0), start, 0.1, 1000, rng)
    sigmas = geometric_sigmas(20.0, 1.0, 10)
    annealed = annealed_langevin(lambda x, i: mixture_score(x, MEANS, WEIGHTS, 1.0 + sigmas[i] ** 2),
                                 start, sigmas, steps_per_sigma=100, step_lr=0.05, generator=rng)
    sde, scale = VPSDE(), 5.0                                         # the SDE runs on data / 5
    noised_score, _ = sde.mixture_score(MEANS / scale, WEIGHTS, 1.0 / scale ** 2)   # p_t is a mixture too
    noise = rng.standard_normal((n, 2)).astype(np.float32)
    by_sde = scale * sde.sample(noised_score, noise, "sde", 500, rng)[-1]
    by_ode = scale * sde.sample(noised_score, noise, "ode", 100, rng)[-1]
    trajectories = [langevin(lambda x: mixture_score(x, MEANS, WEIGHTS, 1.0), p[None].astype(np.float32),
                             0.1, 200, rng, record_every=1)[1] for p in start[:6]]
    plots.vector_field(lambda x: mixture_score(x, MEANS, WEIGHTS, 1.0), os.path.join(out_dir, "51_exact_score.png"),
                       (-9, 9, -9, 9), trajectories=[np.concatenate(t) for t in trajectories],
                       title="exact score of 0.8 N((5,5), I) + 0.2 N((-5,-5), I), Langevin paths")
    for name, samples in (("plain", plain), ("annealed", annealed), ("sde", by_sde), ("ode", by_ode)):
        plots.scatter_2d(samples, os.path.join(out_dir, f"51_mixture_{name}.png"), centers=MEANS,
                         title=f"{name}: weight of (5, 5) = {upper_weight(samples):.2f} (true 0.80)")
    return {"plain_langevin_weight": upper_weight(plain), "annealed_langevin_weight": upper_weight(annealed),
            "vp_sde_weight": upper_weight(by_sde), "probability_flow_weight": upper_weight(by_ode)}


def trained_ncsn(quick, out_dir):
    """NCSN on the swiss roll: samples, the learned score field and Langevin paths over it."""
    model = NCSN((2,), seed=0).fit(toy_2d("swissroll", 20_000, seed=0), steps=200 if quick else None,
                                    progress=False)
    n = 300 if quick else 1000
    samples, states = model.sample(n, steps_per_sigma=20 if quick else 100, seed=1, record_every=10)
    held_out = toy_2d("swissroll", n, seed=1)
    plots.scatter_2d(samples, os.path.join(out_dir, "51_ncsn_swissroll.png"), data=held_out,
                     title="NCSN, annealed Langevin on the swiss roll")
    middle = len(model.sigmas) // 2

    def field(points):
        standardized = ((points - model.shift) / model.scale).astype(np.float32)
        return model.learned_score(standardized, middle)
    plots.vector_field(field, os.path.join(out_dir, "51_ncsn_score_field.png"), (-3, 3, -3, 3),
                       trajectories=[states[:, k] for k in range(5)],
                       title=f"learned score at sigma = {model.sigmas[middle]:.2f}, Langevin paths")
    plots.loss_curves({"DSM loss": model.history["loss"]}, os.path.join(out_dir, "51_ncsn_loss.png"))
    return {"ncsn_swissroll_mmd": metrics.mmd(samples, held_out)}


def main(quick=False, out_dir="out"):
    return {**exact_score_samplers(quick, out_dir), **trained_ncsn(quick, out_dir)}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
