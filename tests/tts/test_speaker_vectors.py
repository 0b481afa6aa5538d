"""External speaker vectors (x-/d-vectors) in the NAR TTS backbone: parameter count of the paper's
LightSpeech, the "add" integration, the ``spk_vectors.scp`` data path, training and ``synth --speaker-vector``."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from speechtools.cli.synth import synth
from speechtools.config import from_dict, load_config
from speechtools.errors import ConfigError, UserError
from speechtools.models.fastspeech import FastSpeech, FastSpeechConfig
from speechtools.models.fastspeech2 import FastSpeech2, FastSpeech2Config
from speechtools.models.lightspeech import LightSpeech, LightSpeechConfig
from speechtools.nn.fft_block import FFTStackConfig
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig
from speechtools.datasets.tts import read_speaker_vectors
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer
from tiny_tts import FEATS_CONF, REPO

PAPER_PARAMS = 1.8e6  # LightSpeech, Table 2 (LJSpeech)
PAPER_VOCAB = 76
WITHOUT_VECTORS = 1_704_531  # test_lightspeech.analytic_count(76)


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_paper_config_counts_the_authors_speaker_projection():
    conf = from_dict(LightSpeechConfig, load_config(REPO / "conf" / "tts" / "lightspeech.yaml")["model_conf"])
    assert conf.speaker_vector_dim == 256
    n = count(LightSpeech(conf, vocab_size=PAPER_VOCAB, n_mels=80))
    assert n == WITHOUT_VECTORS + 256 * 256 + 256 == 1_770_323
    assert abs(n - PAPER_PARAMS) / PAPER_PARAMS < 0.05
    conf.speaker_vector_dim = 0
    assert count(LightSpeech(conf, vocab_size=PAPER_VOCAB, n_mels=80)) == WITHOUT_VECTORS


def _tiny(name: str, speaker_vector_dim: int) -> torch.nn.Module:
    pred = PredictorConfig(layers=2, channels=16, kernel_size=3, dropout=0.0)
    if name == "lightspeech":
        adaptor = VarianceAdaptorConfig(level="frame", use_energy=False, bins=8, separable=True, duration=pred, pitch=pred)
        conf = LightSpeechConfig(dim=16, dropout=0.0, adaptor=adaptor, speaker_vector_dim=speaker_vector_dim)
        return LightSpeech(conf, vocab_size=20, n_mels=6)
    stack = FFTStackConfig(layers=1, dim=16, heads=2, ffn_hidden=32, dropout=0.0, attention_dropout=0.0)
    if name == "fastspeech2":
        adaptor = VarianceAdaptorConfig(duration=pred, pitch=pred, energy=pred)
        conf2 = FastSpeech2Config(dim=16, encoder=stack, decoder=stack, adaptor=adaptor, speaker_vector_dim=speaker_vector_dim)
        return FastSpeech2(conf2, vocab_size=20, n_mels=6)
    adaptor = VarianceAdaptorConfig(use_pitch=False, use_energy=False, duration=pred)
    conf1 = FastSpeechConfig(dim=16, encoder=stack, decoder=stack, adaptor=adaptor, speaker_vector_dim=speaker_vector_dim)
    return FastSpeech(conf1, vocab_size=20, n_mels=6)


TOKENS = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
LENGTHS = torch.tensor([5, 3])
DURATIONS = torch.tensor([[1, 2, 3, 1, 2], [2, 2, 1, 0, 0]])


@pytest.mark.parametrize("name", ["lightspeech", "fastspeech2", "fastspeech"])
def test_vectors_are_projected_and_added(name):
    torch.manual_seed(0)
    model = _tiny(name, speaker_vector_dim=8).eval()
    assert isinstance(model.speaker_vector_proj, torch.nn.Linear) and model.speaker_vector_proj.in_features == 8
    assert _tiny(name, speaker_vector_dim=0).speaker_vector_proj is None
    vectors = torch.randn(2, 8)
    with torch.inference_mode():
        plain = model(TOKENS, LENGTHS, durations=DURATIONS)["mel"]
        with_vectors = model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=vectors)["mel"]
        other = model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=torch.randn(2, 8))["mel"]
        assert not torch.allclose(with_vectors, plain) and not torch.allclose(with_vectors, other)
        # A zero vector contributes the projection's bias only: with the bias zeroed it is no vector at all...
        zero = torch.zeros(2, 8)
        bias = model.speaker_vector_proj.bias.clone()
        model.speaker_vector_proj.bias.zero_()
        torch.testing.assert_close(model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=zero)["mel"], plain)
        # ...and with the weight zeroed every vector gives the zero vector's (bias-only) output.
        model.speaker_vector_proj.bias.copy_(bias)
        model.speaker_vector_proj.weight.zero_()
        bias_only = model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=zero)["mel"]
        torch.testing.assert_close(model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=vectors)["mel"], bias_only)
        assert not torch.allclose(bias_only, plain)


@pytest.mark.parametrize("name", ["lightspeech", "fastspeech2"])
def test_padded_batch_equals_each_item_alone(name):
    torch.manual_seed(1)
    model = _tiny(name, speaker_vector_dim=8).eval()
    vectors = torch.randn(2, 8)
    with torch.inference_mode():
        batch = model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=vectors)
        free = model(TOKENS, LENGTHS, speaker_vectors=vectors)
        for b in range(2):
            n, t = int(LENGTHS[b]), int(DURATIONS[b].sum())
            alone = model(TOKENS[b:b + 1, :n], LENGTHS[b:b + 1], durations=DURATIONS[b:b + 1, :n], speaker_vectors=vectors[b:b + 1])
            torch.testing.assert_close(batch["mel"][b, :t], alone["mel"][0], atol=1e-5, rtol=1e-4)
            assert batch["mel"][b, t:].abs().sum() == 0
            free_alone = model(TOKENS[b:b + 1, :n], LENGTHS[b:b + 1], speaker_vectors=vectors[b:b + 1])
            assert free["durations"][b, :n].tolist() == free_alone["durations"][0].tolist()


def test_wrong_vectors_are_value_errors():
    with pytest.raises(ValueError, match="takes no speaker vectors"):
        _tiny("lightspeech", 0)(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=torch.zeros(2, 8))
    model = _tiny("lightspeech", 8)
    with pytest.raises(ValueError, match=r"shape \(batch=2, 8\), got \(2, 6\)"):
        model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"got \(8,\)"):
        model(TOKENS, LENGTHS, durations=DURATIONS, speaker_vectors=torch.zeros(8))
    with pytest.raises(ValueError, match="speaker_vector_dim must be >= 0"):
        LightSpeechConfig(speaker_vector_dim=-1)


def _write_vectors(data: Path, uttids, dim: int, seed: int = 0) -> None:
    """``spk_vectors.scp`` with relative paths; the last two utterances share one file."""
    rng = np.random.default_rng(seed)
    (data / "xvec").mkdir(exist_ok=True)
    lines = []
    for i, uttid in enumerate(uttids):
        name = f"xvec/{uttid}.npy" if i < len(uttids) - 1 else f"xvec/{uttids[-2]}.npy"
        if i < len(uttids) - 1:
            np.save(data / name, rng.standard_normal(dim).astype(np.float32))
        lines.append(f"{uttid} {name}\n")
    (data / "spk_vectors.scp").write_text("".join(lines))


def test_reading_spk_vectors_scp_and_its_errors(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(UserError, match="missing spk_vectors.scp") as exc:
        read_speaker_vectors(data, ["a"], 4)
    assert exc.value.path == str(data / "spk_vectors.scp")
    _write_vectors(data, ["a", "b", "c"], 4)
    vectors = read_speaker_vectors(data, ["a", "b", "c"], 4)
    np.testing.assert_array_equal(vectors["a"], np.load(data / "xvec" / "a.npy"))
    np.testing.assert_array_equal(vectors["c"], vectors["b"])
    assert vectors["a"].dtype == np.float32
    with pytest.raises(UserError, match="no speaker vector for utterance 'd'"):
        read_speaker_vectors(data, ["a", "d"], 4)
    with pytest.raises(UserError, match=r"has shape \(4,\), the model expects \(5,\)") as exc:
        read_speaker_vectors(data, ["b"], 5)
    assert (exc.value.path, exc.value.line) == (str(data / "spk_vectors.scp"), 2)
    np.save(data / "xvec" / "b.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(UserError, match=r"shape \(2, 2\)"):
        read_speaker_vectors(data, ["b"], 4)
    (data / "xvec" / "a.npy").write_text("not numpy")
    with pytest.raises(UserError, match="cannot read speaker vector") as exc:
        read_speaker_vectors(data, ["a"], 4)
    assert exc.value.line == 1
    np.save(data / "xvec" / "a.npy", np.array([1, 2, 3, 4]))
    with pytest.raises(UserError, match="expected float"):
        read_speaker_vectors(data, ["a"], 4)
    np.save(data / "xvec" / "a.npy", np.array([1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(UserError, match="non-finite"):
        read_speaker_vectors(data, ["a"], 4)


XVEC_DIM = 8


def _experiment_yaml(root: Path, train: Path, speaker_vector_dim: int, out: Path) -> Path:
    out.write_text(
        f"base: {REPO / 'conf' / 'tts' / 'lightspeech_tiny.yaml'}\n"
        "task_conf:\n"
        f"  train_data: {train}\n  train_feats: {root / 'dump'}\n"
        f"  token_list: {root / 'tokens.txt'}\n  stats: {root / 'dump' / 'stats.npz'}\n  feats_conf: {FEATS_CONF}\n"
        "  speaker_vectors: true\n"
        "model_conf:\n"
        f"  dim: 32\n  speaker_vector_dim: {speaker_vector_dim}\n"
        "  adaptor: {bins: 16, duration: {channels: 32}, pitch: {channels: 32}}\n"
        "trainer: {max_steps: 8, save_interval: 8, valid_interval: 0, log_interval: 2, keep_last: 1, average_last: 1}\n"
    )
    return out


@pytest.fixture(scope="module")
def xvec_train(tiny_model_dir, tmp_path_factory):
    """The tiny LJSpeech data dir of ``tiny_model_dir`` with a speaker vector per utterance."""
    from speechtools.data.kaldi import read_table

    root = Path(tiny_model_dir).parent
    train = tmp_path_factory.mktemp("xvec") / "train"
    shutil.copytree(root / "data" / "train", train)
    _write_vectors(train, sorted(read_table(train / "text")), XVEC_DIM)
    return root, train


@pytest.fixture(scope="module")
def xvec_model_dir(xvec_train, tmp_path_factory):
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    root, train = xvec_train
    work = tmp_path_factory.mktemp("xvec_model")
    config = _experiment_yaml(root, train, XVEC_DIM, work / "lightspeech_xvec.yaml")
    Trainer(load_experiment(config), work / "model", device="cpu", show_progress=False).run()
    return work / "model"


def test_training_with_speaker_vectors(xvec_train, xvec_model_dir, tmp_path):
    from speechtools.train.experiment import load_experiment

    root, train = xvec_train
    task = load_experiment(_experiment_yaml(root, train, XVEC_DIM, tmp_path / "c.yaml")).build_task()
    dataset = task.train_dataset()
    batch = task.collate([dataset[i] for i in range(3)])
    assert batch["speaker_vectors"].shape == (3, XVEC_DIM)
    np.testing.assert_array_equal(batch["speaker_vectors"][0].numpy(), np.load(train / "xvec" / f"{batch['uttids'][0]}.npy"))
    torch.manual_seed(0)
    model = task.build_model()
    loss, _ = task.compute_loss(model, batch)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.speaker_vector_proj.weight.grad.abs().sum() > 0
    records = [json.loads(line) for line in (xvec_model_dir / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses and all(np.isfinite(losses))
    assert not (xvec_model_dir / "spk_vectors.scp").exists()  # vectors are inputs, not model assets


def test_speaker_vectors_need_a_model_that_takes_them(xvec_train, tmp_path):
    from speechtools.train.experiment import load_experiment

    root, train = xvec_train
    with pytest.raises(ConfigError, match="takes no speaker vectors"):
        load_experiment(_experiment_yaml(root, train, 0, tmp_path / "c.yaml")).build_task()


def test_synth_with_speaker_vector(xvec_model_dir, xvec_train, tmp_path):
    _, train = xvec_train
    synthesizer = Synthesizer(xvec_model_dir, device="cpu")
    inputs = [SynthesisInput("u1", "The printing press was invented."), SynthesisInput("u2", "Books became cheap.")]
    a = train / "xvec" / sorted((train / "xvec").iterdir())[0].name
    b = sorted((train / "xvec").iterdir())[1]
    with_a = list(synthesizer.synthesize(inputs, speaker_vector=a, progress=False))
    with_b = list(synthesizer.synthesize(inputs, speaker_vector=b, progress=False))
    plain = list(synthesizer.synthesize(inputs, progress=False))
    assert all(x.mel.shape[1] == y.mel.shape[1] for x, y in zip(with_a, with_b))
    assert any(x.mel.shape != y.mel.shape or not np.allclose(x.mel, y.mel) for x, y in zip(with_a, with_b))
    assert any(x.mel.shape != y.mel.shape or not np.allclose(x.mel, y.mel) for x, y in zip(with_a, plain))
    out = tmp_path / "out"
    result = CliRunner().invoke(synth, ["--model-dir", str(xvec_model_dir), "--text", "Books became cheap.", "--out-dir", str(out),
                                        "--speaker-vector", str(a), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["utt0001.wav", "wav.scp"]


def _one_line_error(args, tmp_path, capsys) -> str:
    from speechtools.cli.main import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["synth", *args, "--text", "Books became cheap.", "--out-dir", str(tmp_path / "o"), "--device", "cpu"])
    assert exc.value.code == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert not list((tmp_path / "o").glob("*.wav"))
    return lines[0]


def test_synth_speaker_vector_errors_are_one_line(xvec_model_dir, tiny_model_dir, tmp_path, capsys):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros(XVEC_DIM + 1, np.float32))
    line = _one_line_error(["--model-dir", str(xvec_model_dir), "--speaker-vector", str(wrong)], tmp_path, capsys)
    assert line == f"error: {wrong}: speaker vector {str(wrong)!r} has shape ({XVEC_DIM + 1},), the model expects ({XVEC_DIM},)"
    line = _one_line_error(["--model-dir", str(tiny_model_dir), "--speaker-vector", str(wrong)], tmp_path, capsys)
    assert line == f"error: {wrong}: this model takes no speaker vectors (trained with speaker_vector_dim: 0); drop --speaker-vector"
    missing = tmp_path / "missing.npy"
    line = _one_line_error(["--model-dir", str(xvec_model_dir), "--speaker-vector", str(missing)], tmp_path, capsys)
    assert line.startswith(f"error: {missing}: cannot read speaker vector")
