"""bench/asr_speed.py: the JSON interface (run on the tiny recogniser configuration and a 0.5 s utterance)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_writes_rtf_per_search_and_thread_setting(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("asr_speed", ROOT / "bench" / "asr_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    monkeypatch.setattr(bench, "CONFIGS", {"tiny": "ctc_attention_tiny.yaml"})
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 1)  # "all" = 1 thread: on a shared machine 2 threads can crawl
    out = tmp_path / "out.json"
    assert bench.main(["--quick", "--seconds", "0.5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["rtf"]) == {"tiny_greedy", "tiny_beam10"}
    assert all({"1", "all"} <= set(values) and all(v > 0 for v in values.values()) for values in result["rtf"].values())
    assert isinstance(result["cpu"], str) and result["cpu"]
    assert result["params"]["tiny"] > 0 and result["setup"]["quick"] is True
    setup = result["setup"]
    assert setup["frames_per_utterance"] == int(0.5 * 22050 / 256) and setup["max_len"] == round(15 * 0.5)
    # the beam search decodes exactly max_len tokens (<eos> masked before, end detection off)
    assert setup["output_tokens"]["tiny_beam10"] == [setup["max_len"]]
    assert "| tiny_beam10 |" in capsys.readouterr().out
