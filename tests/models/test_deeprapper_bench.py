"""bench/deeprapper_speed.py: the table and the JSON interface (quick run: tiny and small configs)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_writes_speeds_per_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("deeprapper_speed", ROOT / "bench" / "deeprapper_speed.py")
    bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    out = tmp_path / "out.json"
    bench.main.main(["--quick", "--json", str(out)], standalone_mode=False)
    rows = json.loads(out.read_text())
    assert [r["config"] for r in rows] == ["deeprapper_tiny.yaml", "deeprapper_small.yaml"]
    for r in rows:
        assert r["generated"] == 4 * 9  # 4 lines of 8 characters and [SEP]
        assert r["length"] == 7 + 2 + 36
        assert all(r[k] > 0 for k in ("generate_constraint_tok_s", "generate_tok_s", "model_cached_tok_s", "model_recompute_tok_s"))
    assert "| deeprapper_small.yaml |" in capsys.readouterr().out
