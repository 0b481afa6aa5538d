"""bin/run_jobs: JOB substitution, parallel local jobs over a data split, failures, slurm via srun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
RUN_JOBS = str(ROOT / "bin" / "run_jobs")


def run(*args: str, cwd: Path, env: dict = None) -> subprocess.CompletedProcess:  # type: ignore[assignment]
    return subprocess.run([RUN_JOBS, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


def build_data_dir(root: Path, n_utts: int) -> None:
    """Six utterances of two speakers, each a 0.1 s sine wave."""
    root.mkdir(parents=True)
    utts = [f"utt{k}" for k in range(n_utts)]
    for k, u in enumerate(utts):
        sf.write(root / f"{u}.wav", np.sin(0.05 * (k + 1) * np.arange(1600)).astype(np.float32), 16000)
    (root / "wav.scp").write_text("".join(f"{u} {root / u}.wav\n" for u in utts))
    (root / "text").write_text("".join(f"{u} a b\n" for u in utts))
    (root / "utt2spk").write_text("".join(f"{u} spk{k % 2}\n" for k, u in enumerate(utts)))
    (root / "spk2utt").write_text("".join(f"spk{s} {' '.join(utts[s::2])}\n" for s in range(2)))


def test_jobs_run_over_data_split_parts(tmp_path: Path) -> None:
    build_data_dir(tmp_path / "data", n_utts=6)
    speechtools = [sys.executable, "-m", "speechtools.cli.main"]
    subprocess.run([*speechtools, "data", "split", "data", "3"], check=True, cwd=tmp_path, capture_output=True)
    proc = run("--nj", "3", "exp/log/validate.JOB.log", *speechtools, "data", "validate", "data/split3/JOB", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for job in (1, 2, 3):
        log = (tmp_path / f"exp/log/validate.{job}.log").read_text().splitlines()
        assert log[0].endswith(f"data validate data/split3/{job}")
        assert log[2] == f"data/split3/{job}: OK: 2 utterances, 2 speakers, files: wav.scp text utt2spk spk2utt"
        assert log[-1].startswith("# Ended (code 0)")


def test_jobs_run_in_parallel(tmp_path: Path) -> None:
    # Each job waits until all three have started: this only finishes if they run at once.
    script = 'touch started.$0; for i in $(seq 100); do [ $(ls started.* | wc -l) -ge 3 ] && exit 0; sleep 0.05; done; exit 1'
    proc = run("--nj", "3", "log/JOB.log", "bash", "-c", script, "JOB", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_failed_job_makes_nonzero_exit_naming_its_log(tmp_path: Path) -> None:
    proc = run("--nj", "4", "log/job.JOB.log", "bash", "-c", 'echo "job $0"; [ "$0" != 3 ]', "JOB", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "run_jobs: 1/4 jobs failed; see log/job.3.log"
    assert "# Ended (code 1)" in (tmp_path / "log/job.3.log").read_text()
    assert "job 3" in (tmp_path / "log/job.3.log").read_text()


def test_missing_command_fails(tmp_path: Path) -> None:
    proc = run("--nj", "2", "log/JOB.log", "no-such-program-xyz", cwd=tmp_path)
    assert proc.returncode == 1
    assert "2/2 jobs failed" in proc.stderr
    assert "# Ended (code 127)" in (tmp_path / "log/1.log").read_text()


def test_slurm_runs_each_job_through_srun(tmp_path: Path) -> None:
    fake = tmp_path / "fakebin"
    fake.mkdir()
    srun = fake / "srun"
    # A stand-in for srun: record its arguments, drop its options, run the command.
    srun.write_text(
        '#!/usr/bin/env bash\necho "$*" >> "$SRUN_CALLS"\nwhile [[ $1 == --* ]]; do shift; done\nexec "$@"\n'
    )
    srun.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "SRUN_CALLS": str(tmp_path / "calls")}
    proc = run(
        "--nj", "2", "--cmd", "slurm", "--srun-opts", "--partition=gpu --gres=gpu:1",
        "log/train.JOB.log", "echo", "part", "JOB", cwd=tmp_path, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    calls = sorted((tmp_path / "calls").read_text().splitlines())
    assert calls == [
        "--ntasks=1 --job-name=train.1 --partition=gpu --gres=gpu:1 echo part 1",
        "--ntasks=1 --job-name=train.2 --partition=gpu --gres=gpu:1 echo part 2",
    ]
    assert "part 2" in (tmp_path / "log/train.2.log").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nj", "0", "l.JOB", "true"], "--nj must be a positive integer"),
        (["--cmd", "sge", "l.JOB", "true"], "--cmd must be local or slurm"),
        (["--nj", "2", "log.txt", "true"], "must contain JOB"),
        (["--bogus", "l", "true"], "unknown option --bogus"),
        (["l.JOB"], "need a log file pattern and a command"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list, message: str) -> None:
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
