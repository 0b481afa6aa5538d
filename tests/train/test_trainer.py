"""The generic trainer on the toy_regression task: bit-for-bit resume, model directory, logs, averaging, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Dict

import pytest
import torch

from speechtools.errors import ConfigError, UserError
from speechtools.train.checkpoint import list_checkpoints, load_checkpoint
from speechtools.train.experiment import load_experiment
from speechtools.train.model_dir import load_model_dir
from speechtools.train.trainer import Trainer


def train(config: Path, out_dir: Path, resume: bool = False, overrides: tuple = ()) -> Path:
    return Trainer(load_experiment(config, overrides), out_dir, device="cpu", resume=resume, show_progress=False).run()


def assert_same_tensors(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def assert_same_optimizer(a: dict, b: dict) -> None:
    assert a["param_groups"] == b["param_groups"]
    for pid, state in a["state"].items():
        for name, value in state.items():
            assert torch.equal(value, b["state"][pid][name]), (pid, name)


def test_resume_after_crash_is_bit_for_bit(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config()
    straight = train(config, tmp_path / "straight")
    # A run killed right after its step-10 checkpoint: only what existed then survives.
    crashed = tmp_path / "crashed"
    (crashed / "checkpoints").mkdir(parents=True)
    shutil.copy(straight / "config.yaml", crashed / "config.yaml")
    for step in (5, 10):
        shutil.copy(straight / f"checkpoints/step_{step}.pt", crashed / f"checkpoints/step_{step}.pt")
    shutil.copy(straight / "train_log.jsonl", crashed / "train_log.jsonl")  # records up to step 20 (one cut short)
    with open(crashed / "train_log.jsonl", "a") as handle:
        handle.write('{"split": "train", "st')
    train(config, crashed, resume=True)
    # records after step 10 from the lost run are dropped, then rewritten; validation matches exactly
    logs = [[json.loads(line) for line in (d / "train_log.jsonl").read_text().splitlines()] for d in (straight, crashed)]
    assert [(r["split"], r["step"]) for r in logs[0]] == [(r["split"], r["step"]) for r in logs[1]]
    valid = [[{k: v for k, v in r.items() if k != "elapsed"} for r in log if r["split"] == "valid"] for log in logs]
    assert valid[0] == valid[1] and len(valid[0]) == 3
    a = load_checkpoint(straight / "checkpoints/step_20.pt")
    b = load_checkpoint(crashed / "checkpoints/step_20.pt")
    assert_same_tensors(a["model"], b["model"])
    assert_same_optimizer(a["optimizer"], b["optimizer"])
    assert (a["epoch"], a["batches_done"]) == (b["epoch"], b["batches_done"])
    assert a["epoch"] >= 2  # the run crossed epochs, so shuffled batch order mattered
    assert_same_tensors(torch.load(straight / "model.pt"), torch.load(crashed / "model.pt"))
    # and the run really trained: weights moved away from the step-5 state
    early = load_checkpoint(straight / "checkpoints/step_5.pt")["model"]
    assert not torch.equal(early["head.weight"], a["model"]["head.weight"])


def test_ten_plus_resume_ten_equals_twenty(tmp_path: Path, write_config: Callable[..., Path], capsys: pytest.CaptureFixture) -> None:
    config = write_config()
    straight = train(config, tmp_path / "straight")
    split = tmp_path / "split"
    train(config, split, overrides=("trainer.max_steps=10",))
    capsys.readouterr()
    train(config, split, resume=True)
    assert capsys.readouterr().err.splitlines() == ["trainer: resuming with a changed config: trainer.max_steps"]
    assert_same_tensors(
        load_checkpoint(straight / "checkpoints/step_20.pt")["model"], load_checkpoint(split / "checkpoints/step_20.pt")["model"]
    )


def test_dropout_makes_the_seed_matter(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    """Guards the resume tests against passing trivially: another seed gives other weights."""
    a = train(write_config("a.yaml"), tmp_path / "a")
    b = train(write_config("b.yaml", trainer={"seed": 12}), tmp_path / "b")
    assert not torch.equal(torch.load(a / "model.pt")["head.weight"], torch.load(b / "model.pt")["head.weight"])


def test_model_directory_and_log(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    out = train(write_config(trainer={"keep_last": 2, "average_last": 2}), tmp_path / "exp")
    assert {p.name for p in out.iterdir()} == {"config.yaml", "model.pt", "checkpoints", "train_log.jsonl", "stats.npz", "assets.sha256"}
    assert [p.name for p in list_checkpoints(out)] == ["step_15.pt", "step_20.pt"]
    # model.pt is the arithmetic mean of the last two checkpoints
    s15 = load_checkpoint(out / "checkpoints/step_15.pt")["model"]
    s20 = load_checkpoint(out / "checkpoints/step_20.pt")["model"]
    averaged = torch.load(out / "model.pt")
    for key in s20:
        torch.testing.assert_close(averaged[key], (s15[key] + s20[key]) / 2)
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["split"] == "train"]
    valid_steps = [r["step"] for r in records if r["split"] == "valid"]
    assert train_steps == [3, 6, 9, 12, 15, 18, 20]
    assert valid_steps == [7, 14, 20]
    first = records[0]
    assert {"step", "lr", "loss", "mae", "grad_norm", "elapsed", "epoch"} <= set(first)
    assert first["lr"] == pytest.approx(3e-3 * 3 / 4)  # rsqrt warmup at step 3 of 4
    losses = [r["loss"] for r in records if r["split"] == "train"]
    assert losses[-1] < losses[0]


def test_load_model_dir_reproduces_the_trained_model(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    out = train(write_config(), tmp_path / "exp")
    copied = tmp_path / "elsewhere"
    shutil.copytree(out, copied)
    shutil.rmtree(copied / "checkpoints")  # self-contained without checkpoints
    loaded = load_model_dir(copied, "cpu")
    assert not loaded.model.training
    reference_task = loaded.config.build_task()
    reference = reference_task.build_model()
    reference.load_state_dict(load_checkpoint(out / "checkpoints/step_20.pt")["model"])
    reference.eval()
    batch = reference_task.collate([reference_task.train_dataset()[i] for i in range(4)])
    mask = torch.arange(batch["x"].shape[1]) < batch["lengths"][:, None]
    with torch.inference_mode():
        assert torch.equal(loaded.model(batch["x"], mask), reference(batch["x"], mask))
    # predictions are de-standardised with the exported stats.npz
    x = torch.from_numpy(reference_task.train_dataset()[0][0])
    standardised = reference(x[None], torch.ones(1, len(x), dtype=torch.bool))[0].detach()
    expected = standardised * torch.from_numpy(reference_task.std) + torch.from_numpy(reference_task.mean)
    torch.testing.assert_close(loaded.task.predict(loaded.model, x), expected)


def test_resume_without_checkpoints_is_a_user_error(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    with pytest.raises(UserError, match="no checkpoint"):
        train(write_config(), tmp_path / "exp", resume=True)


def test_different_config_in_out_dir_needs_resume_or_new_dir(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(trainer={"max_steps": 5})
    out = train(config, tmp_path / "exp")
    with pytest.raises(UserError, match=r"optim\.lr.*--resume") as info:
        train(config, out, overrides=("optim.lr=0.01",))
    assert info.value.path == str(out / "config.yaml")
    with pytest.raises(UserError, match="already has checkpoints"):
        train(config, out)


def test_unknown_key_names_key_and_file(write_config: Callable[..., Path]) -> None:
    config = write_config(trainer={"max_step": 3})
    with pytest.raises(ConfigError, match=r"trainer\.max_step.*did you mean 'max_steps'") as info:
        load_experiment(config)
    assert info.value.path == str(config)
    with pytest.raises(ConfigError, match="unknown key 'optimizer'"):
        load_experiment(write_config("b.yaml", optimizer={"lr": 1}))
    with pytest.raises(ConfigError, match="model_conf.hiden"):
        load_experiment(write_config("c.yaml"), ["model_conf.hiden=3"])


def test_amp_request_is_ignored_on_cpu(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    with pytest.warns(UserWarning, match="only used on CUDA"):
        out = train(write_config(trainer={"amp": "bf16", "max_steps": 2}), tmp_path / "exp")
    assert (out / "model.pt").is_file()


def test_dataloader_workers_give_the_same_run(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    base = train(write_config("a.yaml", trainer={"max_steps": 6}), tmp_path / "a")
    workers = train(write_config("b.yaml", trainer={"max_steps": 6, "num_workers": 2}), tmp_path / "b")
    assert_same_tensors(torch.load(base / "model.pt"), torch.load(workers / "model.pt"))


def test_divergence_stops_with_a_clear_error(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(optim={"lr": 1e30}, scheduler={"name": "constant"}, trainer={"grad_clip": 0.0, "log_interval": 1})
    with pytest.raises(UserError, match="training diverged: loss is (nan|inf) at step"):
        train(config, tmp_path / "exp")
