"""Variational autoencoders on the 8x8 digits (Kingma and Welling 2014; IWAE bound, Burda et al. 2015).

1. A Bernoulli VAE 64-256-256-8 on the binarized digits, trained with its defaults (the IWAE bound
   with k = 5 samples as the objective, 350 epochs): test NLL by the importance-weighted bound with
   k = 5000 (target: at most 16.0 nats; a PyTorch VAE of the same shape trained 300 epochs on the
   ELBO reaches 16.24), the test ELBO beside it, the loss / reconstruction / KL curves, samples,
   reconstructions, and latent interpolation strips (linear and spherical).
2. A VAE with a 2-D latent, trained on the ELBO: the decoded manifold over a grid of N(0, 1) quantiles.
3. A Gaussian VAE (learned variance) on the real-valued digits, trained on the ELBO: samples and
   reconstructions, and the Frechet distance of the samples on a small digits classifier's features
   (digits_fd), with the real-vs-real floor (train split against test split).

Expected wall time on a 2-core CPU: about 4 minutes (quick: about 25 s), measured under load with
OPENBLAS_NUM_THREADS=1 (multi-threaded BLAS on a busy 2-core machine is many times slower).
"""
import os

import numpy as np

from minigen import metrics, plots
from minigen.data import load_digits
from minigen.models.vae import VAE

N_LATENT = 8


def binary_vae(quick, out_dir):
    X, X_test = load_digits("train", binarize=True), load_digits("test", binarize=True)
    model = VAE(64, N_LATENT).fit(X, epochs=15 if quick else None, progress=False)
    k = 100 if quick else 5000
    numbers = {"bernoulli_test_nll_iwae": float(-model.log_prob(X_test, k=k).mean()), "iwae_k": k,
               "bernoulli_test_negative_elbo": float(-model.elbo(X_test).mean()),
               "bernoulli_train_negative_elbo": float(-model.elbo(X).mean())}
    history = {name: model.history[name] for name in ("loss", "reconstruction", "kl")}
    plots.loss_curves(history, os.path.join(out_dir, "21_vae_curves.png"),
                      title="-IWAE_5 (the objective), reconstruction and KL (nats per image, every 10th step)")
    plots.image_grid(model.sample(64, seed=0), os.path.join(out_dir, "21_vae_samples.png"),
                     title="Bernoulli VAE: decoder means of z ~ N(0, I)")
    mu, _ = model.encode(X_test[:10])
    plots.image_grid(np.concatenate([X_test[:10], model.decode(mu)]),
                     os.path.join(out_dir, "21_vae_reconstructions.png"), nrow=10,
                     title="test digits (top), decoded posterior means (bottom)")
    for method in ("linear", "spherical"):
        rows = [model.interpolate(X_test[i], X_test[i + 1], steps=10, method=method) for i in range(0, 12, 2)]
        plots.interpolation_strip(rows, os.path.join(out_dir, f"21_vae_interpolation_{method}.png"),
                                  title=f"{method} interpolation between posterior means")
    return numbers


def manifold_vae(quick, out_dir):
    X = load_digits("train", binarize=True)
    model = VAE(64, 2).fit(X, epochs=15 if quick else 150, k_train=1, progress=False)   # the ELBO (1)
    plots.image_grid(model.manifold(n=15), os.path.join(out_dir, "21_vae_manifold.png"), nrow=15,
                     title="2-D latent: decoder means over N(0, 1) quantiles")
    return {"manifold_train_negative_elbo": float(-model.elbo(X).mean())}


def gaussian_vae(quick, out_dir):
    X, X_test = load_digits("train"), load_digits("test")
    model = VAE(64, 16, likelihood="gaussian").fit(X, epochs=15 if quick else 300, k_train=1, progress=False)
    samples = np.clip(model.sample(500, seed=0), 0, 1)
    plots.image_grid(samples[:64], os.path.join(out_dir, "21_vae_gaussian_samples.png"),
                     title="Gaussian VAE on real-valued digits: decoder means")
    mu, _ = model.encode(X_test[:10])
    plots.image_grid(np.concatenate([X_test[:10], np.clip(model.decode(mu), 0, 1)]),
                     os.path.join(out_dir, "21_vae_gaussian_reconstructions.png"), nrow=10,
                     title="test digits (top), Gaussian VAE reconstructions (bottom)")
    return {"gaussian_digits_fd": float(metrics.digits_fd(samples)),
            "digits_fd_floor": float(metrics.digits_fd_floor()),
            "gaussian_learned_pixel_std": float(np.exp(0.5 * model.obs_logvar.numpy()[0])),
            "gaussian_test_nll_iwae_k100": float(-model.log_prob(X_test, k=100).mean())}


def main(quick=False, out_dir="out"):
    numbers = binary_vae(quick, out_dir)
    numbers.update(manifold_vae(quick, out_dir))
    numbers.update(gaussian_vae(quick, out_dir))
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
