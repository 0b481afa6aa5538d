"""bench/vocoder_speed.py: the JSON interface (run on the tiny vocoder configuration and a 0.05 s clip)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_writes_rtf_per_vocoder_and_thread_setting(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("vocoder_speed", ROOT / "bench" / "vocoder_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    monkeypatch.setattr(bench, "CONFIGS", {"priorgrad": "priorgrad_tiny.yaml"})
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 1)  # "all" = 1 thread: on a shared machine 2 threads can crawl
    out = tmp_path / "out.json"
    assert bench.main(["--quick", "--seconds", "0.05", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    names = {"priorgrad_T6", "priorgrad_T12", "priorgrad_T50", "griffin_lim", "synth_griffin_lim", "synth_priorgrad_T6"}
    assert set(result["rtf"]) == names
    assert all({"1", "all"} <= set(values) and all(v > 0 for v in values.values()) for values in result["rtf"].values())
    assert result["params"]["priorgrad"] > 0 and result["setup"]["quick"] is True
    assert "| priorgrad_T50 |" in capsys.readouterr().out
