"""End-to-end mini path of egs/ljspeech/lrspeech/run.sh (the CI path of the LRSpeech recipe): stand-in data
conditions from the LJSpeech mini corpus, tiny configs and a few steps: (a) target pairs only, (b) pre-training
and fine-tuning, (c) one dual-transformation iteration, (d) distillation, (e) the ceiling, evaluation and the
results table. Checks the plumbing (every unpaired item becomes a pair or a listed reason, which model made each
synthetic set, the init_from chain), not the quality."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from speechtools.data.kaldi import read_table
from speechtools.data.synthetic import read_marker

ROOT = Path(__file__).resolve().parents[2]


def init_path(model_dir: Path) -> str:
    return yaml.safe_load((model_dir / "config.yaml").read_text())["trainer"]["init_from"]["path"]


@pytest.mark.slow
def test_ljspeech_lrspeech_recipe_mini_path(tmp_path, recipe_env):
    egs = tmp_path / "egs" / "ljspeech"
    shutil.copytree(ROOT / "egs" / "ljspeech" / "lrspeech", egs / "lrspeech", ignore=shutil.ignore_patterns("data", "dump", "exp", "*.log"))
    (egs / "mini_corpus").symlink_to(ROOT / "egs" / "ljspeech" / "mini_corpus")
    for name in ("local", "conf"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    work = egs / "lrspeech"
    env = recipe_env
    result = subprocess.run(["bash", "run.sh", "--device", "cpu", "--asr", "false"], cwd=work, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data, exp = work / "data", work / "exp"

    # the five conditions: unpaired speech without text, unpaired text never paired with audio
    sizes = {s: len(read_table(data / s / "wav.scp")) for s in ("target", "lowq", "unpaired_speech", "target_all", "dev", "test")}
    assert sizes == {"target": 6, "lowq": 8, "unpaired_speech": 6, "target_all": 12, "dev": 3, "test": 3}
    assert not (data / "unpaired_speech" / "text").exists()
    unpaired_speech = set(read_table(data / "unpaired_speech" / "wav.scp"))
    unpaired_text = set(read_table(data / "unpaired_text" / "text"))
    assert len(unpaired_text) == 6 and not set(read_table(data / "test" / "text")) & (unpaired_speech | unpaired_text)

    # dual transformation: the iteration's pseudo-pairs come from the previous models (b) and cover every
    # unpaired item (a pair, or a dropped item with its reason)
    for k, prev in ((1, "b"),):
        for kind, name, ids, model in (("text", f"dt{k}_speech", unpaired_speech, f"{prev}_asr"),
                                       ("speech", f"dt{k}_text", unpaired_text, f"{prev}_tts")):
            pairs, dropped = set(read_table(data / name / "text")), read_table(data / name / "dropped")
            assert pairs | set(dropped) == ids and not pairs & set(dropped), name
            assert all(dropped.values()), name
            marker = read_marker(data / name)
            assert (marker.kind, marker.produced_by) == (kind, str((exp / model).resolve()))
        assert init_path(exp / f"c{k}_tts") == f"exp/{prev}_tts" and init_path(exp / f"c{k}_asr") == f"exp/{prev}_asr"
        assert all((exp / "logs" / f"dt{k}_{job}.log").is_file() for job in ("transcribe", "speak"))  # side by side
    assert init_path(exp / "b_tts") == "exp/b_tts_pre" and init_path(exp / "e_asr") == "exp/b_asr_pre"

    # distillation: the teacher's attention scored per sentence, its mels and durations train a FastSpeech student
    scores = read_table(data / "kd_text" / "attention_scores")
    assert set(scores) == unpaired_text and len(list((exp / "c1_tts" / "kd_attention").glob("*.npy"))) == 6
    assert set(read_table(data / "kd_text" / "durations")) == set(read_table(data / "kd_text" / "text"))
    assert yaml.safe_load((exp / "d_tts" / "config.yaml").read_text())["model"] == "fastspeech"
    assert all((exp / "logs" / f"kd_{job}.log").is_file() for job in ("speak", "transcribe"))

    # evaluation and the table: every row has MCD, ASR WER and CER; IR is off (--asr false) and reported as not measured
    report = json.loads((exp / "results.json").read_text())
    assert report["rows"] == ["a", "b", "c1", "d", "e"]
    for row in report["rows"]:
        assert all(report["figures"][row][key] is not None for key in ("mcd_db", "asr_wer", "asr_cer"))
        assert len(read_table(exp / f"{row}_tts" / "decode_test" / "wav.scp")) == 3
    assert {t["met"] for t in report["targets"] if "TTS IR" in t["target"]} == {None}
    assert all(report["stage_seconds"][f"stage{n}"] is not None for n in range(1, 9))
    assert "(d) closes at least half" in (exp / "results.md").read_text()
