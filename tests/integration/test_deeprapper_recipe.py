"""End-to-end mini paths of egs/chinese_poetry/deeprapper/run.sh: the ci (both systems, all four
stages) and English verse (DeepRapper only, through generation)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "chinese_poetry" / "deeprapper"


def recipe_copy(tmp_path: Path) -> Path:
    # the recipe's relative paths (../../../local) need the repository layout
    work = tmp_path / "egs" / "chinese_poetry" / "deeprapper"
    work.mkdir(parents=True)
    for name in ("run.sh", "local"):
        src = RECIPE / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    for name in ("local", "conf", "tests", "speechtools"):
        (tmp_path / name).symlink_to(ROOT / name)
    return work


def run(work: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    env = dict(env, PYTHONPATH=str(ROOT))
    result = subprocess.run(["bash", "run.sh", "--mini", "true", "--device", "cpu", *args], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_deeprapper_recipe_mini_paths(tmp_path: Path, cold_recipe_env: dict) -> None:
    # This smoke runs the real console script on every call (the others use the warm server, conftest.py).
    work = recipe_copy(tmp_path)
    run(work, cold_recipe_env)
    exp = work / "exp"
    for system in ("full", "l2r"):
        ppl = json.loads((exp / f"zh_{system}_mini" / "test_ppl.json").read_text())
        assert ppl["perplexity"] > 1.0
    test_songs = (work / "data" / "zh" / "test.txt").read_text(encoding="utf-8").split("\n\n")
    generated = (exp / "zh_full_mini" / "gen_rhyme.txt").read_text(encoding="utf-8").split("\n\n")
    assert len(generated) == len(test_songs) == 2
    for song, real in zip(generated, test_songs):
        lines = song.strip().splitlines()
        assert len(lines) == 1 + 4 and lines[0] == real.splitlines()[0]  # the prompt, then 4 new lines
    table = (exp / "results_zh_mini.md").read_text()
    assert table.count("\n| (") == 4
    run(work, cold_recipe_env, "--lang", "en", "--systems", "full", "--stop-stage", "3")
    verse = (exp / "en_full_mini" / "gen_rhyme.txt").read_text(encoding="utf-8").strip().splitlines()
    assert len(verse) == 5 and verse[0] == "the cat sat down upon the mat"
    assert all(line.replace("'", "").replace(" ", "").isalnum() for line in verse)
