"""`python -m benchmarks` / `minigen bench`: every workload, for every backend this machine has,
side by side in one run, with the peers a user would pick instead (PyTorch eager, scikit-learn's
BernoulliRBM) when they are importable.  Each time is the median of repeats after a warm-up call,
with the GPU synchronized before every clock read.  Workloads that need a model that has not landed
yet are skipped with a note naming it.

BLAS and PyTorch's CPU pool run on `--threads` threads (1 by default): on a shared or small machine
multithreaded BLAS is a lottery (one batched float32 matmul of the conv row took 27 ms on one
thread and 3.3 s on two threads of two loaded cores).  `--clock process` reads process CPU time
instead of wall time, which a loaded machine's preemption does not inflate (CPU backends only).
"""
import argparse
import dataclasses
import functools
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from autograd import costs
from autograd.serialize import atomic_file

from . import engine, fits, workloads
from .workloads import step_costs

BACKENDS = ("numpy", "numba", "cupy")


CLOCKS = {"wall": time.perf_counter, "process": time.process_time}


def limit_threads(threads):
    """BLAS (and PyTorch's intra-op pool, when torch is there) on `threads` threads, as a context."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass
    return threadpool_limits(threads)


def measure(make, repeats, clock=time.perf_counter, cost_into=None):
    """Median seconds of `step()` over `repeats` calls after one warm-up; None if `make` is None.
    With `cost_into` (a dict), one more call, before the warm-up, is counted by autograd.costs and
    its counts stored there (what the step launches and records; see `step_costs`)."""
    made = make()
    if made is None:
        return None
    step, sync = made
    if cost_into is not None:
        cost_into.update(dataclasses.asdict(costs.count_step(step)))
    step()
    sync()
    times = []
    for _ in range(repeats):
        start = clock()
        step()
        sync()
        times.append(clock() - start)
    return statistics.median(times)


def available_backends(requested):
    from autograd import backend
    usable = []
    for name in requested:
        try:
            backend.set_backend(name)
            usable.append(name)
        except backend.BackendError as error:
            print(f"# skipping backend {name}: {error}", file=sys.stderr)
    backend.set_backend("numpy")
    return usable


def versions():
    info = {"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}
    for name in ("numba", "cupy", "torch", "sklearn"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    from autograd import backend
    cupy = backend.cupy_or_none()
    info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode() if cupy else None
    return info


def vae_rows(backends, quick, repeats, measure):
    rows = []
    sizes = {"digits": (64, 64, 8, 32)} if quick else engine.SIZES
    for size, (D, H, Z, B) in sizes.items():
        gpu_only = size == "wide"
        row = {"workload": f"VAE step {size} (D{D} H{H} Z{Z} B{B})"}
        for name in backends:
            if gpu_only and name != "cupy":
                continue
            row[name] = measure(lambda: engine.engine_step(name, D, H, Z, B), repeats,
                                cost_into=step_costs(row, name))
        if not gpu_only:
            row["numpy by hand"] = measure(lambda: engine.numpy_step(D, H, Z, B), repeats)
            row["torch cpu"] = measure(lambda: engine.torch_step(D, H, Z, B, "cpu"), repeats)
        row["torch cuda"] = measure(lambda: engine.torch_step(D, H, Z, B, "cuda"), repeats)
        rows.append(row)
    return rows


def format_costs(row):
    """nodes and Function calls of a row's step (the same on every backend), then its array-library
    calls per backend: what a GPU launches for it."""
    counted = row.get("costs")
    if not counted:
        return "-"
    first = next(iter(counted.values()))
    calls = ", ".join(f"{name} {c['calls']}" for name, c in counted.items() if c["calls"] is not None)
    reads = max((c["host_reads"] or 0) for c in counted.values())
    return (f"{first['nodes']} nodes, {first['functions']} fn calls; array calls {calls or '-'}"
            + (f"; {reads} host reads" if reads else ""))


def format_table(rows):
    columns = []
    for row in rows:
        columns += [k for k in row if k not in columns and k not in ("workload", "note", "costs")]
    lines = ["| workload | " + " | ".join(columns) + " | per step | note |",
             "|---|" + "---|" * (len(columns) + 2)]
    for row in rows:
        base = row.get("numpy")
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append("-")
            else:
                ratio = f" ({base / value:.1f}x)" if base and column != "numpy" else ""
                cells.append(f"{value * 1e3:.3g} ms{ratio}")
        lines.append(f"| {row['workload']} | " + " | ".join(cells)
                     + f" | {format_costs(row)} | {row.get('note', '')} |")
    return "\n".join(lines)


def parse(argv):
    parser = argparse.ArgumentParser(prog="minigen bench", description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated subset of numpy,numba,cupy (default: all available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--quick", action="store_true", help="few repeats and small sizes (a smoke test)")
    parser.add_argument("--out", help="also write the result (JSON with --json, else markdown) to FILE")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per workload")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch CPU threads (default 1)")
    parser.add_argument("--fits", action="store_true",
                        help="also time each family's default fit per backend, from a few epochs or steps")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or process CPU time (steadier on a loaded machine; CPU only)")
    args = parser.parse_args(argv)
    unknown = set(args.backends.split(",")) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}; choose from {', '.join(BACKENDS)}")
    return args


def main(argv=None):
    """Run the benchmarks; returns the exit status (0, or 2 for bad arguments)."""
    try:
        args = parse(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    repeats = args.repeats or (3 if args.quick else 20)
    backends = available_backends(args.backends.split(","))
    result = {"versions": versions(), "repeats": repeats, "quick": args.quick, "threads": args.threads,
              "clock": args.clock}
    result["numba_compile_s"] = workloads.numba_compile_times(args.quick) if "numba" in backends else {}
    timed = functools.partial(measure, clock=CLOCKS[args.clock])
    with limit_threads(args.threads):
        result["rows"] = (vae_rows(backends, args.quick, repeats, timed)
                          + workloads.model_rows(backends, args.quick, max(1, repeats // 4), timed)
                          + workloads.kernel_rows(backends, args.quick, repeats, timed))
        if args.fits:
            result["fits"] = fits.fit_rows(backends, args.quick, CLOCKS[args.clock])
    from autograd import backend
    backend.set_backend("numpy")
    text = json.dumps(result, indent=1) if args.json else report(result)
    print(text)
    if args.out:
        with atomic_file(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


def report(result):
    info = ", ".join(f"{k} {v}" for k, v in result["versions"].items() if v is not None)
    compile_times = ", ".join(f"{k} {v:.2f} s" for k, v in result["numba_compile_s"].items())
    return "\n".join([f"machine: {info}", f"median of {result['repeats']} repeats after a warm-up, "
                      f"{result['clock']} clock, {result['threads']} BLAS/torch thread(s)"
                      + (" (--quick: small sizes)" if result["quick"] else ""),
                      f"numba first-call compile (or cache load): {compile_times or '-'}", "",
                      format_table(result["rows"]),
                      "", "ratios: numpy backend time / this column's time (higher is faster); per step: "
                      "graph nodes, Function calls and array-library calls (a compiled kernel counts "
                      "once) of one timed call, counted by autograd.costs"]
                     + (["", fits.format_fits(result["fits"])] if "fits" in result else []))
