"""A DCGAN on the 8x8 digits: samples, digits_fd against the real-vs-real floor, latent interpolation
(slerp) and latent arithmetic; then an InfoGAN with a 10-way categorical code and two continuous codes.

The generator and discriminator are DCGAN-style convolutional nets (minigen.models.gan), trained
with the non-saturating loss.  digits_fd compares the classifier features of 1,000 samples with
those of the test split; the floor is the same distance for the real training split.

Latent arithmetic: among generated digits, the mean latent of those the digits classifier calls
`a` minus the mean latent of those it calls `b` is a direction; adding it to the latents of `b`s
turns some of them into `a`s.  The demo reports that fraction for a few pairs.

InfoGAN: the same nets with a 10-way code c, two continuous codes u_1, u_2 ~ U[-1, 1] and Q heads
on the discriminator (a softmax for c, a unit-variance Gaussian for u, weight 1 as in the authors'
MNIST run).  The code Q assigns to each real test digit is matched to the digit labels by the
Hungarian algorithm (scipy.optimize.linear_sum_assignment), and the demo reports the matched accuracy
(chance: about 0.1) and, for each continuous code, the correlation between u_j and Q's mean of u_j on
1,000 generated digits.  The latent sweeps vary one u_j from -2 to 2 (beyond the prior's [-1, 1])
across a row, one row per categorical code, with z and the other code fixed.

One run of the DCGAN (3000 steps): digits_fd 4.6 (floor 3.17).  The InfoGAN with 1,000 steps (seed 0,
50 s of CPU time): code accuracy 0.48, correlations 0.96 (u_1) and 0.95 (u_2), digits_fd 8.5 (by eye,
u_1 mostly sets the slant and u_2 the stroke weight).  Its full-mode 3,000 steps: not measured.

Expected wall time on a 2-core CPU: about 4.5 minutes (quick: about 5 s, far from the targets).
"""
import os

import numpy as np

import autograd
from minigen import data, metrics, plots
from minigen.models.common import slerp
from minigen.models.gan import GAN

N_SAMPLES = 1000
PAIRS = ((1, 7), (0, 6), (3, 8))


def classify(images):
    """Digit labels of images (n, 64) in [0, 1] from the digits_fd classifier."""
    model = metrics.digits_classifier()
    with autograd.no_grad():
        return model(autograd.tensor(np.asarray(images, dtype=np.float32))).numpy().argmax(axis=1)


def latent_arithmetic(gan, rng):
    """For each pair (a, b): the fraction of b's that become a's after z + (mean z_a - mean z_b)."""
    z = rng.standard_normal((4000, gan.latent_dim)).astype(np.float32)
    labels = classify(gan.decode(z))
    fractions = {}
    for a, b in PAIRS:
        if min((labels == a).sum(), (labels == b).sum()) < 5:
            fractions[f"arithmetic_{b}_to_{a}"] = 0.0
            continue
        direction = z[labels == a].mean(axis=0) - z[labels == b].mean(axis=0)
        moved = classify(gan.decode(z[labels == b] + direction))
        fractions[f"arithmetic_{b}_to_{a}"] = float((moved == a).mean())
    return fractions


def interpolations(gan, rng, out_dir, rows=6, steps=10):
    ends = rng.standard_normal((rows, 2, gan.latent_dim))
    strips = [gan.decode(slerp(a, b, steps)) for a, b in ends]                   # rows x (steps, 64)
    return plots.interpolation_strip(strips, os.path.join(out_dir, "gan_digits_slerp.png"), shape=(8, 8),
                                     title="slerp between latents")


def code_accuracy(gan):
    """Accuracy of Q's code on the test digits after the best one-to-one matching of codes to labels."""
    from scipy.optimize import linear_sum_assignment
    X, y = data.load_digits("test", return_labels=True)
    codes = gan.predict_code(X)
    counts = np.zeros((gan.n_codes, 10))
    np.add.at(counts, (codes, y), 1)                                             # (codes, labels)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(y))


def continuous_correlations(gan, rng, n=N_SAMPLES):
    """corr(u_j, Q's mean of u_j given G(z, c, u)) for each continuous code j, on n generated digits."""
    z = rng.standard_normal((n, gan.latent_dim))
    u = rng.uniform(-1, 1, (n, gan.n_continuous))
    predicted = gan.predict_continuous(gan.decode(z, rng.integers(gan.n_codes, size=n), u))   # (n, C)
    return {f"infogan_continuous_{j + 1}_correlation": float(np.corrcoef(u[:, j], predicted[:, j])[0, 1])
            for j in range(gan.n_continuous)}


def infogan(X, steps, out_dir):
    gan = GAN(64, latent_dim=16, hidden=(32,), loss="nonsaturating", architecture="conv", n_codes=10,
              n_continuous=2, seed=0)
    gan.fit(X, steps=steps, progress=False)
    z = np.repeat(np.random.default_rng(2).standard_normal((10, gan.latent_dim)), 10, axis=0)   # (100, Z)
    codes = np.tile(np.arange(10), 10)                                          # each row: codes 0..9
    plots.image_grid(gan.decode(z, codes, np.zeros((100, 2))), os.path.join(out_dir, "gan_digits_infogan_codes.png"),
                     nrow=10, shape=(8, 8), title="InfoGAN: one z per row, codes 0..9 across, u = 0")
    for j in range(gan.n_continuous):
        sweep = gan.latent_sweep(index=j, seed=3)                               # (10, 9, 64)
        plots.image_grid(sweep.reshape(-1, 64), os.path.join(out_dir, f"gan_digits_infogan_sweep_u{j + 1}.png"),
                         nrow=sweep.shape[1], shape=(8, 8),
                         title=f"InfoGAN: u_{j + 1} from -2 to 2 across, one categorical code per row")
    return {"infogan_code_accuracy": code_accuracy(gan),
            **continuous_correlations(gan, np.random.default_rng(4)),
            "infogan_digits_fd": float(metrics.digits_fd(gan.sample(N_SAMPLES, seed=1)))}


def main(quick=False, out_dir="out"):
    X = data.load_digits("train")
    gan = GAN(64, latent_dim=16, hidden=(32,), loss="nonsaturating", architecture="conv", seed=0)
    gan.fit(X, steps=60 if quick else None, progress=False)
    samples = gan.sample(N_SAMPLES, seed=1)
    plots.image_grid(samples[:100], os.path.join(out_dir, "gan_digits_samples.png"), nrow=10, shape=(8, 8),
                     title="DCGAN samples")
    plots.loss_curves(gan.history, os.path.join(out_dir, "gan_digits_losses.png"), title="DCGAN on digits")
    rng = np.random.default_rng(0)
    interpolations(gan, rng, out_dir)
    fd, floor = metrics.digits_fd(samples), metrics.digits_fd_floor()
    numbers = {"digits_fd": float(fd), "digits_fd_floor": float(floor), "fd_over_floor": float(fd / floor),
               "samples": N_SAMPLES}
    numbers.update(latent_arithmetic(gan, rng))
    numbers.update(infogan(X, 60 if quick else None, out_dir))
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
