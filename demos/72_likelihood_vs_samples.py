"""Good likelihood does not mean good samples, nor the reverse (Theis, van den Oord and Bethge 2016),
the lecture's slide on evaluating GANs, on the binarized 8x8 digits.

1. A mixture of 50 Bernoullis (the good model) and the same model mixed 1 : 99 with uniform noise:
   log p_mix(x) >= log 0.01 + log p(x), so the test log-likelihood falls by at most log 100 = 4.61
   nats per image (measured: the gap, per image never above 4.61), while 99% of the samples are
   noise and the Frechet distance of the samples explodes.
2. The reverse: a memorizer (a kernel density on the training images, each pixel flipped with
   probability eps) draws training digits whose Frechet distance sits near the real-vs-real floor,
   while its test log-likelihood is worse than the simple mixture's.
Frechet distances use the fixed digits classifier's features against the binarized test digits
(floor: the binarized training digits), over 1,000 samples.

Expected wall time on a 2-core CPU: about 15 s (quick: about 10 s).
"""
import os

import numpy as np

from minigen import metrics, plots
from minigen.data import load_digits
from minigen.models import Memorizer, MixtureOfBernoullis, NoisyMixture

N_SAMPLES = 1000


def main(quick=False, out_dir="out"):
    X, X_test = load_digits("train", binarize=True), load_digits("test", binarize=True)
    epochs = 20 if quick else None
    good = MixtureOfBernoullis(50).fit(X, epochs=epochs, progress=False)
    noisy = NoisyMixture(MixtureOfBernoullis(50), alpha=0.01).fit(X, epochs=epochs, progress=False)
    memorizer = Memorizer(64, eps=0.01).fit(X)
    models = {"mixture of 50 Bernoullis": good, "1% mixture + 99% noise": noisy, "memorizer (eps 0.01)": memorizer}
    nll = {name: float(-model.score(X_test)) for name, model in models.items()}
    samples = {name: model.sample(N_SAMPLES, seed=0) for name, model in models.items()}
    test_features = metrics.digits_features(X_test)                            # binarized test digits
    fd = {name: metrics.frechet_distance(metrics.digits_features(s), test_features) for name, s in samples.items()}
    gap = -noisy.log_prob(X_test) + good.log_prob(X_test)                      # per image, <= log 100
    for index, (name, drawn) in enumerate(samples.items()):
        plots.image_grid(drawn[:36], os.path.join(out_dir, f"72_samples_{index}.png"),
                         title=f"{name}: test NLL {nll[name]:.2f} nats, FD {fd[name]:.1f}")
    names = list(models)
    plots.bar_comparison(names, {"test NLL": [nll[n] for n in names]}, os.path.join(out_dir, "72_test_nll.png"),
                         "test NLL (nats per image, lower is better)", "Likelihood: the noisy mixture is close")
    plots.bar_comparison(names, {"FD": [fd[n] for n in names]}, os.path.join(out_dir, "72_sample_fd.png"),
                         f"Frechet distance of {N_SAMPLES} samples (lower is better)",
                         "Sample quality: the memorizer wins, the noisy mixture fails")
    return {"good_test_nll": nll[names[0]], "noisy_test_nll": nll[names[1]], "memorizer_test_nll": nll[names[2]],
            "nll_gap_mean": float(gap.mean()), "nll_gap_max": float(gap.max()), "log_100": float(np.log(100)),
            "good_fd": fd[names[0]], "noisy_fd": fd[names[1]], "memorizer_fd": fd[names[2]],
            "fd_floor": metrics.frechet_distance(metrics.digits_features(X), test_features), "fd_samples": N_SAMPLES}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
