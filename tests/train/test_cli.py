"""``speechtools train`` / ``average-checkpoints`` from the command line: outputs and one-line user errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest
import torch

from speechtools.train.checkpoint import save_checkpoint


def test_train_then_resume_to_more_steps(tmp_path: Path, write_config: Callable[..., Path], run_cli) -> None:
    config = write_config(trainer={"max_steps": 4, "save_interval": 2})
    out_dir = tmp_path / "exp"
    argv = ["train", "--config", str(config), "--out-dir", str(out_dir), "--quiet", "--seed", "5"]
    code, out, _ = run_cli(argv + ["--set", "trainer.log_interval=1", "optim.eps=1e-8"])  # space-separated overrides
    assert code == 0 and "model directory" in out
    log = (out_dir / "train_log.jsonl").read_text().splitlines()
    assert sum('"split": "train"' in line for line in log) == 4
    assert "eps: 1.0e-08" in (out_dir / "config.yaml").read_text()
    assert "seed: 5" in (out_dir / "config.yaml").read_text()
    code, _, err = run_cli(
        argv + ["--resume", "--set", "trainer.log_interval=1", "optim.eps=1e-8", "--set", "trainer.max_steps=6"]
    )
    assert code == 0
    assert "trainer: resuming with a changed config: trainer.max_steps" in err.splitlines()  # one line, no UserWarning
    assert sorted(p.name for p in (out_dir / "checkpoints").iterdir()) == ["step_2.pt", "step_4.pt", "step_6.pt"]


@pytest.mark.parametrize(
    "extra, blocks, expected",
    [
        ([], {"trainer": {"max_stepz": 4}}, r"^error: .*exp\.yaml: unknown key 'trainer\.max_stepz'"),
        (["--resume"], {}, r"^error: .*checkpoints: --resume given but there is no checkpoint"),
        (["--nproc", "2", "--resume"], {}, r"^error: .*checkpoints: --resume given"),  # caught before torchrun starts
        ([], {"task": "no_such_task"}, r"^error: .*exp\.yaml: unknown task 'no_such_task'"),
        (["--set", "optim.lr=-1"], {}, r"^error: .*: optim: lr must be positive"),
    ],
)
def test_user_errors_are_one_line(
    tmp_path: Path, write_config: Callable[..., Path], run_cli, extra: list, blocks: dict, expected: str
) -> None:
    config = write_config(**blocks)
    code, _, err = run_cli(["train", "--config", str(config), "--out-dir", str(tmp_path / "exp"), "--quiet", *extra])
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(expected, err), err
    assert not (tmp_path / "exp" / "model.pt").exists()


def test_missing_config_file(tmp_path: Path, run_cli) -> None:
    code, _, err = run_cli(["train", "--config", str(tmp_path / "nope.yaml"), "--out-dir", str(tmp_path / "exp")])
    assert code == 1 and err.startswith("error: ") and "nope.yaml" in err and "not found" in err


def test_average_checkpoints_is_the_arithmetic_mean(tmp_path: Path, run_cli) -> None:
    gen = torch.Generator().manual_seed(0)
    a = {"w": torch.randn(3, 4, generator=gen), "b": torch.randn(4, generator=gen), "count": torch.tensor(3)}
    b = {"w": torch.randn(3, 4, generator=gen), "b": torch.randn(4, generator=gen), "count": torch.tensor(7)}
    c = {k: v * 100 for k, v in a.items()}
    for step, state in ((100, c), (200, {"model": a, "step": 200}), (300, {"model": b, "step": 300})):
        save_checkpoint(state if step != 100 else {"model": state}, tmp_path / "checkpoints" / f"step_{step}.pt")
    code, out, _ = run_cli(["average-checkpoints", "--model-dir", str(tmp_path), "--last", "2"])
    assert code == 0 and "step_200.pt, step_300.pt" in out
    avg = torch.load(tmp_path / "model.pt")
    torch.testing.assert_close(avg["w"], (a["w"] + b["w"]) / 2, rtol=0, atol=1e-7)
    torch.testing.assert_close(avg["b"], (a["b"] + b["b"]) / 2, rtol=0, atol=1e-7)
    assert int(avg["count"]) == 7  # integer buffers come from the newest checkpoint
    # explicit files and --out
    files = [str(tmp_path / "checkpoints" / "step_100.pt"), str(tmp_path / "checkpoints" / "step_300.pt")]
    code, _, _ = run_cli(["average-checkpoints", "--model-dir", str(tmp_path), "--out", str(tmp_path / "x.pt"), *files])
    assert code == 0
    torch.testing.assert_close(torch.load(tmp_path / "x.pt")["w"], (c["w"] + b["w"]) / 2, rtol=0, atol=1e-6)


def test_average_checkpoints_errors(tmp_path: Path, run_cli) -> None:
    code, _, err = run_cli(["average-checkpoints", "--model-dir", str(tmp_path)])
    assert code == 1 and "no checkpoints" in err
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    code, _, err = run_cli(["average-checkpoints", "--model-dir", str(tmp_path), str(tmp_path / "bad.pt")])
    assert code == 1 and err.startswith("error: ") and "bad.pt: cannot read checkpoint" in err
    assert not (tmp_path / "model.pt").exists()


def test_auto_resume_continues_a_killed_run_and_refuses_a_changed_config(
    tmp_path: Path, write_config: Callable[..., Path], run_cli
) -> None:
    import shutil

    config = write_config(trainer={"max_steps": 10, "save_interval": 3})
    argv = ["train", "--config", str(config), "--quiet", "--auto-resume"]
    code, _, _ = run_cli(argv + ["--out-dir", str(tmp_path / "straight")])  # a fresh directory: starts
    assert code == 0
    killed = tmp_path / "killed"  # what a run killed after its step-6 checkpoint leaves behind
    (killed / "checkpoints").mkdir(parents=True)
    for name in ("config.yaml", "train_log.jsonl", "checkpoints/step_3.pt", "checkpoints/step_6.pt"):
        shutil.copy(tmp_path / "straight" / name, killed / name)
    code, _, _ = run_cli(argv + ["--out-dir", str(killed)])
    assert code == 0
    assert torch.equal(torch.load(killed / "model.pt")["head.weight"], torch.load(tmp_path / "straight" / "model.pt")["head.weight"])
    code, _, _ = run_cli(argv + ["--out-dir", str(killed)])  # a finished run: nothing to do, same model.pt
    assert code == 0 and {p.name for p in (killed / "checkpoints").iterdir()} == {f"step_{s}.pt" for s in (3, 6, 9, 10)}
    code, _, err = run_cli(argv + ["--out-dir", str(killed), "--set", "optim.lr=1e-3"])
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "differs in optim.lr" in err and "--overwrite" in err
    code, _, err = run_cli(argv[:-1] + ["--overwrite", "--out-dir", str(killed), "--set", "optim.lr=1e-3"])
    assert code == 0
    assert "lr: 0.001" in (killed / "config.yaml").read_text()
    assert not torch.equal(torch.load(killed / "model.pt")["head.weight"], torch.load(tmp_path / "straight" / "model.pt")["head.weight"])
    code, _, err = run_cli(argv + ["--overwrite", "--out-dir", str(killed)])
    assert code == 2 and "at most one of --auto-resume, --overwrite" in err


def test_a_run_that_failed_before_its_first_checkpoint_does_not_block_the_corrected_rerun(
    tmp_path: Path, write_config: Callable[..., Path], run_cli
) -> None:
    out = tmp_path / "exp"
    code, _, err = run_cli(["train", "--config", str(write_config("bad.yaml", optim={"lr": 1e30}, scheduler={"name": "constant"},
                                                                   trainer={"grad_clip": 0.0, "log_interval": 1})),
                            "--out-dir", str(out), "--quiet"])
    assert code == 1 and "diverged" in err and (out / "config.yaml").is_file() and not (out / "checkpoints").exists()
    code, _, err = run_cli(["train", "--config", str(write_config("good.yaml", trainer={"max_steps": 2})), "--out-dir", str(out),
                            "--quiet"])
    assert code == 0, err
    assert (out / "model.pt").is_file()
