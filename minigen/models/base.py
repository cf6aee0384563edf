"""What every model shares: its constructor arguments (`config`), and its state as a dict of arrays.

A run directory holds `run.json` (the model's family and config) and `model.npz` (its state dict),
so `minigen sample RUN_DIR` can rebuild any model without pickle.
"""
from autograd import nn


class GenerativeModel(nn.Module):
    """Base class: a Module whose constructor arguments are remembered in `self.config`.

    Subclasses call `super().__init__(**config)` with the JSON-able arguments they were built with,
    so that `type(model)(**model.config)` rebuilds an untrained twin.  State that is not a Parameter
    (counts, means, tables) is registered with `register_buffer` so it is saved too.
    """

    def __init__(self, **config):
        super().__init__()
        object.__setattr__(self, "config", dict(config))
