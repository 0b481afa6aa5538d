"""local/parse_options.sh: Kaldi option semantics, tested by running a small recipe with bash."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECIPE = f"""#!/usr/bin/env bash
set -euo pipefail
stage=1            # first stage to run
stop_stage=100     # last stage to run
ngpu=0             # GPUs (0 = CPU)
use_amp=false      # mixed precision on CUDA
corpus=""          # path to the full corpus
help_message="Usage: run.sh [options] <out-dir>"
. "{ROOT}/local/parse_options.sh"
echo "stage=$stage stop_stage=$stop_stage ngpu=$ngpu use_amp=$use_amp corpus=$corpus args=$*"
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "run.sh"
    path.write_text(RECIPE)
    path.chmod(0o755)
    return path


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(recipe), *args], capture_output=True, text=True, timeout=30)


def test_defaults_and_positional_args(recipe: Path) -> None:
    proc = run(recipe, "out")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stage=1 stop_stage=100 ngpu=0 use_amp=false corpus= args=out"


def test_dash_and_underscore_spellings_are_the_same(recipe: Path) -> None:
    dashed = run(recipe, "--stop-stage", "3", "out")
    underscored = run(recipe, "--stop_stage", "3", "out")
    assert dashed.returncode == underscored.returncode == 0
    assert dashed.stdout == underscored.stdout
    assert "stop_stage=3 " in dashed.stdout


def test_equals_form_spaces_and_double_dash(recipe: Path) -> None:
    proc = run(recipe, "--ngpu=2", "--corpus", "/data/my corpus", "--", "--not-an-option")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stage=1 stop_stage=100 ngpu=2 use_amp=false corpus=/data/my corpus args=--not-an-option"


def test_unknown_option_is_an_error(recipe: Path) -> None:
    proc = run(recipe, "--stop-stgae", "3")
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert proc.stderr.strip() == "run.sh: invalid option --stop-stgae (run with --help to list options)"


def test_non_option_variables_are_not_settable(recipe: Path) -> None:
    proc = run(recipe, "--PATH", "/tmp")
    assert proc.returncode != 0 and "invalid option --PATH" in proc.stderr
    proc = run(recipe, "--help_message", "x")
    assert proc.returncode != 0


def test_boolean_option_only_takes_true_or_false(recipe: Path) -> None:
    assert "use_amp=true" in run(recipe, "--use-amp", "true").stdout
    proc = run(recipe, "--use-amp", "yes")
    assert proc.returncode != 0
    assert "takes true or false, got 'yes'" in proc.stderr


def test_missing_value_is_an_error(recipe: Path) -> None:
    proc = run(recipe, "--ngpu")
    assert proc.returncode != 0 and "--ngpu needs a value" in proc.stderr


def test_help_lists_options_with_defaults(recipe: Path) -> None:
    proc = run(recipe, "--stage", "2", "--help")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "Usage: run.sh [options] <out-dir>"
    assert lines[1].startswith("Options")
    assert lines[2:] == [
        '  --stage      "2"      # first stage to run',
        '  --stop-stage "100"    # last stage to run',
        '  --ngpu       "0"      # GPUs (0 = CPU)',
        '  --use-amp    "false"  # mixed precision on CUDA',
        '  --corpus     ""       # path to the full corpus',
    ]


def test_a_recipe_that_cds_to_its_folder_still_knows_its_options(tmp_path: Path) -> None:
    # run.sh files start with cd "$(dirname "$0")" and are often run from elsewhere (egs/x/y/run.sh)
    folder = tmp_path / "egs" / "x"
    folder.mkdir(parents=True)
    (folder / "run.sh").write_text(RECIPE.replace("set -euo pipefail\n", "set -euo pipefail\ncd \"$(dirname \"$0\")\"\n"))
    proc = subprocess.run(["bash", "egs/x/run.sh", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "--stop-stage" in proc.stdout and "# last stage to run" in proc.stdout
    undeclared = subprocess.run(["bash", "egs/x/run.sh", "--help-message", "x"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert undeclared.returncode != 0
