"""The registry of model families that the command line, the demos and the likelihood table use.

The registry imports the models; the models never import the registry.  One Entry per family:

    build(data_shape, args) -> model     a fresh model for data of that shape (one example's shape;
                                        (n_characters,) for text); `args` is a dict of command-line
                                        options: seed, epochs, steps (None when not given), quick
                                        (bool), data (the data-set name), progress (bool)
    data                                 the default data set name (see minigen.data.load_named)
    fit_kwargs(args) -> dict             keyword arguments for model.fit from command-line options;
                                         --epochs / --steps given on the command line override them,
                                         and seed / progress are added when fit accepts them
    evaluate(model, X_test) -> dict      the family's metrics (numbers), for `minigen eval`; a family
                                         with labels=True is fit on (X, y) and evaluated on (X, y)
    likelihood(model, X_test) -> list    rows (label, kind, nll_nats) for the likelihood table, where
                                         kind is "exact", "AIS", "IWAE" or "bound"; None if intractable
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Type, TypedDict

import numpy as np

from minigen import data, metrics
from minigen.models import (EnergyModel, RealNVP, DBN, DDPM, GAN, MADE, NCSN, RBM, VAE, Autoencoder, CharTransformer,
                            DenoisingAutoencoder, GenerativeModel, MixtureOfBernoullis, PixelTransformer)
from minigen.models.denoisers import image_shape_of
from minigen.models.diffusion import grid_levels
from minigen.models.rbm import MAX_EXACT_BITS

REGISTRY: Dict[str, "Entry"] = {}


@dataclass
class Entry:
    name: str
    model_class: Type[GenerativeModel]
    build: Callable
    data: str
    fit_kwargs: Callable = lambda args: {}
    evaluate: Optional[Callable] = None
    likelihood: Optional[Callable] = None
    description: str = ""
    cpu_time: str = ""                       # measured wall time of a full default run on 2 cores
    table_data: tuple = ("digits-binary", "mnist-binary")    # the likelihood tables it has a row in
    labels: bool = False                     # class-conditional: fit(X, y); evaluate gets (X_test, y_test)


def register(entry: Entry) -> Entry:
    REGISTRY[entry.name] = entry
    return entry


def names() -> List[str]:
    """The registered family names, sorted."""
    return sorted(REGISTRY)


def with_likelihood(data_name: str = "digits-binary") -> List[Entry]:
    """The entries whose family has a tractable likelihood or bound: the rows of the likelihood table
    on `data_name`."""
    return [REGISTRY[name] for name in names()
            if REGISTRY[name].likelihood is not None and data_name in REGISTRY[name].table_data]


def get(name: str) -> Entry:
    """The Entry for a family name; a clear error for an unknown one."""
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(names())}")
    return REGISTRY[name]


# -- shared hooks ------------------------------------------------------------------------------
def mean_nll(model: GenerativeModel, X_test: Any) -> float:
    """-mean log p(x) in nats over the test rows, for a model whose log_prob is exact."""
    return float(-np.mean(model.log_prob(X_test)))


class LikelihoodHooks(TypedDict):
    """The evaluate and likelihood fields of an Entry, passed on together as Entry(..., **hooks)."""
    evaluate: Callable
    likelihood: Callable


def exact_likelihood(label: str) -> LikelihoodHooks:
    """The evaluate and likelihood hooks of a family with an exact log_prob (Entry(..., **these))."""
    return {"evaluate": lambda model, X_test: {"test_nll_nats": mean_nll(model, X_test)},
            "likelihood": lambda model, X_test: [(label, "exact", mean_nll(model, X_test))]}


def _flat(shape) -> int:
    return int(np.prod(shape))


def _seed(args: Dict[str, Any]) -> int:
    return int(args.get("seed") or 0)


MNIST_PIXELS = 784


def _is_mnist(shape) -> bool:
    """28x28 images (MNIST-5k, or a full MNIST IDX file): the families pick their 28x28 configuration."""
    return _flat(shape) == MNIST_PIXELS


MNIST_DATA = ("mnist", "mnist-binary")
MNIST_EPOCHS = {"vae": 100, "made": 80}          # chosen on 500 of MNIST-5k's training images held out


def _epochs(args: Dict[str, Any], quick: int, name: str) -> Optional[int]:
    """--epochs, else `quick` with --quick, else the MNIST_EPOCHS of `name` on MNIST-5k, else None
    (the family's Defaults)."""
    if args.get("epochs"):
        return args["epochs"]
    if args.get("quick"):
        return quick
    return MNIST_EPOCHS.get(name) if args.get("data") in MNIST_DATA else None


def image_quality(samples: Any, data_dim: int) -> Dict[str, float]:
    """Frechet distance on the fixed classifier's features, with its floor, for 8x8 or 28x28 digits."""
    if data_dim == 64:
        return {"digits_fd": float(metrics.digits_fd(samples)), "digits_fd_floor": float(metrics.digits_fd_floor()),
                "fd_samples": len(samples)}
    if data_dim == MNIST_PIXELS:
        return {"mnist_fd": float(metrics.mnist_fd(samples)), "mnist_fd_floor": float(metrics.mnist_fd_floor()),
                "fd_samples": len(samples)}
    return {}


def _quick(**settings):
    """fit_kwargs that use `settings` in --quick mode and the family's defaults otherwise."""
    return lambda args: dict(settings) if args.get("quick") else {}


# -- autoencoders --------------------------------------------------------------------------------
def _reconstruction_error(model, X_test):
    reconstruction = model.reconstruct(X_test)
    return {"test_reconstruction_mse": float(((reconstruction - X_test) ** 2).sum(axis=1).mean())}


def _epochs_and_seed(args):
    return {"epochs": args.get("epochs"), "seed": args.get("seed")}


register(Entry(name="autoencoder", model_class=Autoencoder, data="digits",
               build=lambda shape, args: Autoencoder(_flat(shape), seed=_seed(args)),
               fit_kwargs=_epochs_and_seed, evaluate=_reconstruction_error,
               description="MLP autoencoder, sigmoid outputs, BCE reconstruction"))
register(Entry(name="dae", model_class=DenoisingAutoencoder, data="digits",
               build=lambda shape, args: DenoisingAutoencoder(_flat(shape), seed=_seed(args)),
               fit_kwargs=_epochs_and_seed, evaluate=_reconstruction_error,
               description="denoising autoencoder (Gaussian corruption), sampled by a corrupt/reconstruct chain"))


# -- VAE -----------------------------------------------------------------------------------------
VAE_LATENT = 8
VAE_MNIST: Dict[str, Any] = {"n_latent": 32, "hidden": (512, 512)}          # the 784-512-512-32 reference shape


def _vae_evaluate(model, X_test):
    return {"test_nll_iwae_k5000": float(-model.log_prob(X_test, k=5000).mean()),
            "test_negative_elbo": float(-model.elbo(X_test).mean())}


def _vae_likelihood(model, X_test):
    return [("VAE (IWAE k=5000)", "IWAE", float(-model.log_prob(X_test, k=5000).mean())),
            ("VAE (ELBO)", "bound", float(-model.elbo(X_test).mean()))]


register(Entry(name="vae", model_class=VAE, data="digits-binary",
               build=lambda shape, args: (VAE(MNIST_PIXELS, seed=_seed(args), **VAE_MNIST) if _is_mnist(shape)
                                          else VAE(_flat(shape), VAE_LATENT, seed=_seed(args))),
               fit_kwargs=lambda args: {"epochs": _epochs(args, 20, "vae"), "seed": args.get("seed")},
               evaluate=_vae_evaluate, likelihood=_vae_likelihood,
               cpu_time="76 s (digits)",
               description="VAE 64-256-256-8 tanh (784-512-512-32 at 28x28), Bernoulli decoder, IWAE k=5 "
                           "training; IWAE likelihood"))


# -- RBM and DBN ---------------------------------------------------------------------------------
RBM_MNIST_HIDDEN = 500                      # the size of the published MNIST RBMs (CD-1, CD-25)


def _rbm_builder(default_hidden, mnist_hidden):
    def build(shape, args):
        hidden = mnist_hidden if _is_mnist(shape) else default_hidden
        return RBM(_flat(shape), int(args.get("hidden") or hidden), seed=_seed(args))
    return build


def _rbm_fit_kwargs(args):
    kwargs = {name: args[name] for name in ("epochs", "batch_size", "lr", "seed") if args.get(name) is not None}
    if args.get("quick"):
        kwargs.setdefault("epochs", 10)
    return kwargs


def _can_enumerate(rbm):
    return min(rbm.n_hidden, rbm.n_visible) <= MAX_EXACT_BITS


def _rbm_evaluate(rbm, X_test):
    log_z_ais, log_z_std = rbm.log_partition("ais", return_std=True)
    results = {"log_z_ais": log_z_ais, "log_z_ais_std": log_z_std,
               "test_nll_ais": float(-rbm.log_prob(X_test, log_z=log_z_ais).mean()),
               "test_pseudo_nll": float(-rbm.pseudo_log_likelihood(X_test).mean())}
    if _can_enumerate(rbm):
        log_z = rbm.log_partition("exact")
        results.update(log_z_exact=log_z, test_nll_exact=float(-rbm.log_prob(X_test, log_z=log_z).mean()))
    return results


def _rbm_likelihood(rbm, X_test):
    label = f"RBM, {rbm.n_hidden} hidden, CD-1"
    results = _rbm_evaluate(rbm, X_test)
    rows = [(label, "AIS", results["test_nll_ais"])]
    if "test_nll_exact" in results:
        rows.insert(0, (label, "exact", results["test_nll_exact"]))
    return rows


for _name, _hidden, _mnist_hidden in (("rbm", 16, RBM_MNIST_HIDDEN), ("rbm20", 20, 20)):
    register(Entry(name=_name, model_class=RBM, build=_rbm_builder(_hidden, _mnist_hidden), data="digits-binary",
                   fit_kwargs=_rbm_fit_kwargs, evaluate=_rbm_evaluate, likelihood=_rbm_likelihood,
                   cpu_time="24 s of training, then AIS (digits)",
                   description=f"restricted Boltzmann machine, {_hidden} hidden units (CD-k / PCD), "
                               "exact and AIS log-likelihood"))


def _dbn_evaluate(dbn, X_test):
    top = dbn.rbms[-1]
    log_z, log_z_std = top.log_partition("ais", return_std=True)
    results = {"top_log_z_ais": log_z, "top_log_z_ais_std": log_z_std,
               "test_nll_bound_ais": float(-dbn.log_prob_bound(X_test, log_z=log_z).mean())}
    if min(top.n_visible, top.n_hidden) <= 20:
        exact = top.log_partition("exact")
        results.update(top_log_z_exact=exact,
                       test_nll_bound_exact=float(-dbn.log_prob_bound(X_test, log_z=exact).mean()))
    return results


def _dbn_likelihood(dbn, X_test):
    results = _dbn_evaluate(dbn, X_test)
    nll = results.get("test_nll_bound_exact", results["test_nll_bound_ais"])
    return [("DBN " + "-".join(map(str, dbn.layer_sizes)), "bound", nll)]


register(Entry(name="dbn", model_class=DBN, data="digits-binary",
               build=lambda shape, args: DBN([_flat(shape), *(args.get("hidden") or (32, 16))], seed=_seed(args)),
               fit_kwargs=_rbm_fit_kwargs, evaluate=_dbn_evaluate, likelihood=_dbn_likelihood,
               description="deep belief net: greedily stacked RBMs, bound on log p(x) with AIS on the top"))


# -- GAN -----------------------------------------------------------------------------------------
GAN_MNIST_LATENT, GAN_MNIST_CHANNELS = 64, 32      # DCGAN 64 -> (64, 7, 7) -> (32, 14, 14) -> 28x28


def _gan_build(shape, args):
    """An MLP GAN for 2-D toys; a DCGAN for square images such as the digits and MNIST."""
    data_dim, loss = _flat(shape), args.get("loss") or "nonsaturating"
    if data_dim == 2:
        return GAN(2, latent_dim=2, loss=loss, seed=_seed(args))
    if _is_mnist(shape):
        return GAN(data_dim, latent_dim=GAN_MNIST_LATENT, hidden=(GAN_MNIST_CHANNELS,), loss=loss,
                   architecture="conv", seed=_seed(args))
    return GAN(data_dim, latent_dim=16, hidden=(32,), loss=loss, architecture="conv", seed=_seed(args))


def _sample_quality(model, X_test):
    """Mode coverage over 2,500 samples on the 8/25-Gaussian toys; the image FD on 8x8 or 28x28 digits."""
    samples = np.asarray(model.sample(2500, seed=0))
    data_dim = _flat(model.data_shape)
    if data_dim == 2:
        for name, centers in data.TOY_CENTERS.items():
            if _nearest_toy(X_test, centers, data.TOY_STD[name]):
                captured, high_quality = metrics.mode_coverage(samples, centers, data.TOY_STD[name])
                return {"modes_captured": int(captured), "modes_total": len(centers),
                        "fraction_high_quality": float(high_quality)}
        return {}
    return image_quality(samples, data_dim)


def _nearest_toy(X, centers, std):
    """Whether almost every point of X lies within 5 std of one of `centers` (X is that toy)."""
    X = np.asarray(X, dtype=np.float64)
    distance = np.min(np.linalg.norm(X[:, None, :] - centers[None], axis=2), axis=1)
    return np.mean(distance < 5 * std) > 0.95


register(Entry(name="gan", model_class=GAN, build=_gan_build, data="8gaussians", fit_kwargs=_quick(steps=200),
               cpu_time="80-120 s (ring); about 2 min (DCGAN on digits)",
               evaluate=_sample_quality, likelihood=None,
               description="GAN: minimax, non-saturating, WGAN, WGAN-GP; MLP on 2-D toys, DCGAN on digits"))


# -- diffusion and score models --------------------------------------------------------------------
def _ddpm_likelihood(model, X_test):
    levels = grid_levels(np.asarray(X_test))
    if levels is None:
        return None
    nll = float(-model.log_prob(X_test).mean())
    return [(f"DDPM T={model.T}: variational bound on -log P(x) of {levels}-level pixels, "
             f"decoder at step {model.decoder_step(levels) + 1} (8')", "bound", nll)]


LARGE_IMAGE_SAMPLES, LARGE_IMAGE_DDIM_STEPS = 500, 50     # a 28x28 U-Net costs 0.5 s per 100 images


def _sample_mmd(model, X_test):
    """MMD^2 of as many samples as test rows (500 by 50 DDIM steps at 28x28), and the image FD."""
    X_test = np.asarray(X_test)
    if isinstance(model, DDPM) and _is_mnist(model.data_shape):
        X_test = X_test[:LARGE_IMAGE_SAMPLES]
        samples = np.asarray(model.sample(len(X_test), method="ddim", steps=LARGE_IMAGE_DDIM_STEPS, seed=1))
    else:
        samples = np.asarray(model.sample(len(X_test), seed=1))
    results = {"mmd": float(metrics.mmd(samples, X_test))}
    if image_shape_of(model.data_shape) in ((1, 8, 8), (1, 28, 28)):
        results.update(image_quality(samples.reshape(len(samples), -1), _flat(model.data_shape)))
    return results


def _steps_when_quick(steps):
    return lambda args: {"steps": steps} if args.get("quick") and not args.get("epochs") else {}


DDPM_MNIST_EMA = 0.999                      # the U-Net's weight average (DDPM's ema) at 28x28
DDPM_MNIST_QUICK = {"steps": 20, "batch_size": 16}    # the U-Net takes seconds per step on a CPU


def _ddpm_fit_kwargs(args):
    if args.get("quick") and not args.get("epochs") and args.get("data") in MNIST_DATA:
        return dict(DDPM_MNIST_QUICK)
    return _steps_when_quick(300)(args)


register(Entry(name="ddpm", model_class=DDPM, data="digits",
               build=lambda shape, args: DDPM(shape, seed=_seed(args),
                                              ema=DDPM_MNIST_EMA if _is_mnist(shape) else None),
               fit_kwargs=_ddpm_fit_kwargs, evaluate=_sample_mmd, likelihood=_ddpm_likelihood,
               description="denoising diffusion (Ho et al. 2020): eps-prediction, ancestral and DDIM sampling"))
register(Entry(name="ncsn", model_class=NCSN, data="8gaussians",
               build=lambda shape, args: NCSN(shape, seed=_seed(args)),
               fit_kwargs=_steps_when_quick(300), evaluate=_sample_mmd,
               description="noise-conditional score network (Song and Ermon 2019) with annealed Langevin dynamics"))


# -- normalizing flows and energy-based models -----------------------------------------------------
def _toy_quality(model, X_test):
    """Held-out NLL where the model has a likelihood; mode coverage on the Gaussian-mixture toys;
    the image FD on digits."""
    results = {"test_nll": mean_nll(model, X_test)} if model.likelihood_kind == "exact" else {}
    results.update(_sample_quality(model, X_test) if _flat(model.data_shape) in (2, 64, MNIST_PIXELS) else {})
    return results


DIGIT_DATA = ("digits", "digits-binary")


def _flow_build(shape, args):
    """The tuned 16-coupling flow for the 2-D toys; 8 couplings for digits (more overfits 1,497 images)."""
    d = _flat(shape)
    return RealNVP(d, seed=_seed(args)) if d == 2 else RealNVP(d, n_layers=8, hidden=(128, 128), seed=_seed(args))


def _ebm_build(shape, args):
    """Digits need longer Langevin chains from noise to reach the data than the 2-D toys."""
    d = _flat(shape)
    return EnergyModel(d, seed=_seed(args)) if d == 2 else EnergyModel(d, sample_steps=2000, seed=_seed(args))


def _steps_on_digits(quick_steps, digit_steps):
    """--quick steps; on digits the steps chosen on a validation split; the Defaults elsewhere."""
    def fit_kwargs(args):
        if args.get("quick"):
            return {"steps": quick_steps}
        return {"steps": digit_steps} if args.get("data") in DIGIT_DATA else {}
    return fit_kwargs


register(Entry(name="realnvp", model_class=RealNVP, data="8gaussians", build=_flow_build,
               fit_kwargs=_steps_on_digits(200, 500), evaluate=_toy_quality, table_data=(),
               cpu_time="136 s (ring)",
               description="Real NVP normalizing flow: affine couplings, exact likelihood by change of variables"))
register(Entry(name="ebm", model_class=EnergyModel, data="8gaussians", build=_ebm_build,
               fit_kwargs=_steps_on_digits(100, 1000), evaluate=_toy_quality, table_data=(),
               cpu_time="57 s (ring)",
               description="energy-based model: MLP energy, contrastive divergence with short-run Langevin "
                           "from a replay buffer"))


# -- class-conditional generation (text-to-image at toy scale) ------------------------------------
N_CLASSES = 10


def _class_fidelity(model, test, guidance=None):
    """Samples drawn for every class, read back by the fixed digits / MNIST classifier: the fraction
    read as the class asked for, and the Frechet distance of all of them with its floor."""
    X_test, _ = test
    data_dim = X_test.shape[1]
    labels = np.repeat(np.arange(N_CLASSES), 50)
    kwargs = {} if guidance is None else {"guidance": guidance}
    samples = np.asarray(model.sample(len(labels), y=labels, seed=1, **kwargs)).reshape(len(labels), -1)
    data_name = "digits" if data_dim == 64 else "mnist"
    results = {"class_accuracy": float(metrics.classifier_accuracy(data=data_name, images=samples, labels=labels))}
    results.update(image_quality(samples, data_dim))
    return results


register(Entry(name="cvae", model_class=VAE, data="digits-binary", labels=True,
               build=lambda shape, args: VAE(_flat(shape), VAE_LATENT, n_classes=N_CLASSES, seed=_seed(args)),
               fit_kwargs=lambda args: {"epochs": args.get("epochs") or (20 if args.get("quick") else None),
                                        "seed": args.get("seed")},
               evaluate=_class_fidelity, table_data=(),
               description="class-conditional VAE: one-hot labels into encoder and decoder; sample --label 7"))
register(Entry(name="guided-ddpm", model_class=DDPM, data="digits", labels=True,
               build=lambda shape, args: DDPM(shape, n_classes=N_CLASSES, seed=_seed(args),
                                              ema=DDPM_MNIST_EMA if _is_mnist(shape) else None),
               fit_kwargs=_ddpm_fit_kwargs, evaluate=lambda model, test: _class_fidelity(model, test, 2.0),
               table_data=(),
               description="class-conditional DDPM with classifier-free guidance; sample --label seven --guidance 2"))


# -- autoregressive models and the mixture ---------------------------------------------------------
register(Entry(name="made", model_class=MADE, data="digits-binary",
               build=lambda shape, args: MADE(_flat(shape), seed=_seed(args)),
               fit_kwargs=lambda args: {"epochs": _epochs(args, 10, "made")}, **exact_likelihood("MADE"),
               description="masked autoencoder for distribution estimation: exact autoregressive likelihood"))
register(Entry(name="mixture", model_class=MixtureOfBernoullis, data="digits-binary",
               build=lambda shape, args: MixtureOfBernoullis(50, n_input=_flat(shape), seed=_seed(args)),
               fit_kwargs=_quick(epochs=20), **exact_likelihood("Mixture of 50 Bernoullis (EM)"),
               description="mixture of Bernoullis fit by EM: the exact-likelihood baseline"))
register(Entry(name="char-transformer", model_class=CharTransformer, data="text",
               build=lambda shape, args: CharTransformer(seed=_seed(args)),
               fit_kwargs=_quick(steps=30),
               evaluate=lambda model, text: {"bits_per_char": model.bits_per_char(text)},
               cpu_time="18 min (3,000 steps)",
               description="character-level transformer on the Python language reference"))
register(Entry(name="pixel-transformer", model_class=PixelTransformer, data="digits-binary",
               build=lambda shape, args: PixelTransformer(_flat(shape), seed=_seed(args)),
               fit_kwargs=_quick(epochs=5), **exact_likelihood("Pixel transformer (image-GPT 8x8)"),
               table_data=("digits-binary",),                 # 784-token attention is too slow on a CPU
               description="image-GPT over the 64 binary pixels of the digits"))
