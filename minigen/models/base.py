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

    def load_state_dict(self, state):
        """Load a state dict, first creating the buffers that fitting makes (their shapes depend on
        the data), so that `type(model)(**model.config).load_state_dict(...)` restores a fitted model."""
        known = {name for name, _ in self.named_parameters()} | {name for name, _, _ in self.named_buffers()}
        for name, value in state.items():
            if name not in known and "." not in name:
                self.register_buffer(name, value)
        return super().load_state_dict(state)
