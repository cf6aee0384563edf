"""The model families, one file each; importing this package registers them with minigen.zoo."""
from .bayesnet import BayesNet
from .classical import GaussianNaiveBayes, LogisticRegression
from .gan import GAN
from .lds import LinearDynamicalSystem
from .made import MADE
from .mixture import MixtureOfBernoullis
from .transformer import CharTransformer, PixelTransformer
from .autoencoder import Autoencoder, DenoisingAutoencoder
from .vae import VAE
from .rbm import RBM
from .diffusion import DDPM
from .score import NCSN
from .dbn import DBN
from .latent_diffusion import LatentDiffusion
