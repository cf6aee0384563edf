"""Bad input gives clear errors: shape mismatches name the op and both shapes, devices are not
mixed silently, wrong calls say what is wrong."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops.elementwise import Add


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"^Add: shapes \(3, 4\) and \(5,\) do not broadcast$"):
        ag.ones(3, 4) + ag.ones(5)
    with pytest.raises(ValueError, match=r"^Mul: shapes \(2,\) and \(3,\) do not broadcast$"):
        ag.ones(2) * ag.ones(3)


def test_matmul_error_names_shapes():
    with pytest.raises(ValueError, match=r"^MatMul: shapes \(3, 4\) and \(5, 2\) do not align$"):
        ag.ones(3, 4) @ ag.ones(5, 2)
    with pytest.raises(ValueError, match=r"^Linear: shapes \(3, 4\) and \(2, 5\) do not align$"):
        ag.linear(ag.ones(3, 4), ag.ones(2, 5))


def test_concatenate_and_reshape_errors_name_shapes():
    with pytest.raises(ValueError, match=r"Concatenate: shapes \(3, 4\) and \(2, 5\)"):
        ag.concatenate([ag.ones(3, 4), ag.ones(2, 5)])
    with pytest.raises(ValueError, match=r"Reshape: input of shape \(6,\)"):
        ag.ones(6).reshape(4, 2)
    with pytest.raises(IndexError, match=r"GetItem: input of shape \(3,\)"):
        ag.ones(3)[5]


def test_backward_gradient_of_wrong_shape():
    x = ag.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        (x * 2).backward(np.ones(2))


def test_backward_of_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(2).sum().backward()


# an array type that claims to live on the GPU, as cupy.ndarray does (module cupy..., name ndarray)
FakeDeviceArray = type("ndarray", (np.ndarray,), {"__module__": "cupy._core.core"})


def test_mixing_devices_is_reported():
    gpu_like = np.ones(3).view(FakeDeviceArray)
    with pytest.raises(ag.BackendError, match=r"Add: inputs are on different devices \(cpu, cuda\)"):
        Add()._check_devices([np.ones(3), gpu_like])
    with pytest.raises(ag.BackendError, match="different devices"):
        Add()(ag.tensor(np.ones(3)), ag.Tensor(gpu_like))


def test_unknown_backend_and_device():
    with pytest.raises(ag.BackendError, match="unknown backend"):
        ag.set_backend("tpu")
    with pytest.raises(ag.BackendError, match="unknown device"):
        ag.zeros(2, device="tpu")
