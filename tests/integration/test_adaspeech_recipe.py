"""End-to-end mini path of egs/ljspeech/adaspeech/run.sh (the CI path of the AdaSpeech recipe): the LJSpeech mini
corpus as the source, a stand-in "Philipp" made of mini clips as the new speaker, tiny configs and a few steps:
data -> features -> durations (source sets and the adaptation clips) -> source AdaSpeech 2 -> four adaptations ->
synthesis of the held-out sentences by five models -> score tts / score similarity (and the real recordings) ->
the tables. Checks the plumbing and the tables' shape, not the quality."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from speechtools.data.kaldi import read_table

ROOT = Path(__file__).resolve().parents[2]
ROWS = ["source", "embedding", "decoder", "adaspeech", "adaspeech2", "real"]
ADAPTED = ["embedding", "decoder", "adaspeech", "adaspeech2"]
METRICS = ["speaker_sim", "mcd_db", "log_f0_rmse", "p808_mos", "ovrl_mos", "asr_wer"]


@pytest.mark.slow
def test_ljspeech_adaspeech_recipe_mini_path(tmp_path, recipe_env):
    # The recipe's relative paths (../../TEMPLATE, ../../../local, ../fastspeech2/conf, ../mini_corpus) need the layout.
    egs = tmp_path / "egs" / "ljspeech"
    shutil.copytree(ROOT / "egs" / "ljspeech" / "adaspeech", egs / "adaspeech", ignore=shutil.ignore_patterns("data", "dump", "exp"))
    shutil.copytree(ROOT / "egs" / "ljspeech" / "fastspeech2" / "conf", egs / "fastspeech2" / "conf")
    (egs / "mini_corpus").symlink_to(ROOT / "egs" / "ljspeech" / "mini_corpus")
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    (tmp_path / "bench").symlink_to(ROOT / "bench")
    work = egs / "adaspeech"
    env = recipe_env
    result = subprocess.run(["bash", "run.sh", "--device", "cpu", "--nj", "1", "--asr", "false", "--jobs", "2"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    models = ["source"] + [f"adapt_{r}" for r in ADAPTED] + ["duration_plain", "duration_moe"]
    assert result.stdout.strip().splitlines()[-7:] == [f"model directory: {work}/exp/{m}" for m in models]

    # the stand-in new speaker went through `data prepare philipp`: 5 adaptation clips (--num-utts), 3 held out
    assert set(read_table(work / "data" / "target_adapt" / "utt2spk").values()) == {"philipp"}
    assert len(read_table(work / "data" / "target_adapt" / "durations")) == 5
    eval_ids = sorted(read_table(work / "data" / "target_eval" / "text"))
    assert eval_ids == ["philipp_LJ001-0138", "philipp_LJ001-0142", "philipp_LJ001-0143"]
    for m in models[:5]:
        assert sorted(read_table(work / "exp" / m / "decode_target_eval" / "wav.scp")) == eval_ids
    # every adaptation: same steps, its own trainable set, the per-speaker count of the tiny config
    params = {r: json.loads((work / "exp" / f"adapt_{r}" / "params.json").read_text()) for r in ADAPTED}
    assert {p["steps"] for p in params.values()} == {4}
    assert params["adaspeech"]["per_speaker"] == 160 and params["adaspeech2"]["per_speaker"] == 160
    assert params["embedding"]["per_speaker"] == 32
    assert params["decoder"]["per_speaker"] > 100 * params["adaspeech"]["per_speaker"]
    assert (work / "exp" / "adapt_adaspeech" / "speaker_philipp.pt").is_file()

    table = json.loads((work / "exp" / "results.json").read_text())
    assert list(table["systems"]) == ROWS and table["metrics"] == METRICS
    for row, figures in table["systems"].items():
        assert all(isinstance(figures[k]["value"], float) for k in METRICS[:-1]), row
        assert figures["asr_wer"] is None  # --asr false
        assert 0.0 < figures["speaker_sim"]["value"] <= 1.0
    assert table["systems"]["real"]["mcd_db"]["value"] == pytest.approx(0.0, abs=1e-6)  # the real recordings vs themselves
    assert [(d["a"], d["b"]) for d in table["versus"]] == [
        ("adaspeech", "decoder"), ("adaspeech", "embedding"), ("adaspeech2", "adaspeech"), ("adaspeech", "source")]
    counts = json.loads((work / "exp" / "results_params.json").read_text())
    assert list(counts["rows"]) == ["source"] + ADAPTED
    assert counts["paper_per_speaker"] == {"adaspeech": "4.9K", "decoder": "14.1M"}
    assert counts["adaspeech_over_decoder"] == pytest.approx(160 / params["decoder"]["per_speaker"])
    targets = json.loads((work / "exp" / "results_targets.json").read_text())
    assert [t["met"] is not None for t in targets["targets"]] == [True] * 4
    assert targets["targets"][1]["met"] is True  # 160 values against the whole decoder
    results = (work / "exp" / "results.md").read_text()
    assert "|adaspeech2|" in results and "### Adapted parameters" in results and "### Targets" in results

    # stage 9: plain and moe duration predictors, identical configs but the predictor, on every speaker's held-out clips
    plain, moe = (yaml.safe_load((work / "exp" / f"duration_{r}" / "config.yaml").read_text()) for r in ("plain", "moe"))
    assert plain["model_conf"]["adaptor"]["duration"]["kind"] == "plain" and moe["model_conf"]["adaptor"]["duration"]["kind"] == "moe"
    bounds = moe["model_conf"]["adaptor"]["duration"]["gate_boundaries"]
    assert len(bounds) == 2 and bounds[0] < bounds[1]
    for conf in (plain, moe):
        del conf["model_conf"]["adaptor"]["duration"]
    assert plain == moe
    assert sorted(read_table(work / "data" / "duration_eval" / "utt2spk")) == sorted(
        ["LJ001-0030", "LJ001-0031", "LJ001-0032"] + eval_ids)  # the source's held-out clips and the target's
    errors = json.loads((work / "exp" / "results_duration.json").read_text())
    assert list(errors) == ["plain", "moe"]
    for name, report in errors.items():
        assert set(report) == {"LJ", "philipp", "all"} and report["all"]["utterances"] == 6
        assert ("mean_gate" in report["all"]) == (name == "moe")
    assert "|philipp|3|" in (work / "exp" / "results_duration.md").read_text()
