"""The lecture's image models at 28x28 (MNIST-5k: 4,000 training and 1,000 test digits), side by side,
and why VAE samples look blurry while GAN samples look sharp.

Every family is built and fit as `minigen train NAME --data mnist-binary` (or `--data mnist`) does,
with the registry's 28x28 configuration (minigen.zoo): a VAE 784-512-512-32 (IWAE k=5 training),
MADE (one hidden layer of 500, 8 masks), a mixture of 50 Bernoullis (EM), an RBM with 500 hidden
units (CD-1) on the binarized digits, and a DCGAN (latent 64, 32 base channels) on the grey-level
digits.  The diffusion model is demo 91.

Blur and sharpness: a VAE's usual sample is the decoder's mean E[x | z], an average over the digits
that z could have produced, so strokes come out grey and soft; a draw x ~ p(x | z) instead sets each
pixel independently given z, so it is speckled.  A GAN's generator is trained only to fool a critic
that sees whole images, so its samples have crisp strokes (and no likelihood).  The demo counts the
grey pixels (values in [0.1, 0.9]) per image of each kind, beside the real test digits, and gives
mnist_fd (Frechet distance on a fixed MNIST classifier's features, against the test split) of every
family's samples with the real-vs-real floor.

One full run (seed 0, 1,000 samples each; floor 9.15): mnist_fd VAE 138, DCGAN 186, MADE 117,
mixture 168, RBM 1157 (its CD-1 chains, started at base-rate noise, fall into a few blobs); the
fraction of grey pixels: real 0.087, VAE means 0.113, VAE draws 0 (binary), DCGAN 0.087.

Expected wall time on a 2-core CPU (one BLAS thread, other jobs running): full mode 12.5 minutes
(measured: 751 s); quick mode (a few updates each, far from the full results) 31 s measured, plus
about 15 s the first time to train the mnist_fd classifier.
"""
import os

import numpy as np

from minigen import data, metrics, plots, zoo

BINARY_FAMILIES = ("vae", "made", "mixture", "rbm")
QUICK = {"vae": {"epochs": 3}, "made": {"epochs": 2}, "mixture": {"epochs": 10}, "rbm": {"epochs": 2},
         "gan": {"steps": 30}}
N_SHOWN = 10
GREY = (0.1, 0.9)


def fitted(name, data_name, X, quick):
    """The registry's model for 28x28 data, fit with the settings `minigen train` uses."""
    entry = zoo.get(name)
    options = {"seed": 0, "data": data_name}
    model = entry.build(X.shape[1:], options)
    return model.fit(X, **{**entry.fit_kwargs(options), **(QUICK[name] if quick else {}), "progress": False})


def grey_fraction(images):
    """The mean fraction of an image's pixels that are neither near black nor near white."""
    images = np.asarray(images)
    return float(((images > GREY[0]) & (images < GREY[1])).mean())


def main(quick=False, out_dir="out"):
    n_fd = 200 if quick else 1000
    binary_train, real_test = data.load_mnist("train", binarize=True), data.load_mnist("test")
    samples = {}
    models = {}
    for name in BINARY_FAMILIES:
        models[name] = fitted(name, "mnist-binary", binary_train, quick)
        samples[name] = models[name].sample(n_fd, seed=1)
    models["gan"] = fitted("gan", "mnist", data.load_mnist("train"), quick)
    samples["gan"] = models["gan"].sample(n_fd, seed=1)

    rows = [real_test[:N_SHOWN]] + [samples[name][:N_SHOWN] for name in ("vae", "gan", "made", "mixture", "rbm")]
    plots.image_grid(np.concatenate(rows), os.path.join(out_dir, "90_mnist_families.png"), nrow=N_SHOWN,
                     title="rows: real test digits, VAE (decoder means), DCGAN, MADE, mixture of 50 Bernoullis, "
                           "RBM 500 hidden", dataset="MNIST-5k")

    vae_draws = models["vae"].sample(n_fd, seed=1, mean=False)
    kinds = {"real": real_test[:n_fd], "vae_mean": samples["vae"], "vae_draw": vae_draws, "gan": samples["gan"]}
    plots.image_grid(np.concatenate([images[:N_SHOWN] for images in kinds.values()]),
                     os.path.join(out_dir, "90_mnist_blur_vs_sharp.png"), nrow=N_SHOWN,
                     title="rows: real, VAE mean E[x | z] (blurred), VAE draw x ~ p(x | z) (speckled), "
                           "DCGAN (sharp)", dataset="MNIST-5k")

    numbers = {f"grey_pixels_{kind}": grey_fraction(images) for kind, images in kinds.items()}
    numbers["mnist_fd_floor"] = float(metrics.mnist_fd_floor())
    numbers.update({f"mnist_fd_{name}": float(metrics.mnist_fd(images)) for name, images in samples.items()})
    numbers["fd_samples"] = n_fd
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
