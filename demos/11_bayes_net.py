"""A discrete Bayesian network: the slide's P(A, B, C, D) = P(A) P(B) P(C, D | A, B).

Ancestral sampling draws A and B from their tables, then (C, D) jointly from the row of P(C, D | A, B)
that A and B select.  The empirical frequencies of the 16 joint states are compared with the exact
joint (a bar chart) and by Pearson's chi-square test (15 degrees of freedom): a large p-value says the
samples are consistent with the joint.  The tables are then refit from the samples by counting.

Expected wall time on a 2-core CPU: about 3 s (quick: about 2 s).
"""
import itertools
import os

import numpy as np
from scipy.stats import chi2

from minigen import plots
from minigen.models import BayesNet


def chi_square(counts, probabilities):
    """Pearson's statistic sum (observed - expected)^2 / expected and its p-value (k - 1 dof)."""
    expected = counts.sum() * probabilities
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return statistic, float(chi2.sf(statistic, len(counts) - 1))


def main(quick=False, out_dir="out"):
    net = BayesNet.slide_example()
    n = 20_000 if quick else 200_000
    samples = net.sample(n, seed=0)                                         # (n, 4) in net.variables order
    joint = net.joint().ravel()                                             # (16,)
    cards = [net.cardinality[v] for v in net.variables]
    counts = np.bincount(np.ravel_multi_index(samples.T, cards), minlength=joint.size).astype(float)
    statistic, p_value = chi_square(counts, joint)
    labels = ["".join(map(str, state)) for state in itertools.product(*(range(k) for k in cards))]
    plots.bar_comparison(labels, {"exact joint": joint, f"frequency of {n} samples": counts / n},
                         os.path.join(out_dir, "11_bayes_net_joint.png"), ylabel="probability",
                         title="P(A)P(B)P(C,D|A,B): states " + "".join(net.variables))
    refit = BayesNet.slide_example().fit(samples, alpha=1.0)
    return {"n_samples": n, "chi_square": statistic, "degrees_of_freedom": joint.size - 1, "p_value": p_value,
            "max_abs_frequency_error": float(np.abs(counts / n - joint).max()),
            "refit_max_joint_error": float(np.abs(refit.joint().ravel() - joint).max())}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
