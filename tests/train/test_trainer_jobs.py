"""Training-time jobs the trainer owns: init_from, freeze/trainable, set_num_updates, EMA, several optimisers.

Each is checked against a hand computation or an independent run, and each resumes bit for bit
(a run split at step 10 and resumed equals the straight run).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
import torch
import yaml
from torch import nn

from speechtools.errors import ConfigError, UserError
from speechtools.models import MODELS
from speechtools.tasks import TASKS
from speechtools.tasks.base import LossStats
from speechtools.train.checkpoint import load_checkpoint
from speechtools.train.experiment import load_experiment
from speechtools.train.model_dir import load_model_dir
from speechtools.train.trainer import Trainer

from toy_regression import ToyRegressionConfig, ToyRegressionTask, ToyRegressor, ToyRegressorConfig  # the examples/ plugin


def train(config: Path, out_dir: Path, resume: bool = False, overrides: tuple = ()) -> Path:
    return Trainer(load_experiment(config, overrides), out_dir, device="cpu", resume=resume, show_progress=False).run()


def assert_same(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def split_run(config: Path, tmp_path: Path, overrides: tuple = ()) -> Tuple[Path, Path]:
    """The same run straight and as 10 steps + --resume to 20."""
    straight = train(config, tmp_path / "straight", overrides=overrides)
    split = tmp_path / "split"
    train(config, split, overrides=overrides + ("trainer.max_steps=10",))
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        train(config, split, resume=True, overrides=overrides)
    assert any(line.startswith("trainer: resuming with a changed config") for line in stderr.getvalue().splitlines())
    return straight, split


# ---------------------------------------------------------------- init_from
def test_init_from_loads_included_weights_reports_them_and_needs_no_source_at_inference(
    tmp_path: Path, write_config: Callable[..., Path], capsys: pytest.CaptureFixture
) -> None:
    source = train(write_config("pre.yaml", trainer={"max_steps": 5}), tmp_path / "pre")
    pre = torch.load(source / "model.pt")
    config = write_config(trainer={"max_steps": 1, "init_from": {"path": str(source), "exclude": ["head.*"]}},
                          optim={"name": "adamw", "lr": 1e-9, "weight_decay": 0.0})
    out = train(config, tmp_path / "fine")
    err = capsys.readouterr().err
    assert f"init_from {source}: loaded 4 tensors; missing 0; unexpected 0; shape-mismatched 0" in err
    first = load_checkpoint(out / "checkpoints/step_1.pt")["model"]
    torch.testing.assert_close(first["conv1.weight"], pre["conv1.weight"], atol=1e-6, rtol=0)  # loaded (lr ~ 0)
    assert not torch.allclose(first["head.weight"], pre["head.weight"])  # excluded: the fresh initialisation
    shutil.rmtree(source)  # inference never needs the pre-training directory
    assert load_model_dir(out, "cpu").model is not None


def test_init_from_strict_and_non_strict_on_a_wider_model(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    source = train(write_config("pre.yaml", trainer={"max_steps": 2}), tmp_path / "pre")
    wider = {"model_conf": {"hidden": 24, "dropout": 0.2}, "trainer": {"max_steps": 1, "init_from": {"path": str(source / "model.pt")}}}
    with pytest.raises(UserError, match=r"strict.*loaded 1 tensors; missing 0; unexpected 0; shape-mismatched 5 \(conv1.weight"):
        train(write_config("a.yaml", **wider), tmp_path / "a")
    wider["trainer"]["init_from"]["strict"] = False
    out = train(write_config("b.yaml", **wider), tmp_path / "b")  # only head.bias (output size 2) fits
    wider["trainer"]["init_from"]["exclude"] = ["head.bias"]
    with pytest.raises(UserError, match="no weight of this source fits"):
        train(write_config("b2.yaml", **wider), tmp_path / "b2")
    # a training checkpoint works as a source too, and a pattern that matches nothing is named
    config = write_config("c.yaml", trainer={"max_steps": 1, "init_from": {"path": str(source / "checkpoints/step_2.pt"), "include": ["conv*"]}})
    train(config, tmp_path / "c")
    with pytest.raises(UserError, match="trainer.init_from.include: pattern 'encoder.*' matches no parameter"):
        train(write_config("d.yaml", trainer={"max_steps": 1, "init_from": {"path": str(source), "include": ["encoder.*"]}}), tmp_path / "d")


def test_init_from_is_not_reapplied_on_resume(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    source = train(write_config("pre.yaml", trainer={"max_steps": 3}), tmp_path / "pre")
    config = write_config(trainer={"init_from": {"path": str(source)}})
    straight, split = split_run(config, tmp_path)
    assert_same(torch.load(straight / "model.pt"), torch.load(split / "model.pt"))


# ---------------------------------------------------------------- freeze / trainable
def initial_weights(config: Path) -> Dict[str, torch.Tensor]:
    """The weights a run of ``config`` starts from (the trainer seeds with trainer.seed, 11, then builds the model)."""
    torch.manual_seed(11)
    return load_experiment(config).build_task().build_model().state_dict()


def test_freeze_and_trainable_patterns(tmp_path: Path, write_config: Callable[..., Path], capsys: pytest.CaptureFixture) -> None:
    config = write_config(trainer={"max_steps": 4, "trainable": ["head.*", "conv2.*"], "freeze": ["conv2.bias"]})
    out = train(config, tmp_path / "a")
    err = capsys.readouterr().err
    model = ToyRegressor(4, 2, ToyRegressorConfig(hidden=16))
    expected = model.head.weight.numel() + model.head.bias.numel() + model.conv2.weight.numel()
    total = sum(p.numel() for p in model.parameters())
    assert f"trainable parameters: {expected:,} of {total:,}" in err
    final = load_checkpoint(out / "checkpoints/step_4.pt")["model"]
    init = initial_weights(config)
    for name in ("conv1.weight", "conv1.bias", "conv2.bias"):
        assert torch.equal(final[name], init[name]), name  # frozen: never moved (AdamW's decay included)
    for name in ("head.weight", "conv2.weight"):
        assert not torch.equal(final[name], init[name]), name
    with pytest.raises(UserError, match=r"trainer.freeze: pattern 'conv3.\*' matches no parameter"):
        train(write_config("b.yaml", trainer={"max_steps": 1, "freeze": ["conv3.*"]}), tmp_path / "b")
    with pytest.raises(UserError, match="leave no parameter to train"):
        train(write_config("c.yaml", trainer={"max_steps": 1, "freeze": ["*"]}), tmp_path / "c")


def test_frozen_run_resumes_bit_for_bit(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    straight, split = split_run(write_config(trainer={"freeze": ["conv1.*"]}), tmp_path)
    assert_same(torch.load(straight / "model.pt"), torch.load(split / "model.pt"))


# ---------------------------------------------------------------- set_num_updates
class CountingRegressor(ToyRegressor):
    """Records the update count the trainer passes before each forward."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.num_updates = -1
        self.seen: List[int] = []

    def set_num_updates(self, num_updates: int) -> None:
        self.num_updates = num_updates

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(self.num_updates)
        return super().forward(x, mask)


MODELS.register("counting_regressor", config=ToyRegressorConfig)(CountingRegressor)


def test_update_count_reaches_the_model_and_the_task_and_survives_resume(
    tmp_path: Path, write_config: Callable[..., Path], capsys: pytest.CaptureFixture
) -> None:
    config = write_config(model="counting_regressor", trainer={"max_steps": 6, "accum_grad": 2})
    trainer = Trainer(load_experiment(config), tmp_path / "a", device="cpu", show_progress=False)
    trainer.run()
    assert trainer.model.seen == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # per update, not per micro-batch
    resumed = Trainer(load_experiment(config, ["trainer.max_steps=8"]), tmp_path / "a", device="cpu", resume=True, show_progress=False)
    capsys.readouterr()
    resumed.run()
    assert any(line.startswith("trainer: resuming with a changed config") for line in capsys.readouterr().err.splitlines())
    assert resumed.model.seen == [6, 6, 7, 7]


# ---------------------------------------------------------------- EMA
def test_ema_follows_its_formula_and_becomes_model_pt(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    decay = 0.75
    out = train(write_config(trainer={"max_steps": 3, "save_interval": 1, "ema_decay": decay}), tmp_path / "ema")
    plain = train(write_config("p.yaml", trainer={"max_steps": 3, "save_interval": 1}), tmp_path / "plain")
    steps = [load_checkpoint(out / f"checkpoints/step_{s}.pt") for s in (1, 2, 3)]
    expected = initial_weights(write_config("i.yaml"))
    for ckpt in steps:  # ema_s = d * ema_{s-1} + (1 - d) * w_s, ema_0 = the initial weights
        for k in expected:
            expected[k] = decay * expected[k] + (1 - decay) * ckpt["model"][k]
        for k in expected:
            torch.testing.assert_close(ckpt["ema"][k], expected[k], atol=1e-6, rtol=1e-5)
    assert_same(torch.load(out / "model.pt"), steps[-1]["ema"])
    # the EMA changes nothing about the raw training trajectory
    assert_same(steps[-1]["model"], load_checkpoint(plain / "checkpoints/step_3.pt")["model"])


def test_ema_resumes_bit_for_bit(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    straight, split = split_run(write_config(trainer={"ema_decay": 0.9}), tmp_path)
    assert_same(load_checkpoint(straight / "checkpoints/step_20.pt")["ema"], load_checkpoint(split / "checkpoints/step_20.pt")["ema"])
    assert_same(torch.load(straight / "model.pt"), torch.load(split / "model.pt"))


def test_bad_ema_decay_is_a_config_error(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match="ema_decay must lie in"):
        load_experiment(write_config(trainer={"ema_decay": 1.0}))


# ---------------------------------------------------------------- several optimisers (GAN-style)
class AdversarialRegressor(nn.Module):
    """A regressor (generator) and a critic that tells its outputs from the targets."""

    def __init__(self, input_dim: int, output_dim: int, conf: ToyRegressorConfig) -> None:
        super().__init__()
        self.generator = ToyRegressor(input_dim, output_dim, conf)
        self.critic = nn.Sequential(nn.Linear(output_dim, conf.hidden), nn.Dropout(conf.dropout), nn.Tanh(), nn.Linear(conf.hidden, 1))

    @classmethod
    def build_model(cls, conf: ToyRegressorConfig, task: Any) -> "AdversarialRegressor":
        return cls(task.input_dim, task.output_dim, conf)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor) -> Dict[str, torch.Tensor]:
        fake = self.generator(x, mask)
        return {"fake": fake, "critic_fake": self.critic(fake.detach()), "critic_real": self.critic(y), "critic_on_fake": self.critic(fake)}


@dataclass
class AdversarialConfig(ToyRegressionConfig):
    """The toy data plus the weight of the adversarial term."""

    adversarial_weight: float = 0.1


class AdversarialTask(ToyRegressionTask):
    """Critic step then generator step on the same micro-batches (least-squares GAN losses)."""

    optimizers = ("critic", "generator")

    def parameter_groups(self, model: nn.Module) -> Dict[str, List[nn.Parameter]]:
        return {"critic": list(model.critic.parameters()), "generator": list(model.generator.parameters())}

    def compute_loss(self, model: nn.Module, batch: Dict[str, Any], optimizer: str = "generator") -> Tuple[torch.Tensor, LossStats]:
        mask = torch.arange(batch["x"].shape[1]) < batch["lengths"][:, None]
        out = model(batch["x"], mask, batch["y"])
        valid = mask.unsqueeze(-1).float()
        frames = valid.sum()
        if optimizer == "critic":
            loss = (((out["critic_real"] - 1) ** 2 + out["critic_fake"] ** 2) * valid).sum() / frames
            return loss, {"real": ((out["critic_real"] * valid).sum() / frames).detach()}
        mse = (((out["fake"] - batch["y"]) ** 2) * valid).sum() / frames / out["fake"].shape[-1]
        adversarial = (((out["critic_on_fake"] - 1) ** 2) * valid).sum() / frames
        return mse + self.conf.adversarial_weight * adversarial, {"mse": mse.detach()}


MODELS.register("adversarial_regressor", config=ToyRegressorConfig)(AdversarialRegressor)
TASKS.register("toy_adversarial", config=AdversarialConfig)(AdversarialTask)

ADVERSARIAL_OPTIM = {"critic": {"name": "adam", "lr": 1e-3}, "generator": {"name": "adamw", "lr": 3e-3}}
ADVERSARIAL_SCHEDULER = {"generator": {"name": "rsqrt", "warmup_steps": 4}}


def adversarial_config(write_config: Callable[..., Path], name: str = "adv.yaml", optim: Any = ADVERSARIAL_OPTIM,
                       scheduler: Any = ADVERSARIAL_SCHEDULER, **blocks: Any) -> Path:
    """The toy config (accum_grad 2, grad_clip 1, dropout, shuffled batches) on the adversarial task, optim/scheduler replaced."""
    path = write_config(name, **blocks)
    data = yaml.safe_load(path.read_text())
    data.update(task="toy_adversarial", model="adversarial_regressor", optim=optim, scheduler=scheduler)
    path.write_text(yaml.safe_dump(data))
    return path


def test_two_optimisers_resume_bit_for_bit_with_accumulation_and_clipping(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    straight, split = split_run(adversarial_config(write_config), tmp_path)
    a, b = (load_checkpoint(d / "checkpoints/step_20.pt") for d in (straight, split))
    assert_same(a["model"], b["model"])
    for name in ("critic", "generator"):
        assert a["optimizers"][name]["optimizer"]["param_groups"] == b["optimizers"][name]["optimizer"]["param_groups"]
        assert a["optimizers"][name]["scheduler"]["last_epoch"] == b["optimizers"][name]["scheduler"]["last_epoch"] == 20
        for pid, state in a["optimizers"][name]["optimizer"]["state"].items():
            for k, v in state.items():
                assert torch.equal(v, b["optimizers"][name]["optimizer"]["state"][pid][k]), (name, pid, k)
    assert_same(torch.load(straight / "model.pt"), torch.load(split / "model.pt"))
    first = json.loads((straight / "train_log.jsonl").read_text().splitlines()[0])
    assert {"critic_lr", "generator_lr", "critic_loss", "generator_loss", "critic_real", "generator_mse",
            "critic_grad_norm", "generator_grad_norm", "loss"} <= set(first)
    assert first["critic_lr"] == pytest.approx(1e-3) and first["generator_lr"] == pytest.approx(3e-3 * 3 / 4)
    assert first["loss"] == pytest.approx(first["critic_loss"] + first["generator_loss"])


def test_each_optimiser_moves_only_its_own_parameters(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    still_critic = {"critic": {"name": "adam", "lr": 1e-12}, "generator": {"name": "adam", "lr": 1e-3}}
    config = adversarial_config(write_config, optim=still_critic, scheduler={}, trainer={"max_steps": 3})
    out = train(config, tmp_path / "a")
    init = initial_weights(config)
    final = load_checkpoint(out / "checkpoints/step_3.pt")["model"]
    for key in final:
        moved = not torch.allclose(final[key], init[key], atol=1e-8, rtol=0)
        assert moved == key.startswith("generator."), key


def test_optimiser_blocks_are_validated_per_name(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match=r"missing required key\(s\): optim.generator"):
        load_experiment(adversarial_config(write_config, optim={"critic": {"lr": 1e-3}}))
    with pytest.raises(ConfigError, match=r"unknown key 'optim\.(name|lr)': this task's optimisers are critic, generator"):
        load_experiment(adversarial_config(write_config, optim={"name": "adam", "lr": 1e-3}))
    with pytest.raises(ConfigError, match="unknown key 'optim.critic.lrr'"):
        load_experiment(adversarial_config(write_config, optim={"critic": {"lrr": 1e-3}, "generator": {}}))
