"""The model families, one file each, and `load`, which rebuilds any saved model."""
from .autoencoder import Autoencoder, DenoisingAutoencoder
from .bayesnet import BayesNet
from .classical import GaussianNaiveBayes, LogisticRegression
from .collapse import recursive_training
from .dbn import DBN
from .diffusion import DDPM
from .ebm import EnergyModel
from .flow import RealNVP
from .gan import GAN
from .latent_diffusion import LatentDiffusion
from .lds import LinearDynamicalSystem
from .likelihood_traps import Memorizer, NoisyMixture
from .made import MADE
from .mixture import MixtureOfBernoullis
from .progressive_gan import ProgressiveGAN
from .rbm import RBM
from .score import NCSN
from .transformer import CharTransformer, PixelTransformer
from .vae import VAE
from .base import GenerativeModel, load
