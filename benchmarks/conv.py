"""Conv2d forward + backward on the engine, against a hand-written NumPy step and PyTorch.

    python benchmarks/conv.py [--repeats 20]

The step: y = conv2d(x, W) + b for x (64, 16, S, S), W (32, 16, 3, 3), padding 1, then the
gradients of sum(y * g) with respect to x, W and b.  The NumPy reference reads every window as
an as_strided view and contracts it with tensordot (no im2col copy in the forward); its input
gradient is the full convolution of g with the flipped weight.  PyTorch eager CPU runs the same
step when torch is importable.  Median of repeats after a warm-up; float32.  On a shared machine
pin BLAS to one thread (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1): oversubscribed BLAS threads
make batched matmuls ten times slower and the numbers meaningless.  torch gets OMP_NUM_THREADS.
"""
import argparse
import os
import platform
import time

import numpy as np

import autograd
from autograd.nn import functional as F

BATCH, IN_CHANNELS, OUT_CHANNELS, KERNEL = 64, 16, 32, 3


def windows(padded, kernel):
    """(N, C, OH, OW, kh, kw) view of every kernel-sized window of padded (N, C, H, W), stride 1."""
    n, c, h, w = padded.shape
    shape = (n, c, h - kernel + 1, w - kernel + 1, kernel, kernel)
    strides = padded.strides + padded.strides[2:]
    return np.lib.stride_tricks.as_strided(padded, shape, strides, writeable=False)


def numpy_step(x, weight, bias, upstream):
    pad = KERNEL // 2
    x_windows = windows(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))), KERNEL)
    y = np.tensordot(x_windows, weight, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    y += bias.reshape(1, -1, 1, 1)
    grad_weight = np.tensordot(upstream, x_windows, axes=([0, 2, 3], [0, 2, 3]))       # (O, C, k, k)
    grad_bias = upstream.sum(axis=(0, 2, 3))
    full = KERNEL - 1 - pad
    g_windows = windows(np.pad(upstream, ((0, 0), (0, 0), (full, full), (full, full))), KERNEL)
    flipped = weight[:, :, ::-1, ::-1]
    grad_x = np.tensordot(g_windows, flipped, axes=([1, 4, 5], [0, 2, 3])).transpose(0, 3, 1, 2)
    return y, grad_x, grad_weight, grad_bias


def engine_step(x, weight, bias, upstream):
    tx, tw, tb = (autograd.Tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = F.conv2d(tx, tw, tb, padding=KERNEL // 2)
    (y * autograd.Tensor(upstream)).sum().backward()
    return y.data, tx.grad.data, tw.grad.data, tb.grad.data


def torch_step(torch, x, weight, bias, upstream):
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = torch.nn.functional.conv2d(tx, tw, tb, padding=KERNEL // 2)
    y.backward(torch.from_numpy(upstream))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def median_time(step, repeats):
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(repeats=20):
    try:
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    except ImportError:
        torch = None
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'absent'}; median of {repeats}, ms per forward+backward")
    print(f"{'input':>14} {'numpy ref':>10} {'engine':>10} {'torch':>10} {'engine/ref':>11}")
    rng = np.random.default_rng(0)
    for size in (8, 28):
        x = rng.standard_normal((BATCH, IN_CHANNELS, size, size)).astype(np.float32)
        weight = (rng.standard_normal((OUT_CHANNELS, IN_CHANNELS, KERNEL, KERNEL)) * 0.1).astype(np.float32)
        bias = rng.standard_normal(OUT_CHANNELS).astype(np.float32)
        upstream = rng.standard_normal((BATCH, OUT_CHANNELS, size, size)).astype(np.float32)
        args = (x, weight, bias, upstream)
        for ours, theirs in zip(engine_step(*args), numpy_step(*args)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3)
        reference = median_time(lambda: numpy_step(*args), repeats)
        engine = median_time(lambda: engine_step(*args), repeats)
        peer = median_time(lambda: torch_step(torch, *args), repeats) if torch else float("nan")
        print(f"{f'64x16x{size}x{size}':>14} {reference * 1e3:10.2f} {engine * 1e3:10.2f} "
              f"{peer * 1e3:10.2f} {engine / reference:11.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    main(parser.parse_args().repeats)
