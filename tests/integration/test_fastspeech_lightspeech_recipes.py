"""End-to-end mini paths of egs/ljspeech/fastspeech (teacher -> attention durations -> KD -> FastSpeech)
and egs/ljspeech/lightspeech (aligner -> LightSpeech), through synthesis and scoring."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from speechtools.data.kaldi import read_durations, read_table

ROOT = Path(__file__).resolve().parents[2]


def _recipe_copy(tmp_path: Path, name: str) -> Path:
    """The recipe folder in a scratch repository layout (its relative paths need ../../TEMPLATE etc.)."""
    (tmp_path / "egs" / "ljspeech").mkdir(parents=True)
    work = tmp_path / "egs" / "ljspeech" / name
    work.mkdir()
    for item in ("run.sh", "conf"):
        src = ROOT / "egs" / "ljspeech" / name / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    for shared in ("local", "conf"):
        (tmp_path / shared).symlink_to(ROOT / shared)
    return work


def _run(work: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "run.sh", "--device", "cpu", "--nj", "1", "--asr", "false", *args],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)


def _check_synthesis_and_scores(work: Path, tag: str) -> None:
    decode = work / "exp" / tag / "decode_eval"
    wavs = read_table(decode / "wav.scp")
    assert set(wavs) == set(read_table(work / "data" / "eval" / "text"))
    assert all(Path(p).is_file() and Path(p).stat().st_size > 1000 for p in wavs.values())
    summary = (decode / "scoring" / "summary.txt").read_text()
    assert "MCD" in summary and "LOGF0_RMSE" in summary
    assert (decode / "scoring" / "results.md").read_text().count("| MCD") == 1


@pytest.mark.slow
def test_fastspeech_recipe_mini_path_with_distillation(tmp_path, recipe_env):
    work = _recipe_copy(tmp_path, "fastspeech")
    result = _run(work, recipe_env, "--kd", "true", "--min-focus-rate", "0", "--kd-args", "--max-ratio 2",
                  "--teacher-steps", "10", "--max-steps", "10")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    teacher = work / "exp" / "teacher_transformer_tts_tiny"
    assert (teacher / "model.pt").is_file() and any((teacher / "attention_train").glob("*.png"))
    # Teacher-forced durations: one per token, summing to each utterance's mel frame count.
    shapes = read_table(work / "dump" / "train" / "mel_shape")
    durations = read_durations(work / "data" / "train" / "durations")
    assert set(durations) == set(shapes)
    assert all(sum(d) == int(shapes[u].split(",")[0]) and min(d) >= 0 for u, d in durations.items())
    assert set(read_table(work / "data" / "train" / "focus_rates")) == set(shapes)
    # Distillation: the teacher's generated mels with durations of its own attention.
    kd_shapes = read_table(work / "dump" / "train_kd" / "mel_shape")
    kd_durations = read_durations(work / "data" / "train_kd" / "durations")
    assert set(kd_durations) == set(kd_shapes) == set(shapes)
    assert all(sum(d) == int(kd_shapes[u].split(",")[0]) for u, d in kd_durations.items())
    assert (work / "dump" / "train_kd" / "stats.npz").is_file()
    config = (work / "exp" / "fastspeech_tiny" / "config.yaml").read_text()
    assert "model: fastspeech" in config and "data/train_kd" in config
    _check_synthesis_and_scores(work, "fastspeech_tiny")
    assert f"model directory: {work}/exp/fastspeech_tiny" in result.stdout


@pytest.mark.slow
def test_lightspeech_recipe_mini_path(tmp_path, recipe_env):
    work = _recipe_copy(tmp_path, "lightspeech")
    result = _run(work, recipe_env, "--aligner-steps", "10", "--max-steps", "10")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    config = (work / "exp" / "lightspeech_tiny" / "config.yaml").read_text()
    assert "model: lightspeech" in config and "sep5 sep25 sep13 sep9 sep17 sep21 sep9 sep13" in config
    _check_synthesis_and_scores(work, "lightspeech_tiny")
