"""The model kernels (Gibbs sampling, Langevin and DDPM steps), registered into the engine's table.

`autograd.backend.kernel(name)` then finds them like the engine's own: the NumPy reference on the
numpy backend, a compiled version on numba or cupy where one exists and pays.
"""
from autograd import backend

from . import reference

backend.register_kernels(reference.KERNELS, numba="minigen.kernels.numba_kernels",
                         cupy="minigen.kernels.cupy_kernels")
