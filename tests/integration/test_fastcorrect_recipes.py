"""End-to-end smoke tests of the FastCorrect recipes' default (shipped-data) paths, tiny models.

Each recipe folder is copied into a temporary tree (with ``local/``, ``conf/`` and ``egs/TEMPLATE`` linked), so
the runs never touch the checkout's ``data/`` or ``exp/``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _stage_tree(tmp_path: Path, recipe: str) -> Path:
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    target = tmp_path / "egs" / recipe
    shutil.copytree(ROOT / "egs" / recipe, target, ignore=shutil.ignore_patterns("data", "exp", "dump"))
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")  # the shared stages 2-7
    return target


def _run(recipe_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(["bash", "run.sh", *args], cwd=recipe_dir, env=env, capture_output=True, text=True, timeout=600)


def _check_outputs(recipe_dir: Path, hyp_name: str, n_test: int) -> None:
    results = (recipe_dir / "exp" / "results.md").read_text()
    for model in ("fastcorrect", "transformer_corrector"):
        assert f"| {model} | test |" in results
        decoded = (recipe_dir / "exp" / model / "decode_test" / "text").read_text().splitlines()
        assert len(decoded) == n_test
        assert (recipe_dir / "exp" / model / "model.pt").is_file()
        assert (recipe_dir / "exp" / model / "tokens.txt").is_file()
    hyp = (recipe_dir / "data" / "test" / hyp_name).read_text().splitlines()
    assert len(hyp) == n_test


@pytest.mark.slow
def test_aishell1_mini_path(tmp_path: Path) -> None:
    recipe = _stage_tree(tmp_path, "aishell1/fastcorrect")
    proc = _run(recipe, "--size", "tiny", "--noise-epochs", "2", "--pretrain-steps", "20", "--finetune-steps", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_outputs(recipe, "hyp", 50)
    assert "model directory:" in proc.stderr and str(recipe / "exp" / "fastcorrect") in proc.stderr


@pytest.mark.slow
def test_kathleen_default_path(tmp_path: Path) -> None:
    recipe = _stage_tree(tmp_path, "kathleen/fastcorrect")
    text = tmp_path / "lj_head.txt"
    with gzip.open(recipe / "corpus" / "ljspeech_LJ001-LJ040.txt.gz", "rt", encoding="utf-8") as handle:
        text.write_text("".join(line for _, line in zip(range(1500), handle)))
    proc = _run(recipe, "--size", "tiny", "--text-corpus", str(text), "--noise-epochs", "1",
                "--pretrain-steps", "20", "--finetune-steps", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_outputs(recipe, "hyp", 100)
    test_ids = {line.split()[0] for line in (recipe / "data" / "test" / "ref").read_text().splitlines()}
    assert test_ids == set((recipe / "local" / "test_ids.txt").read_text().split())
    uniform = (recipe / "data" / "pretrain.tsv").read_text()
    proc = _run(recipe, "--stage", "2", "--stop-stage", "2", "--text-corpus", str(text), "--noise-epochs", "1",
                "--noise-channel", "data/train/pairs.tsv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    channel = (recipe / "data" / "pretrain.tsv").read_text()
    kept = json.loads((recipe / "data" / "pretrain_text.json").read_text())["kept"]  # text prepare-corpus's count
    assert 1400 < kept <= 1500 and len(channel.splitlines()) == len(uniform.splitlines()) == kept
    assert channel != uniform
