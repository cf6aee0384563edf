"""`python -m benchmarks --quick --fits` runs end to end and reports every workload, what each step
costs, and the scaled default fits (a smoke test)."""
import json

import pytest

import benchmarks


def test_quick_benchmark_reports_json_rows_and_rejects_bad_backends(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert benchmarks.main(["--quick", "--json", "--repeats", "1", "--backends", "numpy,numba", "--fits",
                            "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    workloads = [row["workload"] for row in result["rows"]]
    assert any(w.startswith("VAE step digits") for w in workloads)
    assert "kernel adam_update" in workloads
    vae = next(row for row in result["rows"] if row["workload"].startswith("VAE step digits"))
    assert vae["numpy"] > 0 and vae["numba"] > 0
    for row in result["rows"]:                 # every model row ran: none failed or is missing
        assert "failed" not in row.get("note", "") and "has not landed" not in row.get("note", ""), row
    transformer = next(row for row in result["rows"] if row["workload"].startswith("CharTransformer step"))
    assert transformer["numpy"] > 0 and transformer["numba"] > 0
    assert set(result["numba_compile_s"]) >= {"adam_update", "col2im"}
    for row in result["rows"]:                 # every engine row says what its step costs
        if not row["workload"].startswith("kernel "):
            costs = row["costs"]
            assert set(costs) == {"numpy", "numba"}, row["workload"]
            assert costs["numba"]["calls"] <= costs["numpy"]["calls"] and costs["numpy"]["calls"] > 0
    assert vae["costs"]["numpy"]["nodes"] == vae["costs"]["numba"]["nodes"] > 20
    assert vae["costs"]["numpy"]["host_reads"] == 0
    fits = {row["family"]: row for row in result["fits"]}
    assert set(fits) == {"RBM", "VAE", "DDPM", "GAN"}
    for row in fits.values():
        for name in ("numpy", "numba"):
            assert row[name]["default_fit_s"] == pytest.approx(row[name]["per_unit_s"] * row[name]["default_units"])
            assert row[name]["per_unit_s"] > 0 and row[name]["per_step"]["calls"] > 0
    assert benchmarks.main(["--backends", "jax"]) == 2
    assert "unknown backends" in capsys.readouterr().err
