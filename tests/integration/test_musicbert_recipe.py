"""End-to-end mini path of egs/bach/musicbert/run.sh: data -> encode -> pre-train -> fine-tune -> evaluate."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "bach" / "musicbert"


@pytest.mark.slow
def test_musicbert_recipe_mini_path(tmp_path, recipe_env):
    # The recipe's relative paths (../../../local, ../../../../conf) need the repository layout.
    (tmp_path / "egs" / "bach").mkdir(parents=True)
    work = tmp_path / "egs" / "bach" / "musicbert"
    work.mkdir()
    for name in ("run.sh", "conf", "local", "midi"):
        src = RECIPE / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    env = recipe_env
    small = "--set trainer.batch_bins=3000 --set trainer.max_batch_size=4"
    result = subprocess.run(
        ["bash", "run.sh", "--device", "cpu", "--pretrain-steps", "4", "--finetune-steps", "3",
         "--pretrain-args", small, "--finetune-args", small],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stats = json.loads((work / "exp" / "midi_stats.json").read_text())["summary"]
    assert stats["songs"] == 25 and stats["cp_ratio"] > 1 and stats["remi_ratio"] > stats["cp_ratio"]
    pretrain = work / "exp" / "pretrain_tiny"
    assert (pretrain / "model.pt").is_file() and (pretrain / "config.yaml").is_file()
    for task in ("melody_completion", "accompaniment", "classification"):
        for init in ("pretrained", "scratch"):
            metrics = json.loads((work / "exp" / f"{task}_{init}_tiny" / "test_metrics.json").read_text())
            if task == "classification":
                assert 0.0 <= metrics["macro_f1"] <= 1.0
            else:
                assert metrics["groups"] > 0 and 0.0 < metrics["map"] <= 1.0
    table = (work / "exp" / "results_tiny.md").read_text()
    assert table.count("\n| ") == 6
    assert f"pre-trained model directory: {work}/exp/pretrain_tiny" in result.stderr
