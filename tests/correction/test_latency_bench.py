"""bench/correction_latency.py: the weight-traffic model and the JSON interface reviewers use."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from speechtools.models.fastcorrect import FastCorrect, FastCorrectConfig
from speechtools.models.transformer_corrector import TransformerCorrector, TransformerCorrectorConfig

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "correction_latency.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("correction_latency", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_weight_traffic_model_counts_what_each_decoder_reads():
    bench = load_bench()
    sizes = dict(vocab_size=100, d_model=16, n_heads=2, ffn_dim=32, encoder_layers=1, decoder_layers=1)
    fc = FastCorrect(FastCorrectConfig(**sizes))
    ar = TransformerCorrector(TransformerCorrectorConfig(**sizes))
    d, f, v = 16, 32, 100
    encoder = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d  # attention, FFN, two LayerNorms
    cross_kv = 2 * d * d + 2 * d
    decoder = 2 * (4 * d * d + 4 * d) + 2 * d * f + f + d + 6 * d  # self + cross attention, FFN, three LayerNorms
    assert sum(p.numel() for p in ar.parameters()) == v * d + encoder + decoder
    once, per_step = encoder + cross_kv, decoder - cross_kv + v * d
    fc_total = sum(p.numel() for p in fc.parameters())
    expected = ((once + 4 * per_step) + (once + 8 * per_step)) / 2 / fc_total  # 3 and 7 tokens, + </s>
    assert bench.weight_traffic_speedup(fc, ar, [3, 7]) == pytest.approx(expected)


def test_recipe_vocabulary_is_the_one_stage_3_builds():
    bench = load_bench()
    pairs, text = bench.held_out_pairs("recipe")
    assert len(pairs) == 100
    closed_pairs, closed_text = bench.held_out_pairs("closed")
    assert closed_pairs == pairs and len(text) > 10_000 > len(closed_text)
    # FastCorrect 2's input: the same sentences' n-best, the 1-best first
    candidates = bench.held_out_candidates()
    assert len(candidates) == 100
    assert all(c.split(" ||| ")[0] == hyp for c, (hyp, _) in zip(candidates, pairs))
    assert sum(len(c.split(" ||| ")) > 1 for c in candidates) > 50


@pytest.mark.slow
def test_json_interface(tmp_path):
    out = tmp_path / "latency.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--sentences", "2", "--repeats", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    for model in ("fastcorrect", "ar", "fastcorrect2"):
        assert set(report["ms_per_sentence"][model]) >= {"1", "all"}
        assert all(ms > 0 for ms in report["ms_per_sentence"][model].values())
    for setting in ("1", "all"):
        assert report["speedup"][setting] == pytest.approx(
            report["ms_per_sentence"]["ar"][setting] / report["ms_per_sentence"]["fastcorrect"][setting], abs=0.01)
        assert report["speedup_fastcorrect2"][setting] == pytest.approx(
            report["ms_per_sentence"]["ar"][setting] / report["ms_per_sentence"]["fastcorrect2"][setting], abs=0.01)
    assert report["candidates"] == 4 and report["parameters"]["fastcorrect2"] > report["parameters"]["fastcorrect"]
    assert report["weight_traffic_speedup"] > 1 and report["sentences"] == 2
    assert "| CPU, 1 thread |" in proc.stdout
