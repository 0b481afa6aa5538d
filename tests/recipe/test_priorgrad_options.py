"""egs/TEMPLATE/priorgrad.sh refuses a bad --num-eval in one line, before any stage runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_num_eval_must_be_a_positive_count(tmp_path: Path, value: str) -> None:
    egs = tmp_path / "egs" / "ljspeech"
    shutil.copytree(ROOT / "egs" / "ljspeech" / "priorgrad", egs / "priorgrad", ignore=shutil.ignore_patterns("data", "dump", "exp"))
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    for name in ("local", "conf"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run(["bash", "run.sh", "--num-eval", value], cwd=egs / "priorgrad", env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: --num-eval takes a positive number of clips, got {value}"]
    assert not (egs / "priorgrad" / "data").exists()
