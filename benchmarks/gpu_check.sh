#!/usr/bin/env bash
# The GPU checks in one call, for a machine with CuPy and a CUDA device (the lent H100):
#   1. the gpu-marked tests (they skip themselves elsewhere),
#   2. one short training run of each model family on the cupy backend (`minigen train --quick`),
#   3. the benchmarks on every backend side by side, with the scaled default fits (JSON, then the
#      Markdown tables from it).
# Usage, from the repository root:  bash benchmarks/gpu_check.sh [OUT_DIR]   (default: $OUT or gpu-check)
# Each step's output goes to OUT_DIR; a failing step does not stop the later ones, and the exit
# status is that of the first failure.
set -u
out="${1:-${OUT:-gpu-check}}"
mkdir -p "$out"
export PYTHONPATH=.
status=0

run() {                       # run NAME COMMAND...: log to $out/NAME.log, remember the first failure
    local name=$1
    shift
    echo "== $name: $*"
    "$@" > "$out/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$out/$name.log"
    echo "== $name: exit $rc"
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
}

run versions python3 -c "import cupy, numpy, numba; print(cupy.__version__, numpy.__version__, numba.__version__); \
print(cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())"
run gpu_tests python3 -m pytest -q -m gpu -p no:cacheprovider tests
for model in vae gan ddpm ncsn rbm made char-transformer; do
    run "train_$model" timeout 300 python3 -m minigen train "$model" --quick --backend cupy --out "$out/runs/$model"
done
run bench python3 -m benchmarks --repeats 10 --fits --json --out "$out/bench.json"
run bench_table python3 -c "import json, sys, benchmarks; print(benchmarks.report(json.load(open(sys.argv[1]))))" \
    "$out/bench.json"
exit $status
