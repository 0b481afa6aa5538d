"""local/stage.sh: stage guards, per-stage logs, failures, re-runs; local/path.sh."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECIPE = f"""#!/usr/bin/env bash
set -euo pipefail
stage=1
stop_stage=100
fail_at=0          # stage that fails (0 = none)
logdir=exp/demo/logs
. "{ROOT}/local/parse_options.sh"
. "{ROOT}/local/stage.sh"

body() {{
  echo "body of stage $1"
  if [ "$1" = "$fail_at" ]; then
    echo "stage $1 is failing on purpose" >&2
    false
    echo "not reached"
  fi
  echo "$1" >> ran.txt
}}

for n in 1 2 3 4 5; do
  run_stage "$n" "demo stage $n" body "$n"
done
echo finished
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "run.sh"
    path.write_text(RECIPE)
    return path


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(recipe), *args], capture_output=True, text=True, timeout=30, cwd=recipe.parent)


@pytest.mark.parametrize("start, stop", [(1, 5), (2, 4), (3, 3), (4, 100), (6, 9), (4, 2)])
def test_stage_n_runs_iff_stage_le_n_le_stop_stage(recipe: Path, start: int, stop: int) -> None:
    proc = run(recipe, "--stage", str(start), "--stop-stage", str(stop))
    assert proc.returncode == 0, proc.stderr
    expected = [n for n in range(1, 6) if start <= n <= stop]
    ran = (recipe.parent / "ran.txt").read_text().split() if expected else []
    assert [int(n) for n in ran] == expected
    logs = sorted(p.name for p in (recipe.parent / "exp/demo/logs").glob("stage*.log")) if expected else []
    assert logs == [f"stage{n}.log" for n in expected]
    assert proc.stdout.splitlines()[-1] == "finished"


def test_stage_log_holds_output_and_status(recipe: Path) -> None:
    proc = run(recipe, "--stage", "2", "--stop-stage", "2")
    assert "body of stage 2" in proc.stdout
    log = (recipe.parent / "exp/demo/logs/stage2.log").read_text().splitlines()
    assert log[0] == "# stage 2: demo stage 2"
    assert log[1] == "# command: body 2"
    assert "body of stage 2" in log
    assert log[-1].startswith("# ended ") and " with status 0 after " in log[-1]


def test_failing_stage_stops_recipe_and_names_log(recipe: Path) -> None:
    proc = run(recipe, "--fail-at", "3")
    assert proc.returncode == 1
    assert "not reached" not in proc.stdout and "finished" not in proc.stdout
    assert (recipe.parent / "ran.txt").read_text().split() == ["1", "2"]
    assert proc.stderr.splitlines()[-1].endswith(
        "stage 3 failed (exit 1); see exp/demo/logs/stage3.log; its last line: stage 3 is failing on purpose")
    log = (recipe.parent / "exp/demo/logs/stage3.log").read_text()
    assert "stage 3 is failing on purpose" in log
    assert "with status 1 after" in log


def test_rerun_replaces_the_log(recipe: Path) -> None:
    run(recipe, "--stage", "2", "--stop-stage", "2", "--fail-at", "2")
    proc = run(recipe, "--stage", "2", "--stop-stage", "2")
    assert proc.returncode == 0
    log = (recipe.parent / "exp/demo/logs/stage2.log").read_text()
    assert log.count("# started") == 1
    assert "failing on purpose" not in log and "with status 0" in log


def test_path_sh_puts_bin_and_venv_on_path() -> None:
    proc = subprocess.run(
        ["bash", "-c", f'. "{ROOT}/local/path.sh"; . "{ROOT}/local/path.sh"; echo "$SPEECHTOOLS_ROOT"; echo "$PATH"; command -v run_jobs'],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    root, path, run_jobs = proc.stdout.splitlines()
    assert root == str(ROOT)
    entries = path.split(":")
    assert entries[0] == str(ROOT / "bin")
    assert entries.count(str(ROOT / "bin")) == 1
    if (ROOT / ".venv" / "bin" / "python").exists():
        assert entries[1] == str(ROOT / ".venv" / "bin")
    assert run_jobs == str(ROOT / "bin" / "run_jobs")


@pytest.mark.parametrize(
    "options, expected",
    [([], "--device auto"), (["--device", "cpu"], "--device cpu"), (["--ngpu", "0"], "--ngpu 0"),
     (["--ngpu", "4", "--device", "cpu"], "--ngpu 4")],
)
def test_train_launch_args_follow_ngpu_then_device(tmp_path: Path, options: list, expected: str) -> None:
    script = tmp_path / "run.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\ndevice=auto\nngpu=\"\"\n"
        f'. "{ROOT}/local/parse_options.sh"\n. "{ROOT}/local/stage.sh"\necho $(train_launch_args)\n'
    )
    script.chmod(0o755)
    proc = subprocess.run([str(script), *options], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected
