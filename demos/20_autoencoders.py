"""Autoencoders and denoising autoencoders on the 8x8 digits (the lecture's path from a code to a
distribution).

An autoencoder squeezes each digit through a 16-number code and rebuilds it, and samples by decoding
draws from a Gaussian fitted to its codes; a denoising autoencoder learns to undo Gaussian noise, and
the Markov chain that alternates corruption and a draw from the reconstruction distribution
(Bengio et al. 2013) walks from pure noise onto digit-like images.  The demo draws originals beside
reconstructions, noisy digits beside their repairs, the autoencoder's samples, the chain over time
beside its mean-field variant (which feeds back the reconstruction's mean instead of a draw), and the
training curves, and reports the test reconstruction errors (squared error summed over pixels, per
image).

Expected wall time on a 2-core CPU: about 20 s (quick: about 6 s), measured under load with
OPENBLAS_NUM_THREADS=1 (multi-threaded BLAS on a busy 2-core machine is many times slower).
"""
import os

import numpy as np

from minigen import plots
from minigen.data import load_digits
from minigen.models.autoencoder import Autoencoder, DenoisingAutoencoder, GaussianCorruption

NOISE = 0.3


def squared_error(a, b):
    return float(((a - b) ** 2).sum(axis=1).mean())


def main(quick=False, out_dir="out"):
    X, X_test = load_digits("train"), load_digits("test")
    epochs = 15 if quick else 200
    autoencoder = Autoencoder(64, hidden=(128,), n_latent=16).fit(X, epochs=epochs, progress=False)
    dae = DenoisingAutoencoder(64, hidden=(128,), n_latent=16, corruption="gaussian", noise=NOISE)
    dae.fit(X, epochs=epochs, progress=False)

    shown = X_test[:10]
    plots.image_grid(np.concatenate([shown, autoencoder.reconstruct(shown)]),
                     os.path.join(out_dir, "20_ae_reconstructions.png"), nrow=10,
                     title="test digits (top) and autoencoder reconstructions (bottom)")
    noisy = GaussianCorruption(NOISE)(X_test)
    plots.image_grid(np.concatenate([shown, noisy[:10], dae.reconstruct(noisy[:10])]),
                     os.path.join(out_dir, "20_dae_denoising.png"), nrow=10,
                     title=f"clean, noisy (std {NOISE}), denoised")
    plots.image_grid(autoencoder.sample(64, seed=0), os.path.join(out_dir, "20_ae_samples.png"),
                     title="autoencoder: decoded draws from a Gaussian fitted to the codes")
    start = np.random.default_rng(0).random((8, 64), dtype=np.float32)
    chain = dae.sample_chain(start, steps=60, seed=0)                         # (61, 8, 64)
    plots.chain_strip(chain[::5], os.path.join(out_dir, "20_dae_chain.png"),
                      title="DAE chain from noise: corrupt, draw x ~ P(x | x~) (every 5th step)")
    mean_field = dae.sample_chain(start, steps=60, mean_field=True, seed=0)
    plots.chain_strip(mean_field[::5], os.path.join(out_dir, "20_dae_chain_mean_field.png"),
                      title="mean-field chain: corrupt, keep the reconstruction's mean (every 5th step)")
    plots.loss_curves({"autoencoder": autoencoder.history["loss"], "denoising": dae.history["loss"]},
                      os.path.join(out_dir, "20_ae_losses.png"), title="training loss (BCE, nats per image)")
    return {"ae_test_squared_error": squared_error(autoencoder.reconstruct(X_test), X_test),
            "dae_noisy_squared_error": squared_error(noisy, X_test),
            "dae_denoised_squared_error": squared_error(dae.reconstruct(noisy), X_test),
            "epochs": epochs}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
