"""Restricted Boltzmann machines (Hinton 2002, 2010) and annealed importance sampling
(Salakhutdinov and Murray 2008) on the 8x8 digits and on bars-and-stripes.

1. An RBM with 16 hidden units on the binarized digits, trained with its defaults (CD-1): training
   time, exact train and test NLL by enumerating the 2^16 hidden states (target: test NLL at most
   18.5 nats in at most 2 minutes on 2 cores; scikit-learn's BernoulliRBM with 16 units reaches
   18.86), the pseudo-likelihood beside it (not a likelihood), the filters as 8x8 images, samples,
   and Gibbs chains over time.
2. An RBM with 20 hidden units (64x20): AIS with the published schedule against exact log Z
   (target: within 0.05 nats), and the AIS estimate as the number of betas grows.
3. Bars-and-stripes 4x4: the average log-likelihood of the 30 patterns against the optimum
   -log 30 = -3.40.

Expected wall time on a 2-core CPU: about 40 s (quick: about 5 s).
"""
import math
import os
import time

import numpy as np

from minigen import plots
from minigen.data import bars_and_stripes, load_digits
from minigen.models.rbm import RBM

CHAIN_STEPS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def filters_as_images(W):
    """Each column of W (one hidden unit's weights) scaled to [0, 1]: (H, D)."""
    low, high = W.min(axis=0), W.max(axis=0)
    return ((W - low) / (high - low + 1e-12)).T


def gibbs_chain(rbm, n_chains, seed=0):
    """Visible states of n_chains Gibbs chains at CHAIN_STEPS: (len(CHAIN_STEPS), n_chains, D)."""
    v = rbm.sample(n_chains, steps=0, seed=seed)
    states, done = [], 0
    for step in CHAIN_STEPS:
        v = rbm.gibbs(v, steps=step - done, seed=seed + step) if step > done else v
        done = step
        states.append(v)
    return np.stack(states)


def digits_rbm(quick, out_dir):
    X, X_test = load_digits("train", binarize=True), load_digits("test", binarize=True)
    started = time.perf_counter()
    rbm = RBM(64, 16).fit(X, epochs=20 if quick else None, progress=False)
    train_seconds = time.perf_counter() - started
    log_z = rbm.log_partition("exact")
    numbers = {"rbm16_train_seconds": round(train_seconds, 1), "rbm16_log_z_exact": log_z,
               "rbm16_train_nll_exact": float(-rbm.log_prob(X, log_z).mean()),
               "rbm16_test_nll_exact": float(-rbm.log_prob(X_test, log_z).mean()),
               "rbm16_test_pseudo_nll": float(-rbm.pseudo_log_likelihood(X_test).mean())}
    plots.image_grid(filters_as_images(rbm.W.data), os.path.join(out_dir, "30_rbm_filters.png"), nrow=8,
                     title="RBM-16 filters: each hidden unit's weights")
    plots.image_grid(rbm.sample(64, steps=200 if quick else 1000, seed=0),
                     os.path.join(out_dir, "30_rbm_samples.png"), title="RBM-16 samples (Gibbs)")
    plots.chain_strip(gibbs_chain(rbm, 6), os.path.join(out_dir, "30_rbm_gibbs_chain.png"),
                      title="Gibbs chains at steps " + ", ".join(map(str, CHAIN_STEPS)))
    return numbers


def ais_against_exact(quick, out_dir):
    X = load_digits("train", binarize=True)
    rbm = RBM(64, 20, seed=1).fit(X, epochs=10 if quick else 100, progress=False)
    exact = rbm.log_partition("exact")
    started = time.perf_counter()
    default, default_std = rbm.log_partition("ais", n_betas=1000 if quick else 14500, return_std=True)
    ais_seconds = time.perf_counter() - started
    grid = [30, 100, 300, 1000] if quick else [30, 100, 300, 1000, 3000, 14500]
    estimates = [rbm.log_partition("ais", n_betas=n, seed=1) for n in grid]
    plots.line_plot(grid, {"AIS, 100 chains": estimates}, os.path.join(out_dir, "30_rbm_ais.png"),
                    xlabel="number of betas", ylabel="log Z", logx=True, hlines={"exact": exact},
                    title="RBM 64x20: AIS estimate of log Z against exact enumeration")
    return {"rbm20_log_z_exact": exact, "rbm20_log_z_ais": default, "rbm20_log_z_ais_std": default_std,
            "rbm20_ais_error": abs(default - exact), "rbm20_ais_seconds": round(ais_seconds, 1),
            "rbm20_ais_betas": 1000 if quick else 14500}


def bars_and_stripes_rbm(quick, out_dir):
    X = bars_and_stripes(4)
    rbm = RBM(16, 16).fit(X, epochs=100 if quick else 2000, batch_size=2, lr=0.05, k=5, momentum=0.0,
                          weight_decay=0.0, progress=False)
    plots.image_grid(rbm.sample(30, steps=1000, seed=0), os.path.join(out_dir, "30_rbm_bars_samples.png"),
                     nrow=10, title="RBM on bars-and-stripes 4x4: samples")
    return {"bas_mean_log_likelihood": float(rbm.log_prob(X).mean()), "bas_optimum": -math.log(len(X))}


def main(quick=False, out_dir="out"):
    return {**digits_rbm(quick, out_dir), **ais_against_exact(quick, out_dir),
            **bars_and_stripes_rbm(quick, out_dir)}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
