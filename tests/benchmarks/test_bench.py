"""`python -m benchmarks --quick` runs end to end and reports every workload (a smoke test)."""
import json

import benchmarks


def test_quick_benchmark_reports_json_rows_and_rejects_bad_backends(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert benchmarks.main(["--quick", "--json", "--repeats", "1", "--backends", "numpy,numba",
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
    assert benchmarks.main(["--backends", "jax"]) == 2
    assert "unknown backends" in capsys.readouterr().err
