"""End-to-end mini path of egs/music21/songmass/run.sh: data -> train 4 systems -> generate -> score."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from speechtools.train.checkpoint import load_checkpoint, model_state

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "music21" / "songmass"


@pytest.mark.slow
def test_songmass_recipe_mini_path(tmp_path, recipe_env):
    pytest.importorskip("music21")
    # The recipe's relative paths (../../../local, ../../../../conf) need the repository layout.
    work = tmp_path / "egs" / "music21" / "songmass"
    work.parent.mkdir(parents=True)
    work.mkdir()
    for name in ("run.sh", "conf", "local"):
        src = RECIPE / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    env = dict(recipe_env, PYTHONPATH=str(ROOT))
    small = ("--set trainer.batch_bins=1024 --set model_conf.d_model=32 --set model_conf.n_heads=2 --set model_conf.ffn_dim=64 "
             "--set model_conf.encoder_layers=1 --set model_conf.decoder_layers=1")
    # songmass_ft pre-trains for more updates than it fine-tunes: its weights must end near
    # exp/pretrain_tiny's, not near no_pretrain's (the same seed: what it would be without init_from).
    result = subprocess.run(["bash", "run.sh", "--device", "cpu", "--max-files", "24", "--steps", "3", "--pretrain-steps", "30",
                             "--beam", "1", "--train-args", small],
                            cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((work / "data" / "songs" / "summary.json").read_text())
    assert summary["paired"]["test"] > 0 and summary["paired"]["train"] > 0
    for system in ("songmass", "no_pretrain", "no_align", "songmass_ft"):
        out = work / "exp" / f"{system}_tiny"
        assert (out / "model.pt").is_file() and (out / "test_melody" / "1.mid").is_file()
        melody = json.loads((out / "test_melody.json").read_text())
        assert melody["songs"] == summary["paired"]["test"] and 0 <= melody["pd"] <= 1 and 0 <= melody["dd"] <= 1
        figures = json.loads((out / "test_eval.json").read_text())
        assert 0 < figures["alignment_accuracy_dp"] <= 1
    table = (work / "exp" / "results_tiny.md").read_text()
    assert table.count("\n| ") == 4  # one row per system
    assert "| songmass_ft |" in table and table.rstrip().endswith("| 30 | 3 |")  # pre-training and supervised steps

    exp = work / "exp"
    bootstrap = json.loads((exp / "bootstrap_tiny.json").read_text())  # score paired over the test songs
    assert [(d["a"], d["b"], d["metric"]) for d in bootstrap["differences"]] == [
        (system, "no_pretrain", metric) for system in ("songmass", "no_align", "songmass_ft")
        for metric in ("melody_pd", "melody_dd", "melody_md")]
    for d in bootstrap["differences"]:
        assert d["utterances"] + d["left_out"] == summary["paired"]["test"] and d["ci_low"] <= d["difference"] <= d["ci_high"]
    assert (exp / "bootstrap_tiny.md").read_text().count("|PD|") == 3
    pre_config = yaml.safe_load((exp / "pretrain_tiny" / "config.yaml").read_text())
    ft_config = yaml.safe_load((exp / "songmass_ft_tiny" / "config.yaml").read_text())
    assert pre_config["task_conf"]["kinds"] == ["lyric_mass", "melody_mass"] and pre_config["trainer"]["max_steps"] == 30
    assert ft_config["task_conf"]["kinds"] == ["lyric_to_melody", "melody_to_lyric"] and ft_config["trainer"]["max_steps"] == 3
    assert ft_config["trainer"]["init_from"]["path"] == "exp/pretrain_tiny"
    assert "init_from exp/pretrain_tiny: loaded" in (exp / "logs" / "stage2.log").read_text()

    def weights(name: str) -> dict:
        return model_state(load_checkpoint(exp / name / "model.pt", map_location="cpu"))

    pre, ft, scratch = weights("pretrain_tiny"), weights("songmass_ft_tiny"), weights("no_pretrain_tiny")
    assert pre.keys() == ft.keys() == scratch.keys()

    def distance(a: dict, b: dict) -> float:
        return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)

    assert distance(ft, pre) < 0.1 * distance(scratch, pre)
