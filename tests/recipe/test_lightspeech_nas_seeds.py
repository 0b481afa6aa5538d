"""egs/TEMPLATE/lightspeech_nas.sh --extra-seeds: every trained row again per seed, scored, pooled per row by score paired.

Stages 6, 8 and 9 run with stand-ins for ./tts.sh (records its tag and seed, writes model.pt) and for the CLI
(records its calls; `score tts` writes its --json), so the shell logic is checked in a second; the real
commands run in tests/integration/test_lightspeech_nas_recipe.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_TTS = """#!/usr/bin/env bash
tag="" seed="" stage=""
while [ $# -gt 0 ]; do case "$1" in --tag) tag=$2 ;; --seed) seed=$2 ;; --conf) conf=$2 ;; --stage) stage=$2 ;; esac; shift; done
[ "$stage" = 4 ] || exit 0  # stage 7's synthesis and scoring of the found row: not recorded
echo "train $tag $seed $conf" >> "$CALLS"
mkdir -p "exp/$tag" && : > "exp/$tag/model.pt"
"""

FAKE_CLI = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
if [ "$1 $2" = "score tts" ]; then
  while [ $# -gt 0 ]; do [ "$1" = --json ] && mkdir -p "$(dirname "$2")" && echo '{}' > "$2"; shift; done
fi
"""

FOUND, RANDOM = "sep5 sep9 sep13 sep17 sep21 sep25 sep5 sep9", "mhsa2 sep9 sep5 mhsa2 sep21 sep9 identity sep9"


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "egs" / "TEMPLATE").mkdir(parents=True)
    shutil.copy(ROOT / "egs" / "TEMPLATE" / "lightspeech_nas.sh", tmp_path / "egs" / "TEMPLATE")
    for name, text in (("egs/TEMPLATE/tts.sh", FAKE_TTS), ("bin/speechtools", FAKE_CLI)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    (tmp_path / "local").symlink_to(ROOT / "local")
    work = tmp_path / "egs" / "corpus" / "nas"
    (work / "exp" / "nas").mkdir(parents=True)
    (work / "data" / "eval").mkdir(parents=True)
    (work / "exp" / "nas" / "lightspeech_nas.yaml").write_text("model: lightspeech\n")
    (work / "exp" / "nas" / "best_arch.txt").write_text(FOUND + "\n")
    evaluated = [{"index": 0, "arch": FOUND, "source": "random"}, {"index": 1, "arch": RANDOM, "source": "random"}]
    (work / "exp" / "nas" / "search.json").write_text(json.dumps({"evaluated": evaluated, "summary": {"best_arch": FOUND}}))
    return work


def test_extra_seeds_train_score_and_pool_every_trained_row(tmp_path: Path) -> None:
    work = _tree(tmp_path)
    calls = tmp_path / "calls.log"
    env = dict(os.environ, CALLS=str(calls), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run(["bash", "../../TEMPLATE/lightspeech_nas.sh", "--stage", "6", "--stop-stage", "9", "--asr", "false",
                           "--random-rows", "1", "--extra-seeds", "2 3", "--jobs", "2", "--compare-systems", "fs2=/models/fs2"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = calls.read_text().splitlines()
    trained = sorted(line.split()[1:3] for line in lines if line.startswith("train "))
    rows = ("lightspeech_nas", "random1", "reference")
    assert trained == sorted([[row, "1"] for row in rows] + [[f"{row}_seed{s}", s] for row in rows for s in ("2", "3")])
    assert f"train random1_seed2 2 exp/nas/compare/random1.yaml" in lines
    scored = sorted(line.split("--json ")[1].split()[0] for line in lines if line.startswith("score tts"))
    assert scored == sorted([f"exp/compare/{row}{s}/scores.json" for row in rows for s in ("", "_seed2", "_seed3")]
                            + ["exp/compare/fs2/scores.json"])
    synth = [line for line in lines if line.startswith("synth") and "exp/compare/reference_seed3/" in line]
    assert len(synth) == 1 and "--model-dir exp/reference_seed3 " in synth[0]
    paired = next(line for line in lines if line.startswith("score paired"))
    for row in rows:
        for s in ("", "_seed2", "_seed3"):
            assert f"--system {row}=exp/compare/{row}{s}/scores.json" in paired
    assert "--system fs2=exp/compare/fs2/scores.json" in paired and paired.count("fs2=") == 1  # no seeds of a given model
    assert all(f"--versus lightspeech_nas,{other}" in paired for other in ("reference", "random1", "fs2"))
    assert "--metric asr_wer" not in paired and "--ref data/eval" in paired
    compare = next(line for line in lines if line.startswith("score compare"))
    assert "_seed" not in compare  # the side-by-side table holds each row's --seed run
