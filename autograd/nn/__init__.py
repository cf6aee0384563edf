"""Neural-network building blocks: Module, Parameter, layers, and `functional`."""
from . import functional
from .conv import BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d
from .layers import (GELU, Dropout, Embedding, LayerNorm, LeakyReLU, Linear, ReLU, Sequential, Sigmoid,
                     SiLU, Softplus, Tanh)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter
