"""Score SDEs (Song et al. 2021) on a 2-D Gaussian mixture whose score is known at every time.

The data: 8 Gaussians of standard deviation 0.15 on a circle of radius 2, with weights 1:2:...:8.
Under the VP and VE SDEs a Gaussian mixture stays one, so the exact score of every noised marginal
drives the samplers and the probability-flow likelihood; then a DDPM learns the same data and its
score network takes the exact score's place.

Part 1, samplers: reverse-diffusion predictor alone against predictor-corrector (one Langevin
step, signal-to-noise ratio 0.16) for 5 to 100 steps, for both SDEs: the total variation between
the samples' mode weights and the true ones (with the 95th percentile of real draws as the floor),
and the spread of samples about their modes over the true spread (1 is right; too few steps leave
it wide, and the corrector narrows it); Euler-Maruyama and the probability-flow ODE at 300 steps.
Part 2, likelihood: the probability-flow ODE's log p(x) with the exact score and its exact
divergence against the true log-density of held-out points (with p_1 itself as the prior, and
with each SDE's own prior, which differs from p_1 a little); then a trained DDPM's ODE
log-likelihood (its score network differentiated by autograd) against the truth, and its density.

Expected wall time on a 2-core CPU: quick about 15 s; full about 2 minutes.
"""
import os
import time

import numpy as np

from minigen import plots
from minigen.data import TOY_CENTERS
from minigen.models import DDPM
from minigen.models.score import mixture_log_density
from minigen.models.sde import VESDE, VPSDE

CENTERS = TOY_CENTERS["8gaussians"]
WEIGHTS = np.arange(1, 9) / 36
VARIANCE = 0.15 ** 2
SDES = {"VP": VPSDE(), "VE": VESDE(sigma_min=0.01, sigma_max=10.0)}
EXTENT = (-3.2, 3.2, -3.2, 3.2)


def mixture_data(n, seed):
    rng = np.random.default_rng(seed)
    component = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    return (CENTERS[component] + np.sqrt(VARIANCE) * rng.standard_normal((n, 2))).astype(np.float32)


def true_log_density(x):
    return mixture_log_density(x, CENTERS, WEIGHTS, VARIANCE)


def mode_statistics(samples):
    """(total variation between the fraction of samples nearest each mode and the weights,
    the spread of samples about their nearest mode over the true 0.15)."""
    nearest = np.linalg.norm(samples[:, None] - CENTERS[None], axis=2).argmin(axis=1)
    fractions = np.bincount(nearest, minlength=len(WEIGHTS)) / len(samples)
    return 0.5 * float(np.abs(fractions - WEIGHTS).sum()), float((samples - CENTERS[nearest]).std() / np.sqrt(VARIANCE))


def samplers(quick, out_dir):
    """Mode weights and spread of predictor-only and predictor-corrector samples against the step count."""
    n = 1000 if quick else 2000
    steps = [5, 10, 20, 50, 100]
    floor = float(np.percentile([mode_statistics(mixture_data(n, 100 + k))[0] for k in range(20)], 95))
    rng = np.random.default_rng(0)
    weight_curves, spread_curves, results = {}, {}, {"real_mode_weight_tv_95": floor}
    for name, sde in SDES.items():
        score, _ = sde.mixture_score(CENTERS, WEIGHTS, VARIANCE)                  # exact: p_t is a mixture
        for label, corrector_steps in (("predictor", 0), ("predictor-corrector", 1)):
            statistics = [mode_statistics(sde.pc_sample(score, sde.prior_sample((n, 2), rng), count, rng,
                                                        corrector_steps=corrector_steps)[-1]) for count in steps]
            weight_curves[f"{name} {label}"] = [tv for tv, _ in statistics]
            spread_curves[f"{name} {label}"] = [spread for _, spread in statistics]
            results.update({f"{name}_{label}_{count}_spread": spread for count, (_, spread) in zip(steps, statistics)})
            results[f"{name}_{label}_{steps[-1]}_tv"] = weight_curves[f"{name} {label}"][-1]
        for method in ("sde", "ode"):
            samples = sde.sample(score, sde.prior_sample((n, 2), rng), method, 300, rng)[-1]
            results[f"{name}_{method}_300_tv"], results[f"{name}_{method}_300_spread"] = mode_statistics(samples)
        plots.scatter_2d(samples, os.path.join(out_dir, f"54_{name}_ode_samples.png"), data=mixture_data(n, 1),
                         centers=CENTERS, title=f"{name} SDE, probability-flow ODE with the exact score")
    plots.line_plot(steps, spread_curves, os.path.join(out_dir, "54_pc_spread.png"), "predictor steps",
                    "spread about the modes / true", title="reverse diffusion with and without a Langevin corrector",
                    logx=True, hlines={"true": 1.0})
    plots.line_plot(steps, weight_curves, os.path.join(out_dir, "54_pc_mode_weights.png"), "predictor steps",
                    "total variation of mode weights", title="reverse diffusion with and without a Langevin corrector",
                    logx=True, hlines={"real vs real (95%)": floor})
    return results


def exact_likelihood(quick, out_dir):
    """The probability-flow ODE log-likelihood with the exact score against the true log-density:
    with p_1 itself as the prior (only the ODE approximates) and with each SDE's own prior."""
    x = mixture_data(100 if quick else 300, seed=2)
    truth = true_log_density(x)
    order = np.argsort(truth)
    results, curves = {}, {"true log p": truth[order]}
    for name, sde in SDES.items():
        score, divergence = sde.mixture_score(CENTERS, WEIGHTS, VARIANCE)
        means, variance = sde.mixture_marginal(CENTERS, VARIANCE, 1.0)
        exact_prior = sde.log_likelihood(score, x, divergence, t_start=0.0,
                                         prior_log_prob=lambda y: mixture_log_density(y, means, WEIGHTS, variance))
        own_prior = sde.log_likelihood(score, x, divergence, t_start=0.0)
        results.update({f"{name}_ode_loglik_max_error": float(np.abs(exact_prior - truth).max()),
                        f"{name}_ode_loglik_own_prior_mean_error": float(np.abs(own_prior - truth).mean())})
        curves[f"{name} probability-flow ODE"] = exact_prior[order]
    plots.line_plot(np.arange(len(x)), curves, os.path.join(out_dir, "54_exact_loglik.png"),
                    "held-out point (sorted by true log p)", "log p(x)",
                    title="ODE log-likelihood with the exact score")
    return results


def learned_likelihood(quick, out_dir):
    """A DDPM's probability-flow log-likelihood (autograd divergence of its network) against the truth."""
    model = DDPM((2,), seed=0)
    started = time.perf_counter()
    model.fit(mixture_data(20_000, seed=0), steps=300 if quick else None, progress=False)
    results = {"ddpm_train_s": round(time.perf_counter() - started, 1)}
    x = mixture_data(100 if quick else 500, seed=3)
    started = time.perf_counter()
    ode = model.ode_log_prob(x)
    results.update({"ddpm_ode_nll": float(-ode.mean()), "true_nll": float(-true_log_density(x).mean()),
                    "ddpm_ode_loglik_s": round(time.perf_counter() - started, 1)})
    if not quick:                              # a picture needs less: rtol 1e-3 is about 0.1 nats off
        picture = lambda points: model.ode_log_prob(points, rtol=1e-3, atol=1e-3)
        plots.density_2d(picture, os.path.join(out_dir, "54_ddpm_ode_density.png"), EXTENT,
                         title=f"DDPM density by the probability-flow ODE: NLL {results['ddpm_ode_nll']:.2f} "
                               f"(true {results['true_nll']:.2f})")
    plots.density_2d(true_log_density, os.path.join(out_dir, "54_true_density.png"), EXTENT,
                     title="the data's density")
    return results


def main(quick=False, out_dir="out"):
    return {**samplers(quick, out_dir), **exact_likelihood(quick, out_dir), **learned_likelihood(quick, out_dir)}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
