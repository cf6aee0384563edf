"""Latent diffusion at toy scale (Rombach et al. 2022): a Bernoulli VAE compresses the binarized 8x8
digits to 8 numbers, a DDPM learns the standardized posterior means, and its samples are decoded.

Compared with sampling the same VAE from its prior N(0, I): the diffusion prior follows the
aggregate posterior, which the VAE's N(0, I) only approximates.  Numbers: digits_fd of both against
the real-vs-real floor.  Figures: decoded latent-diffusion samples, VAE prior samples, the latents.

Expected wall time on a 2-core CPU: quick about 20 s; full about 4 minutes.
"""
import os

from minigen import metrics, plots
from minigen.data import load_digits
from minigen.models import DDPM, VAE
from minigen.models.latent_diffusion import LatentDiffusion

N_LATENT = 8


def main(quick=False, out_dir="out"):
    X = load_digits("train", binarize=True)
    vae = VAE(64, N_LATENT, hidden=(128, 128), seed=0)
    model = LatentDiffusion(vae, DDPM((N_LATENT,), seed=0))
    model.fit(X, steps=100 if quick else 4000, progress=False,
              autoencoder_kwargs={"epochs": 5 if quick else 150})
    n = 200 if quick else 1000
    samples = model.sample(n, method="ddim", steps=20 if quick else 100, seed=1)
    prior_samples = vae.sample(n, seed=1)
    plots.image_grid(samples[:64], os.path.join(out_dir, "52_latent_diffusion_samples.png"),
                     title="latent diffusion: DDPM on VAE latents, decoded")
    plots.image_grid(prior_samples[:64], os.path.join(out_dir, "52_vae_prior_samples.png"),
                     title="the same VAE sampled from N(0, I)")
    codes = model.encode(X)
    plots.scatter_2d(model.ddpm.sample(n, method="ddim", steps=20, seed=2)[:, :2],
                     os.path.join(out_dir, "52_latents.png"), data=codes[:, :2],
                     title="standardized latents (first 2 dims): data grey, DDPM blue")
    return {"latent_diffusion_fd": metrics.digits_fd(samples), "vae_prior_fd": metrics.digits_fd(prior_samples),
            "digits_fd_floor": metrics.digits_fd_floor(), "latent_std": float(codes.std())}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
