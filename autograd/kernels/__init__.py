"""Hot-path kernels.  `reference.py` holds the NumPy reference of each (the one to read); the
Numba and CuPy versions have the same signatures and are tested against it.  Ops reach a kernel
through `autograd.backend.kernel(name)`, never by importing a backend's module."""
