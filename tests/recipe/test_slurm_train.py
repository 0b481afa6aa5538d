"""bin/slurm_train: one launcher per node through srun, rendezvous on the allocation's first node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLURM_TRAIN = str(ROOT / "bin" / "slurm_train")


def fake_slurm(bin_dir: Path) -> None:
    """srun that records its arguments; scontrol that expands a node list."""
    bin_dir.mkdir()
    (bin_dir / "srun").write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_RECORD"\n')
    (bin_dir / "scontrol").write_text('#!/usr/bin/env bash\n[ "$1 $2" = "show hostnames" ] && printf "gpu07\\ngpu08\\n"\n')
    for tool in ("srun", "scontrol"):
        (bin_dir / tool).chmod(0o755)


def test_launches_one_task_per_node_with_head_node_endpoint(tmp_path: Path) -> None:
    fake_slurm(tmp_path / "bin")
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", SLURM_JOB_NODELIST="gpu[07-08]",
               SLURM_NNODES="2", SRUN_RECORD=str(tmp_path / "srun.args"))
    proc = subprocess.run([SLURM_TRAIN, "--ngpu", "8", "--", "--config", "exp.yaml", "--out-dir", "exp/fs2"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    args = (tmp_path / "srun.args").read_text().split("\n")[:-1]
    assert args == ["--nodes=2", "--ntasks-per-node=1", "speechtools", "train", "--config", "exp.yaml",
                    "--out-dir", "exp/fs2", "--ngpu", "8", "--nnodes", "2", "--rdzv-endpoint", "gpu07:29500"]


def test_outside_an_allocation_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    proc = subprocess.run([SLURM_TRAIN, "--", "--config", "x.yaml"], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "slurm_train: not inside a SLURM allocation (run it with sbatch or inside salloc)"
