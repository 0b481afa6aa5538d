"""End-to-end mini path of egs/ljspeech/fastspeech2/run.sh (the `make demo` recipe) with few steps:
data -> features/stats/tokens -> aligner + durations -> FastSpeech 2 -> synthesis -> scoring."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from speechtools.audio.store import FeatureStore
from speechtools.data.kaldi import read_durations, read_table

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "ljspeech" / "fastspeech2"
STEPS = 12  # FastSpeech 2 training steps: 3 checkpoints of the killed run at save_interval 4


@pytest.mark.slow
def test_ljspeech_fastspeech2_recipe_mini_path(tmp_path, recipe_env):
    # The recipe's relative paths (../../TEMPLATE, ../../../local, ../../../../conf) need the repository layout.
    (tmp_path / "egs" / "ljspeech").mkdir(parents=True)
    work = tmp_path / "egs" / "ljspeech" / "fastspeech2"
    work.mkdir()
    for name in ("run.sh", "conf"):
        src = RECIPE / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    env = recipe_env
    result = subprocess.run(
        ["bash", "run.sh", "--device", "cpu", "--nj", "1", "--aligner-steps", "10", "--max-steps", str(STEPS), "--asr", "false"],
        cwd=work, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Durations: one per token, each >= 0, summing to the frame count of the features.
    for name in ("train", "dev", "eval"):
        durations = read_durations(work / "data" / name / "durations")
        shapes = FeatureStore(work / "dump" / name).shapes("mel")
        assert set(durations) == set(read_table(work / "data" / name / "text"))
        for uttid, d in durations.items():
            assert sum(d) == shapes[uttid][0] and min(d) >= 0
    assert list((work / "exp" / "aligner_aligner_tiny" / "plots_train").glob("*.png"))
    model_dir = work / "exp" / "fastspeech2_tiny"
    for name in ("config.yaml", "model.pt", "tokens.txt", "stats.npz", "feats.yaml", "train_log.jsonl"):
        assert (model_dir / name).is_file(), name
    decode = model_dir / "decode_eval"
    assert sorted(read_table(decode / "wav.scp")) == sorted(read_table(work / "data" / "eval" / "text"))
    assert len(list((decode / "plots").glob("*.png"))) == 2
    summary = (decode / "scoring" / "summary.txt").read_text()
    assert summary.startswith("MCD ") and "LOGF0_RMSE" in summary
    assert "| MCD (dB, DTW) |" in (decode / "scoring" / "results.md").read_text()
    assert result.stdout.strip().splitlines()[-1] == f"model directory: {work}/exp/fastspeech2_tiny"

    # Recipes resume: stage 4 killed after its first checkpoint and re-run ends with the same model.pt
    # as the uninterrupted run above (checkpoint frequency does not change the training).
    stage4 = ["bash", "run.sh", "--device", "cpu", "--nj", "1", "--max-steps", str(STEPS), "--asr", "false", "--stage", "4",
              "--stop-stage", "4", "--tag", "killed", "--train-args", "--set trainer.save_interval=4"]
    killed = work / "exp" / "killed"
    proc = subprocess.Popen(stage4, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list((killed / "checkpoints").glob("step_*.pt")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    steps = sorted(int(p.stem.split("_")[1]) for p in (killed / "checkpoints").glob("step_*.pt"))
    assert steps and steps[-1] < STEPS and not (killed / "model.pt").exists(), steps  # killed during training
    rerun = subprocess.run(stage4, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    final, reference = torch.load(killed / "model.pt"), torch.load(model_dir / "model.pt")
    assert list(final) == list(reference) and all(torch.equal(final[k], reference[k]) for k in final)
    # a re-run with a changed config is refused, naming the key, unless --overwrite true
    assert stage4[6:8] == ["--max-steps", str(STEPS)]
    changed = subprocess.run([*stage4[:7], str(STEPS + 1), *stage4[8:]], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert changed.returncode != 0
    assert "differs in trainer.max_steps" in changed.stdout + changed.stderr and "--overwrite" in changed.stdout + changed.stderr
