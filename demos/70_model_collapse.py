"""Model collapse from recursive training (Shumailov et al. 2023, "The curse of recursion").

Fit, sample, refit on the samples, repeat (minigen.models.collapse):
1. A 1-D Gaussian refit on M = 20 samples per generation with the unbiased variance, 2,000 chains:
   E[sigma^2] stays at 1 while E[log sigma^2] follows the theory line (g + 1) delta_M, delta_M ~ -1/M,
   and the median variance and the tail mass P(|x - mu_g| > 2) collapse.
2. A 1-D Gaussian mixture (two modes and a rare wide component) refit by EM on M = 50 samples: the
   variance and the mass in the original tails shrink; scikit-learn's GaussianMixture as the fit
   gives a reference curve.
3. A VAE on the binarized digits refit on 1,497 of its own binary samples per generation: the total
   pixel variance and the mass far from the mean of its decoder means E[x | z], z ~ N(0, I), and grids
   of those means at a few generations.
Demo 71 compares this replacement of the data with their accumulation.

Expected wall time on a 2-core CPU: about 40 s (quick: about 10 s).
"""
import os

import numpy as np
from sklearn.mixture import GaussianMixture

from minigen import plots
from minigen.data import load_digits
from minigen.models import collapse


def gaussian_part(quick, out_dir):
    generations, n_samples = (50 if quick else 100), 20
    models = collapse.gaussian_collapse(generations, n_samples, n_chains=500 if quick else 2000, seed=0)
    steps = np.arange(generations + 1)
    log_variance = np.array([np.log(m.variance).mean() for m in models])
    theory = collapse.expected_log_variance(generations, n_samples)
    plots.line_plot(steps, {"mean log sigma^2": log_variance, "theory (g + 1) delta_M": theory,
                            "log mean sigma^2": np.log([m.variance.mean() for m in models]),
                            "log median sigma^2": np.log([np.median(m.variance) for m in models])},
                    os.path.join(out_dir, "70_collapse_gaussian_variance.png"), xlabel="generation",
                    ylabel="log variance", title=f"Gaussian refit on M = {n_samples} samples per generation")
    tails = [collapse.gaussian_tail_mass(m) for m in models]
    plots.line_plot(steps, {"mean over chains": [t.mean() for t in tails],
                            "median over chains": [np.median(t) for t in tails]},
                    os.path.join(out_dir, "70_collapse_gaussian_tails.png"), xlabel="generation",
                    ylabel="P(|x - mu_g| > 2 sigma_0)", title="Gaussian: mass in the original tails")
    return {"gaussian_generations": generations, "gaussian_drift_theory": collapse.log_variance_drift(n_samples),
            "gaussian_drift_measured": float((log_variance[-1] - log_variance[0]) / generations),
            "gaussian_mean_variance_last": float(models[-1].variance.mean()),
            "gaussian_median_variance_last": float(np.median(models[-1].variance)),
            "gaussian_median_tail_first": float(np.median(tails[0])),
            "gaussian_median_tail_last": float(np.median(tails[-1]))}


def fit_with_scikit_learn(x, seed):
    """scikit-learn's EM as the fit, returned as a collapse.Mixture so the same sampler draws from it."""
    reference = GaussianMixture(3, random_state=seed).fit(np.asarray(x).reshape(-1, 1))
    return collapse.Mixture(reference.weights_, reference.means_.ravel(), reference.covariances_.ravel())


def mixture_chains(fit, generations, n_samples, chains):
    """Variance and tail mass (chains, generations + 1) of refit-and-resample runs from the true mixture."""
    truth = collapse.TAILED_MIXTURE
    width = 2 * np.sqrt(collapse.mixture_variance(truth))
    variances, tails = [], []
    for chain in range(chains):
        data = collapse.sample_gaussian_mixture(truth, n_samples, seed=1000 + chain)
        models = collapse.recursive_training(fit, collapse.sample_gaussian_mixture, data, generations,
                                             n_samples, seed=chain)
        variances.append([collapse.mixture_variance(m) for m in models])
        tails.append([collapse.mixture_tail_mass(m, width) for m in models])
    return np.array(variances), np.array(tails)


def mixture_part(quick, out_dir):
    generations, n_samples, chains = (15, 50, 6) if quick else (30, 50, 20)
    ours = mixture_chains(collapse.fit_gaussian_mixture, generations, n_samples, chains)
    reference = mixture_chains(fit_with_scikit_learn, generations, n_samples, max(2, chains // 2))
    steps = np.arange(generations + 1)
    plots.line_plot(steps, {"EM (minigen), mean": ours[0].mean(axis=0),
                            "GaussianMixture (scikit-learn), mean": reference[0].mean(axis=0)},
                    os.path.join(out_dir, "70_collapse_mixture_variance.png"), xlabel="generation",
                    ylabel="variance", hlines={"true": collapse.mixture_variance(collapse.TAILED_MIXTURE)},
                    title=f"Gaussian mixture refit on M = {n_samples} samples, {chains} chains")
    plots.line_plot(steps, {"EM (minigen), median": np.median(ours[1], axis=0),
                            "GaussianMixture (scikit-learn), median": np.median(reference[1], axis=0)},
                    os.path.join(out_dir, "70_collapse_mixture_tails.png"), xlabel="generation",
                    ylabel="mass beyond 2 original std", title="Gaussian mixture: tail mass")
    return {"mixture_variance_first": float(ours[0][:, 0].mean()), "mixture_variance_last": float(ours[0][:, -1].mean()),
            "mixture_median_tail_first": float(np.median(ours[1][:, 0])),
            "mixture_median_tail_last": float(np.median(ours[1][:, -1])),
            "mixture_sklearn_variance_last": float(reference[0][:, -1].mean())}


def vae_part(quick, out_dir):
    X = load_digits("train", binarize=True)
    generations, epochs = (3, 15) if quick else (10, 60)
    models = collapse.vae_collapse(X, generations, len(X), epochs=epochs, seed=0)
    samples = [m.sample(len(X), seed=0) for m in models]
    radius = float(np.quantile(np.linalg.norm(samples[0] - samples[0].mean(axis=0), axis=1), 0.95))
    variances = [collapse.total_variance(s) for s in samples]
    tails = [collapse.tail_mass(s, radius) for s in samples]
    steps = np.arange(generations + 1)
    plots.line_plot(steps, {"total variance of decoder means": variances},
                    os.path.join(out_dir, "70_collapse_vae_variance.png"), xlabel="generation", ylabel="variance",
                    title=f"VAE on binarized digits, {epochs} epochs per generation")
    plots.line_plot(steps, {"mass beyond generation 0's 95% radius": tails},
                    os.path.join(out_dir, "70_collapse_vae_tails.png"), xlabel="generation", ylabel="fraction",
                    hlines={"generation 0": 0.05}, title="VAE on binarized digits: tail mass of decoder means")
    shown = sorted({0, generations // 2, generations})
    plots.interpolation_strip([samples[g][:12] for g in shown], os.path.join(out_dir, "70_collapse_vae_samples.png"),
                              title="VAE samples at generations " + ", ".join(map(str, shown)))
    return {"vae_generations": generations, "vae_variance_first": variances[0], "vae_variance_last": variances[-1],
            "vae_tail_first": tails[0], "vae_tail_last": tails[-1]}


def main(quick=False, out_dir="out"):
    return {**gaussian_part(quick, out_dir), **mixture_part(quick, out_dir), **vae_part(quick, out_dir)}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
