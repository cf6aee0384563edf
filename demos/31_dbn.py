"""Deep belief nets (Hinton, Osindero and Teh 2006) on the binarized 8x8 digits.

A DBN 64-32-16 trained greedily (each RBM with the RBM defaults, CD-1, the second on the first's
hidden probabilities).  Reported: the variational lower bound on the test log-likelihood, with the
top RBM's log Z both exact (2^16 states) and by AIS, beside the first RBM alone (its log Z by AIS:
2^32 states are too many to enumerate), so one sees what the second layer adds; and samples drawn
by Gibbs in the top RBM followed by one downward pass.

Expected wall time on a 2-core CPU: about 15 s (quick: about 2 s).
"""
import os
import time

from minigen import plots
from minigen.data import load_digits
from minigen.models.dbn import DBN

LAYER_SIZES = (64, 32, 16)


def main(quick=False, out_dir="out"):
    X, X_test = load_digits("train", binarize=True), load_digits("test", binarize=True)
    started = time.perf_counter()
    dbn = DBN(LAYER_SIZES).fit(X, epochs=10 if quick else None, progress=False)
    train_seconds = time.perf_counter() - started
    top_exact = dbn.rbms[-1].log_partition("exact")
    top_ais, top_ais_std = dbn.rbms[-1].log_partition("ais", n_betas=1000 if quick else 14500, return_std=True)
    n_samples = 20 if quick else 200
    first = dbn.rbms[0]
    first_log_z = first.log_partition("ais", n_betas=1000 if quick else 14500)
    plots.image_grid(dbn.sample(64, gibbs_steps=200 if quick else 1000, seed=0, probabilities=True),
                     os.path.join(out_dir, "31_dbn_samples.png"),
                     title="DBN 64-32-16: Gibbs in the top RBM, one downward pass (p(x | h1))")
    return {"dbn_train_seconds": round(train_seconds, 1),
            "dbn_test_nll_bound_exact_top": float(-dbn.log_prob_bound(X_test, log_z=top_exact,
                                                                      n_samples=n_samples).mean()),
            "dbn_test_nll_bound_ais_top": float(-dbn.log_prob_bound(X_test, log_z=top_ais,
                                                                    n_samples=n_samples).mean()),
            "dbn_top_log_z_exact": top_exact, "dbn_top_log_z_ais": top_ais, "dbn_top_log_z_ais_std": top_ais_std,
            "first_rbm_test_nll_ais": float(-first.log_prob(X_test, log_z=first_log_z).mean())}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
