"""local/recipe_lib.sh's gl_score_command: the synthesis + scoring pair shared by the recipes, and its re-run rule."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for the CLI: logs each call; `score tts` writes its --json (as the real one does).
FAKE_CLI = """#!/usr/bin/env bash
echo "$*" >> calls.log
if [ "$1 $2" = "score tts" ]; then
  while [ $# -gt 0 ]; do [ "$1" = --json ] && echo '{}' > "$2"; shift; done
fi
"""


def score(tmp_path: Path, gl_iters: int = 4) -> list:
    script = (f'eval_set=eval device=cpu gl_iters={gl_iters} feats_conf=feats.yaml asr=false\n'
              f'. "{ROOT}/local/recipe_lib.sh"\n'
              'eval "$(gl_score_command "exp/m 1" out/decode out/scoring out/scores.json)"\n')
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    before = (tmp_path / "calls.log").read_text().splitlines() if (tmp_path / "calls.log").exists() else []
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    after = (tmp_path / "calls.log").read_text().splitlines() if (tmp_path / "calls.log").exists() else []
    return after[len(before):]


def test_gl_score_command_scores_once_and_again_after_a_new_model_or_other_settings(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "speechtools").write_text(FAKE_CLI)
    (tmp_path / "bin" / "speechtools").chmod(0o755)
    (tmp_path / "exp" / "m 1").mkdir(parents=True)
    (tmp_path / "exp" / "m 1" / "model.pt").write_bytes(b"")
    (tmp_path / "out").mkdir()
    time.sleep(0.01)
    first = score(tmp_path)
    assert [c.split()[:2] for c in first] == [["synth", "--model-dir"], ["score", "tts"]]
    assert "--vocoder-set n_iter=4" in first[0] and "--out-dir out/decode" in first[0]
    assert "--dnsmos" in first[1] and "--asr" not in first[1] and "--json out/scores.json" in first[1]
    assert score(tmp_path) == []  # scored already by the same command
    assert len(score(tmp_path, gl_iters=8)) == 2  # another setting: scored again
    time.sleep(0.01)
    os.utime(tmp_path / "exp" / "m 1" / "model.pt")  # a retrained model: scored again
    assert len(score(tmp_path, gl_iters=8)) == 2
    assert score(tmp_path, gl_iters=8) == []
