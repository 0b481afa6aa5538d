"""DDP on CPU: two gloo processes under torchrun match each other exactly and one process within float tolerance."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import torch

from speechtools.train.distributed import torchrun_command
from speechtools.train.experiment import load_experiment
from speechtools.train.trainer import Trainer

WORKER = Path(__file__).with_name("ddp_worker.py")
TOY_PLUGIN = str(Path(__file__).resolve().parents[2] / "examples" / "toy_regression" / "toy_regression.py")


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    env.pop("LOCAL_RANK", None)
    return env


EXIT_ABORT = "terminate called"


def run_workers(config: Path, out_dir: Path, *extra: str) -> None:
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
        str(WORKER), str(config), str(out_dir), *extra,
    ]
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240)
    # A clean exit, teardown included: a gloo worker thread outliving the process group used to
    # abort a rank at interpreter exit under load ("terminate called without an active exception").
    assert result.returncode == 0, result.stderr[-3000:]
    assert EXIT_ABORT not in result.stderr, result.stderr[-3000:]
    assert "still referenced after destroy_process_group" not in result.stderr, result.stderr[-3000:]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    # No dropout (its masks differ per rank by design); min_batch_size 2 so each rank gets items.
    config = write_config(
        model_conf={"dropout": 0.0},
        trainer={"max_steps": 6, "min_batch_size": 2, "save_interval": 3, "valid_interval": 3, "log_interval": 2},
    )
    ddp_dir = tmp_path / "ddp"
    run_workers(config, ddp_dir)
    rank0 = torch.load(ddp_dir / "rank_0.pt")
    rank1 = torch.load(ddp_dir / "rank_1.pt")
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key

    single = Trainer(load_experiment(config), tmp_path / "single", device="cpu", show_progress=False)
    single.run()
    assert single.model is not None
    final = single.model.state_dict()
    for key, value in final.items():
        torch.testing.assert_close(rank0[key], value, atol=1e-5, rtol=0)
    # the comparison is not vacuous: steps 2..6 moved the weights far more than the tolerance
    one_step = Trainer(load_experiment(config, ["trainer.max_steps=1"]), tmp_path / "one", device="cpu", show_progress=False)
    one_step.run()
    assert one_step.model is not None
    after_one = one_step.model.state_dict()
    assert max((after_one[k] - final[k]).abs().max().item() for k in final) > 1e-3
    # model.pt written by rank 0 holds the same weights
    for key, value in torch.load(ddp_dir / "model.pt").items():
        assert torch.equal(value, rank0[key])


@pytest.mark.slow
def test_ddp_resume_is_bit_for_bit_with_per_rank_dropout(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(trainer={"max_steps": 6, "min_batch_size": 2, "save_interval": 3, "accum_grad": 1})
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_workers(config, straight)
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(straight / "config.yaml", resumed / "config.yaml")
    shutil.copy(straight / "checkpoints" / "step_3.pt", resumed / "checkpoints" / "step_3.pt")
    run_workers(config, resumed, "--resume")
    for rank in (0, 1):
        a, b = torch.load(straight / f"rank_{rank}.pt"), torch.load(resumed / f"rank_{rank}.pt")
        for key in a:
            assert torch.equal(a[key], b[key]), (rank, key)
    assert len(torch.load(straight / "checkpoints" / "step_3.pt", weights_only=False)["rng"]) == 2


@pytest.mark.slow
def test_cli_nproc_relaunches_under_torchrun(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(model_conf={"dropout": 0.0}, trainer={"max_steps": 4, "min_batch_size": 2, "save_interval": 2})
    cli = [sys.executable, "-m", "speechtools.cli.main", "train", "--import", TOY_PLUGIN, "--config", str(config), "--quiet"]
    result = subprocess.run(cli + ["--out-dir", str(tmp_path / "ddp"), "--nproc", "2"], env=_env(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torch.distributed.run" in result.stderr and "--nproc-per-node=2" in result.stderr
    single = Trainer(load_experiment(config), tmp_path / "single", device="cpu", show_progress=False).run()
    ddp = torch.load(tmp_path / "ddp" / "model.pt")
    for key, value in torch.load(single / "model.pt").items():
        torch.testing.assert_close(ddp[key], value, atol=1e-5, rtol=0)


def test_torchrun_command_lines() -> None:
    single = torchrun_command(["train", "--config", "c.yaml"], 4)
    assert single[1:6] == ["-m", "torch.distributed.run", "--nproc-per-node=4", "--standalone", "-m"]
    assert single[6:] == ["speechtools.cli.main", "train", "--config", "c.yaml"]
    elastic = torchrun_command(["train"], 8, nnodes=2, rdzv_endpoint="node1:29500", rdzv_id="job7")
    assert "--nnodes=2" in elastic and "--rdzv-endpoint=node1:29500" in elastic
    assert "--rdzv-backend=c10d" in elastic and "--rdzv-id=job7" in elastic and "--standalone" not in elastic
    static = torchrun_command(["train"], 8, nnodes=2, node_rank=1, rdzv_endpoint="node1:29500")
    assert "--rdzv-backend=static" in static and "--node-rank=1" in static
