"""A model directory whose assets were replaced, truncated or removed refuses to load, naming the file."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Callable

import pytest

from speechtools.errors import UserError
from speechtools.train.experiment import load_experiment
from speechtools.train.model_dir import load_model_dir
from speechtools.train.trainer import Trainer


@pytest.fixture
def model_dir(tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    return Trainer(load_experiment(write_config(trainer={"max_steps": 2})), tmp_path / "exp", device="cpu", show_progress=False).run()


def test_the_manifest_lists_the_exported_assets_in_sha256sum_format(model_dir: Path) -> None:
    digest = hashlib.sha256((model_dir / "stats.npz").read_bytes()).hexdigest()
    assert (model_dir / "assets.sha256").read_text() == f"{digest}  stats.npz\n"
    assert load_model_dir(model_dir, "cpu").model is not None


def test_a_replaced_truncated_or_missing_asset_is_named(model_dir: Path, tmp_path: Path) -> None:
    stats = model_dir / "stats.npz"
    original = stats.read_bytes()
    stats.write_bytes(original[: len(original) // 2])
    with pytest.raises(UserError, match="stats.npz differs from the file the model was trained with") as info:
        load_model_dir(model_dir, "cpu")
    assert info.value.path == str(stats)
    stats.unlink()
    with pytest.raises(UserError, match="asset stats.npz of this model directory is missing"):
        load_model_dir(model_dir, "cpu")
    # without a manifest (a directory from before it existed) a truncated file is still a named error, not a traceback
    stats.write_bytes(original[: len(original) // 2])
    (model_dir / "assets.sha256").unlink()
    with pytest.raises(UserError, match=r"cannot read target statistics .*truncated or not a .npz file") as info:
        load_model_dir(model_dir, "cpu")
    assert info.value.path == str(stats)


def test_a_correction_model_refuses_another_token_list(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from speechtools.cli.main import main

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "correction" / "kathleen_pairs.tsv"
    conf = Path(__file__).resolve().parents[2] / "conf" / "correction" / "fastcorrect_tiny.yaml"
    tokens = tmp_path / "tokens.txt"
    with pytest.raises(SystemExit):
        main(["correct", "vocab", "--lang", "en", str(fixture), str(tokens)])
    out = tmp_path / "fc"
    with pytest.raises(SystemExit) as info:
        main(["train", "--config", str(conf), "--out-dir", str(out), "--device", "cpu", "--quiet", "--set", f"task_conf.train=[{fixture}]",
              "--set", f"task_conf.tokens={tokens}", "--set", "trainer.max_steps=1"])
    assert info.value.code == 0
    (tmp_path / "hyp.txt").write_text("the dog ran home\n")
    vocab = (out / "tokens.txt").read_text().splitlines()
    (out / "tokens.txt").write_text("\n".join(vocab[:4] + vocab[5:] + [vocab[4]]) + "\n")  # same tokens, other ids
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["correct-asr", "--model-dir", str(out), "--device", "cpu", "--quiet", str(tmp_path / "hyp.txt"), str(tmp_path / "out.txt")])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {out / 'tokens.txt'}: tokens.txt differs from the file the model was trained with "
                   "(checksum in assets.sha256); restore the model directory's own copy"]
    assert not (tmp_path / "out.txt").exists()


def test_a_checkpoint_snapshot_is_a_self_contained_model_directory(tmp_path: Path, write_config: Callable[..., Path], capsys) -> None:
    import torch

    from speechtools.cli.main import main
    from speechtools.train.checkpoint import load_checkpoint

    out = Trainer(load_experiment(write_config(trainer={"max_steps": 6, "save_interval": 3, "ema_decay": 0.5})), tmp_path / "exp",
                  device="cpu", show_progress=False).run()
    snap = tmp_path / "snap"
    with pytest.raises(SystemExit) as info:
        main(["average-checkpoints", "--model-dir", str(out), "--ema", "--out-dir", str(snap), str(out / "checkpoints" / "step_3.pt")])
    assert info.value.code == 0
    assert sorted(p.name for p in snap.iterdir()) == ["assets.sha256", "config.yaml", "model.pt", "stats.npz"]
    ema = load_checkpoint(out / "checkpoints" / "step_3.pt")["ema"]
    assert all(torch.equal(v, ema[k]) for k, v in torch.load(snap / "model.pt").items())
    shutil.rmtree(out / "checkpoints")
    assert load_model_dir(snap, "cpu").model is not None  # loads on its own
