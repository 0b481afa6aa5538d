"""speechtools.config: base inheritance, overrides, validation into dataclasses, error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Literal, Optional, Tuple, Union

import pytest
import yaml

from speechtools.config import from_dict, load_config, save_config, to_dict
from speechtools.errors import ConfigError


@dataclass
class ModelConf:
    hidden: int = 256
    dropout: float = 0.1
    kernel_sizes: List[int] = field(default_factory=lambda: [9, 1])
    act: Literal["relu", "gelu"] = "relu"
    norm: Optional[Literal["batch", "layer"]] = None


@dataclass
class OptimConf:
    lr: float = 1e-3
    betas: Tuple[float, float] = (0.9, 0.98)
    warmup: Optional[int] = None
    schedule: Union[int, Literal["auto"]] = "auto"


@dataclass
class ExpConf:
    task: str
    model: ModelConf = field(default_factory=ModelConf)
    optim: OptimConf = field(default_factory=OptimConf)
    max_steps: int = 1000
    resume: Optional[str] = None


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """conf/base.yaml <- egs/corpus/model/conf/train.yaml (relative base path)."""
    write(tmp_path / "conf" / "base.yaml", "task: tts\nmodel:\n  hidden: 256\n  dropout: 0.2\nmax_steps: 500\n")
    return write(
        tmp_path / "egs" / "corpus" / "model" / "conf" / "train.yaml",
        "base: ../../../../conf/base.yaml\nmodel:\n  hidden: 192\noptim:\n  lr: 0.002\n",
    )


def test_base_inheritance_with_relative_path(tree: Path) -> None:
    config = load_config(tree)
    assert config == {"task": "tts", "model": {"hidden": 192, "dropout": 0.2}, "max_steps": 500, "optim": {"lr": 0.002}}
    exp = from_dict(ExpConf, config)
    assert exp.model == ModelConf(hidden=192, dropout=0.2)
    assert exp.optim.lr == 0.002 and exp.max_steps == 500


def test_several_bases_later_wins(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "task: a\nmodel: {hidden: 1, act: gelu}\n")
    write(tmp_path / "b.yaml", "task: b\nmodel: {hidden: 2}\n")
    child = write(tmp_path / "sub" / "c.yaml", "base: [../a.yaml, ../b.yaml]\nmax_steps: 3\n")
    config = load_config(child)
    assert config == {"task": "b", "model": {"hidden": 2, "act": "gelu"}, "max_steps": 3}


def test_overrides_are_typed_and_applied_last(tree: Path) -> None:
    config = load_config(tree, ["model.hidden=384", "optim.lr=1e-4", "optim.betas=[0.8, 0.99]", "resume=exp/x"])
    exp = from_dict(ExpConf, config)
    assert exp.model.hidden == 384
    assert exp.optim.lr == pytest.approx(1e-4)
    assert exp.optim.betas == (0.8, 0.99)
    assert exp.resume == "exp/x"
    assert config.origin("model.hidden") == "--set"
    assert config.origin("model.dropout") == str((tree.parent / "../../../../conf/base.yaml").resolve())


def test_override_creates_mapping_and_rejects_bad_forms(tree: Path) -> None:
    assert load_config(tree, ["trainer.log_every=10"])["trainer"] == {"log_every": 10}
    with pytest.raises(ConfigError, match="not of the form"):
        load_config(tree, ["model.hidden"])
    with pytest.raises(ConfigError, match="'max_steps' is not a mapping"):
        load_config(tree, ["max_steps.x=1"])


def test_unknown_key_names_key_file_and_suggestion(tree: Path) -> None:
    write(tree, tree.read_text().replace("  hidden: 192\n", "  hidden: 192\n  hiden: 3\n"))
    with pytest.raises(ConfigError) as err:
        from_dict(ExpConf, load_config(tree))
    assert err.value.path == str(tree.resolve())
    assert "unknown key 'model.hiden'" in err.value.message
    assert "did you mean 'hidden'?" in err.value.message


def test_unknown_key_in_base_names_the_base_file(tree: Path) -> None:
    base = tree.parent / "../../../../conf/base.yaml"
    write(base, base.read_text() + "max_stpes: 3\n")
    with pytest.raises(ConfigError) as err:
        from_dict(ExpConf, load_config(tree))
    assert err.value.path == str(base.resolve())
    assert "unknown key 'max_stpes' (did you mean 'max_steps'?)" in err.value.message


def test_unknown_key_from_override_names_set(tree: Path) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(ExpConf, load_config(tree, ["optim.lrr=1"]))
    assert err.value.path == "--set"
    assert "'optim.lrr' (did you mean 'lr'?)" in err.value.message


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.hidden=abc", "model.hidden: expected an integer, got 'abc'"),
        ("model.hidden=1.5", "model.hidden: expected an integer, got 1.5"),
        ("model.act=tanh", "model.act: 'tanh' is not one of 'relu', 'gelu'"),
        ("model.kernel_sizes=3", "model.kernel_sizes: expected a list, got 3"),
        ("optim.betas=[0.9]", "optim.betas: expected 2 items, got 1"),
        ("optim.lr=fast", "optim.lr: expected a number, got 'fast'"),
        ("model=3", "model: expected a mapping, got 3"),
        ("optim.warmup=soon", "optim.warmup: expected an integer, got 'soon' (or null)"),
        ("model.norm=group", "model.norm: 'group' is not one of 'batch', 'layer' (or null)"),
        ("optim.schedule=[1]", "optim.schedule: [1] is not a valid int | 'auto'"),
    ],
)
def test_type_errors(tree: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(ExpConf, load_config(tree, [override]))
    assert err.value.message == message
    assert err.value.path == "--set"


def test_type_error_in_file_names_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "task: tts\nmax_steps: many\n")
    with pytest.raises(ConfigError) as err:
        from_dict(ExpConf, load_config(path))
    assert str(err.value) == f"{path.resolve()}: max_steps: expected an integer, got 'many'"


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "max_steps: 3\n")
    with pytest.raises(ConfigError, match="missing required key"):
        from_dict(ExpConf, load_config(path))


def test_circular_base(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "base: b.yaml\ntask: a\n")
    write(tmp_path / "b.yaml", "base: a.yaml\ntask: b\n")
    with pytest.raises(ConfigError, match="circular base"):
        load_config(tmp_path / "a.yaml")


def test_missing_base_and_bad_yaml_name_the_file(tmp_path: Path) -> None:
    child = write(tmp_path / "c.yaml", "base: nowhere.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_config(child)
    assert err.value.path == str((tmp_path / "nowhere.yaml").resolve())
    bad = write(tmp_path / "bad.yaml", "task: tts\nmodel: [1,\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert err.value.path == str(bad.resolve()) and err.value.line is not None


def test_save_and_reload_round_trip(tree: Path, tmp_path: Path) -> None:
    exp = from_dict(ExpConf, load_config(tree, ["model.act=gelu"]))
    (tmp_path / "out").mkdir()  # the writer creates no folders (a missing one is a user error)
    save_config(exp, tmp_path / "out" / "config.yaml")
    again = from_dict(ExpConf, load_config(tmp_path / "out" / "config.yaml"))
    assert again == exp
    assert to_dict(again)["optim"]["betas"] == [0.9, 0.98]


@pytest.mark.parametrize("override, message", [
    ("optim.lr=.nan", "optim.lr: expected a finite number, got nan"),
    ("optim.lr=inf", "optim.lr: expected a finite number"),
    ("model_conf.encoder.dropout=1.5", "model_conf.encoder: dropout must lie in [0, 1), got 1.5"),
    ("model_conf.dim=0", "model_conf: dim must be >= 1, got 0"),
    ("model_conf.adaptor.duration.channels=0", "model_conf.adaptor.duration: channels must be >= 1, got 0"),
    ("model_conf.encoder.ffn_kernels=[4,1]", "ffn_kernels must be odd"),
])
def test_model_and_optimiser_values_are_validated_where_they_enter(override: str, message: str) -> None:
    from speechtools.train.experiment import load_experiment

    conf = Path(__file__).resolve().parents[1] / "conf" / "tts" / "fastspeech2.yaml"
    with pytest.raises(ConfigError) as info:
        load_experiment(conf, [override])
    assert message in str(info.value), str(info.value)


@pytest.mark.parametrize("model, override", [
    ("transformer_corrector", "model_conf.dropout=1.0"), ("fastcorrect", "model_conf.n_heads=0"),
    ("transformer_tts", "model_conf.prenet_dropout=-0.1"), ("aligner", "model_conf.temperature=0"),
    ("lightspeech", "model_conf.filter_size=0"), ("musicbert", "model_conf.dropout=1.5"),
])
def test_every_model_config_rejects_a_bad_size_or_probability(model: str, override: str) -> None:
    from speechtools.config import Config
    from speechtools.models import MODELS

    key, value = override.split("=")
    with pytest.raises(ConfigError):
        from_dict(MODELS.get(model).config, {key.split(".", 1)[1]: yaml.safe_load(value)}, "model_conf", Config({}))


def test_a_duplicate_key_is_an_error_naming_the_key_and_both_lines(tmp_path: Path) -> None:
    conf = write(tmp_path / "dup.yaml", "task: tts\nmodel:\n  hidden: 192\n  dropout: 0.1\n  hidden: 256\n")
    with pytest.raises(ConfigError) as err:
        load_config(conf)
    assert str(err.value) == f"{conf.resolve()}:5: duplicate key 'hidden' (first on line 3)"
    child = write(tmp_path / "child.yaml", "base: dup.yaml\nmax_steps: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(child)  # found in a base file too
    assert str(err.value) == f"{conf.resolve()}:5: duplicate key 'hidden' (first on line 3)"
    with pytest.raises(ConfigError, match=r"override 'model=\{a: 1, a: 2\}': duplicate key 'a'"):
        load_config(write(tmp_path / "ok.yaml", "task: tts\n"), ["model={a: 1, a: 2}"])


def test_yaml_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    conf = write(tmp_path / "merge.yaml", "defaults: &d\n  hidden: 1\n  dropout: 0.5\nmodel:\n  <<: *d\n  hidden: 2\n")
    assert load_config(conf)["model"] == {"hidden": 2, "dropout": 0.5}


def test_a_duplicate_key_through_the_cli_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from speechtools.cli.main import main

    conf = write(tmp_path / "feats.yaml", "sample_rate: 22050\nn_fft: 1024\nhop_length: 256\nn_fft: 2048\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text("a a.wav\n")
    with pytest.raises(SystemExit) as info:
        main(["extract-feats", str(data), str(tmp_path / "dump"), "--conf", str(conf)])
    out, err = capsys.readouterr()
    assert (info.value.code, out) == (1, "")
    assert err.splitlines() == [f"error: {conf.resolve()}:4: duplicate key 'n_fft' (first on line 2)"]
