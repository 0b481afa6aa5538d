"""AdaSpeech 3 (arXiv 2107.02530): the mixture-of-experts duration predictor (hand-set gates, padding,
the speaking-rate gate target, training, config errors, the duration + pitch tuning patterns) and the
filled-pause predictor (labels from marked transcripts, insertion, training on a fixture data dir,
``synth --filled-pauses``)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Dict, List

import pytest
import torch
from click.testing import CliRunner

from speechtools.errors import ConfigError, UserError
from speechtools.models import MODELS
from speechtools.models.adaspeech import DURATION_PITCH_TUNING_PATTERNS
from speechtools.models.task_info import FixedSizes
from speechtools.nn.moe_duration_predictor import MoEDurationPredictor, gate_loss, speaking_rate_classes
from speechtools.text.filled_pauses import FillerSpellings, extract_labels, insert_fillers
from speechtools.train.experiment import load_experiment
from speechtools.train.parameters import apply_freeze
from speechtools.tts.filled_pauses import apply_labels, decide_labels
from speechtools.tts.speaking_rate import rate_boundaries, utterance_rates

REPO = Path(__file__).resolve().parents[2]
TINY3 = REPO / "conf" / "tts" / "adaspeech3_tiny.yaml"
TUNE = REPO / "conf" / "tts" / "adaspeech3_tune.yaml"
FP_TINY = REPO / "conf" / "tts" / "filled_pause_tiny.yaml"


# ---------------------------------------------------------------- mixture-of-experts duration predictor
def moe(seed: int = 0) -> MoEDurationPredictor:
    torch.manual_seed(seed)
    return MoEDurationPredictor(8, channels=8, kernel_size=3, layers=2, dropout=0.0, experts=3).eval()


def padded_inputs() -> tuple:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 8, generator=gen)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    return x * mask[..., None], mask


def test_a_one_hot_gate_gives_that_expert_and_a_uniform_gate_their_mean() -> None:
    m, (x, mask) = moe(), padded_inputs()
    experts = torch.stack([e(x, mask) for e in m.experts], dim=1)
    for k in range(3):
        one_hot = torch.nn.functional.one_hot(torch.tensor([k, k]), 3).float()
        assert torch.allclose(m(x, mask, gate=one_hot).log_duration, experts[:, k], atol=1e-6)
    uniform = torch.full((2, 3), 1 / 3)
    assert torch.allclose(m(x, mask, gate=uniform).log_duration, experts.mean(dim=1), atol=1e-6)
    with pytest.raises(ValueError, match="gate must be"):
        m(x, mask, gate=torch.ones(2, 2))


def test_the_learned_gate_sums_to_one_and_ignores_the_padding() -> None:
    m, (x, mask) = moe(), padded_inputs()
    out = m(x, mask)
    assert torch.allclose(out.gate.sum(-1), torch.ones(2)) and (out.gate > 0).all()
    assert (out.log_duration[1, 3:] == 0).all()
    garbage = x.clone()
    garbage[1, 3:] = 100.0
    alone = m(x[1:2, :3], mask[1:2, :3])
    for other in (m(garbage, mask), out):
        assert torch.allclose(other.gate[1], alone.gate[0], atol=1e-6)
        assert torch.allclose(other.log_duration[1, :3], alone.log_duration[0], atol=1e-5)


def test_speaking_rate_classes_and_the_gate_loss() -> None:
    # frames per token: 1.0 (fast), 3.0 (medium), 6.0 (slow); the padding's durations do not count
    durations = torch.tensor([[1, 1, 1, 9], [3, 3, 3, 0], [6, 6, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 0, 0]]).bool()
    classes = speaking_rate_classes(durations, mask, [2.0, 5.0])
    assert classes.tolist() == [0, 1, 2]
    assert speaking_rate_classes(durations, mask, [3.0, 6.0]).tolist() == [0, 1, 2]  # a boundary belongs to the slower class
    perfect = torch.nn.functional.one_hot(classes, 3).float()
    assert gate_loss(perfect, classes).item() < 1e-6
    assert gate_loss(torch.full((3, 3), 1 / 3), classes).item() == pytest.approx(float(torch.log(torch.tensor(3.0))))


def tiny_adaspeech3(*overrides: str, seed: int = 0):
    conf = load_experiment(TINY3, ["model_conf.phoneme_predictor_warmup=0", *overrides]).model_conf
    torch.manual_seed(seed)
    return MODELS.build("adaspeech", conf, FixedSizes(vocab_size=20, n_mels=10, n_speakers=3))


def tts_batch(seed: int = 0) -> Dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 3, 4])
    valid = torch.arange(6) < lengths[:, None]
    tokens = torch.randint(2, 20, (3, 6), generator=gen) * valid
    durations = torch.tensor([[1, 1, 2, 1, 1, 2], [4, 5, 4, 0, 0, 0], [2, 3, 2, 3, 0, 0]]) * valid
    frames = durations.sum(1)
    mel = torch.randn(3, int(frames.max()), 10, generator=gen) * (torch.arange(int(frames.max())) < frames[:, None])[..., None]
    return dict(tokens=tokens, token_lengths=lengths, durations=durations, mel=mel, mel_lengths=frames,
                pitch=torch.randn(3, 6, generator=gen) * valid, energy=torch.randn(3, 6, generator=gen) * valid,
                speakers=torch.tensor([0, 2, 1]))


def test_adaspeech_and_fastspeech2_take_the_moe_predictor_from_config_alone() -> None:
    model = tiny_adaspeech3()
    assert isinstance(model.adaptor.duration_predictor, MoEDurationPredictor)
    out = model(**tts_batch())
    assert out["duration_gate"].shape == (3, 3) and "duration_gate_loss" not in out
    assert "duration_gate_loss" not in model.loss(out, **tts_batch())
    conf = load_experiment(REPO / "conf" / "tts" / "fastspeech2_tiny.yaml", ["model_conf.adaptor.duration.kind=moe"]).model_conf
    fs2 = MODELS.build("fastspeech2", conf, FixedSizes(vocab_size=20, n_mels=10))
    assert isinstance(fs2.adaptor.duration_predictor, MoEDurationPredictor)
    batch = tts_batch()
    assert fs2(**batch)["log_duration_pred"].shape == (3, 6)
    fs2.eval()
    with torch.no_grad():
        synth = fs2(batch["tokens"], batch["token_lengths"])  # inference: predicted durations
    assert synth["durations"].shape == (3, 6)


def test_with_gate_boundaries_the_gate_loss_is_a_term_and_training_lowers_duration_and_gate_losses() -> None:
    model = tiny_adaspeech3("model_conf.adaptor.duration.gate_boundaries=[2.0, 3.5]", "model_conf.adaptor.duration.gate_loss_weight=0.5")
    batch = tts_batch()
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    history: List[Dict[str, float]] = []
    for step in range(25):
        model.set_num_updates(step)
        terms = model.loss(model(**batch), **batch)
        history.append({k: v.item() for k, v in terms.items()})
        optim.zero_grad()
        terms["loss"].backward()
        optim.step()
    assert "duration_gate_loss" in history[0]
    for key in ("loss", "duration_loss", "duration_gate_loss"):
        assert history[-1][key] < 0.7 * history[0][key], key
    model.eval()
    with torch.no_grad():
        gate = model(**batch)["duration_gate"]
    assert gate.argmax(-1).tolist() == [0, 2, 1]  # 1.33 (fast), 4.33 (slow), 2.5 (medium) frames per token


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"model_conf\.adaptor\.duration.*kind must be one of plain, moe"):
        load_experiment(TINY3, ["model_conf.adaptor.duration.kind=mixture"])
    with pytest.raises(ConfigError, match=r"model_conf\.adaptor\.duration.*gate_boundaries needs experts - 1 = 2"):
        load_experiment(TINY3, ["model_conf.adaptor.duration.gate_boundaries=[2.0]"])
    with pytest.raises(ConfigError, match=r"model_conf\.adaptor\.duration.*ascending"):
        load_experiment(TINY3, ["model_conf.adaptor.duration.gate_boundaries=[3.0, 2.0]"])
    with pytest.raises(ConfigError, match=r"model_conf\.adaptor\.duration.*experts must be >= 2"):
        load_experiment(TINY3, ["model_conf.adaptor.duration.experts=1"])
    with pytest.raises(ConfigError, match=r"task_conf.*filler spelling 'um' belongs to both"):
        load_experiment(FP_TINY, ["task_conf.fillers={um: [um], uh: [um]}"])


def test_the_tuning_patterns_select_exactly_the_duration_experts_gate_and_pitch_predictor() -> None:
    assert load_experiment(TUNE).trainer.trainable == list(DURATION_PITCH_TUNING_PATTERNS)
    model = tiny_adaspeech3()
    apply_freeze(model, list(DURATION_PITCH_TUNING_PATTERNS), [])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    expected = {n for n, _ in model.named_parameters()
                if n.startswith("adaptor.duration_predictor.") or n.startswith("adaptor.pitch_predictor.")}
    assert trainable == expected
    assert {n.split(".")[2] for n in trainable if n.startswith("adaptor.duration_predictor.")} == {"experts", "gate"}
    assert any(n.startswith("adaptor.pitch_predictor.") for n in trainable)
    assert not any("pitch_embedding" in n or "energy" in n for n in trainable)


# ---------------------------------------------------------------- filled-pause labels and insertion
def test_labels_from_a_marked_transcript_give_positions_and_classes_exactly() -> None:
    fillers = FillerSpellings()
    got = extract_labels("Um, so I think uh we should, UM go <uh> [uh] now.", fillers)
    assert got.words == ["so", "I", "think", "we", "should,", "go", "now."]
    #                    before so  I  think  we should, go  now.
    assert got.labels == [1, 0, 0, 2, 0, 1, 2, 0]
    assert got.dropped == 1  # the second filler after "go"
    assert extract_labels("no fillers here", fillers).labels == [0, 0, 0, 0]
    assert extract_labels("um", fillers).words == [] and extract_labels("um", fillers).labels == [1]
    # spelled variants: brackets, case, doubled letters, trailing punctuation
    for spelling, label in (("<UM>", 1), ("[um]", 1), ("umm,", 1), ("(uh)", 2), ("Uhh.", 2), ("er", 2), ("umbrella", 0), ("huh", 0)):
        expected = [0, label, 0] if label else [0, 0, 0, 0]  # a word that is not a filler is a word
        assert extract_labels(f"a {spelling} b", fillers).labels == expected, spelling


def test_configurable_spellings() -> None:
    fillers = FillerSpellings({"um": ["%um"], "uh": ["%uh", "%ah"], "hmm": ["mhm"]})
    got = extract_labels("%ah well %um mhm ok", fillers)
    assert (got.words, got.labels) == (["well", "ok"], [2, 1, 0])  # "mhm" after "%um" in the same slot is dropped
    assert got.dropped == 1
    assert insert_fillers(got.words, [3, 0, 2], fillers) == "hmm well ok uh"
    with pytest.raises(ValueError, match="one non-empty token"):
        FillerSpellings({"um": ["u m"]})


def test_insertion_at_the_word_boundaries_of_hand_set_predictions() -> None:
    fillers = FillerSpellings()
    # slots: before "Well,", after "Well,", after "I", after "think", after "so."
    probs = torch.tensor([
        [0.9, 0.05, 0.05],   # none
        [0.3, 0.6, 0.1],     # P(filler) 0.7 -> um
        [0.6, 0.1, 0.3],     # P(filler) 0.4: below 0.5
        [0.45, 0.2, 0.35],   # P(filler) 0.55 -> uh
        [1.0, 0.0, 0.0],
    ])
    labels = decide_labels(probs, threshold=0.5)
    assert labels == [0, 1, 0, 2, 0]
    assert apply_labels("Well, I  think so.", labels, fillers) == "Well, um I think uh so."
    assert decide_labels(probs, threshold=0.35) == [0, 1, 2, 2, 0]
    assert decide_labels(probs, threshold=1.0) == [0, 0, 0, 0, 0]
    text = "Keep  this\tspacing exactly."
    assert apply_labels(text, [0] * 5, fillers) == text


def test_um_and_uh_are_spoken_by_the_english_front_end() -> None:
    from speechtools.text.frontend import get_frontend

    tokens = get_frontend("en_phone").tokenize("so um we uh go")
    assert tokens == ["S", "OW1", "<space>", "AH1", "M", "<space>", "W", "IY1", "<space>", "AH1", "<space>", "G", "OW1"]


# ---------------------------------------------------------------- the full path on a fixture data dir
SUBJECTS = ["I", "we", "they", "you"]
VERBS = ["think", "know", "guess", "said"]
ENDS = ["it works", "the plan is fine", "we can go", "that is right"]


def fixture_transcript(rng: random.Random) -> str:
    """Filled pauses follow a rule a tiny model can learn: ``um`` after "well", ``uh`` after "and"."""
    s, v, e = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(ENDS)
    return rng.choice([f"well um {s} {v} {e}", f"{s} {v} and uh {e}", f"well <um> {s} {v} and [uh] {e}", f"{s} {v} {e}"])


def write_fixture_data_dir(root: Path, n: int = 48) -> Path:
    rng = random.Random(0)
    data = root / "data" / "train"
    data.mkdir(parents=True)
    lines = [f"utt{i:03d} {fixture_transcript(rng)}" for i in range(n)]
    (data / "text").write_text("\n".join(lines) + "\n")
    return data


@pytest.fixture(scope="module")
def filled_pause_model_dir(tmp_path_factory) -> Dict[str, object]:
    from speechtools.train.trainer import Trainer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("filled_pause")
    data = write_fixture_data_dir(root)
    experiment = load_experiment(FP_TINY, [f"task_conf.train_data={data}"])
    trainer = Trainer(experiment, root / "model", device="cpu", show_progress=False)
    task = experiment.build_task()
    before = model_loss(task, experiment)
    trainer.run()
    return {"dir": root / "model", "data": data, "loss_before": before}


def model_loss(task, experiment, model=None) -> float:
    torch.manual_seed(0)
    model = model if model is not None else task.build_model()
    batch = task.collate(list(task.train_dataset()))
    model.eval()
    with torch.no_grad():
        return model.loss(model(**batch), **batch)["loss"].item()


def test_training_on_the_fixture_lowers_the_loss_and_saves_the_vocabulary(filled_pause_model_dir) -> None:
    from speechtools.train.model_dir import load_model_dir

    loaded = load_model_dir(filled_pause_model_dir["dir"], "cpu")
    words = loaded.task.words
    assert words.tokens[:3] == ["<pad>", "<unk>", "<s>"] and "well" in words and "um" not in words and "<um>" not in words
    after = model_loss(loaded.task, loaded.config, loaded.model)
    assert after < 0.5 * filled_pause_model_dir["loss_before"]


def test_the_trained_predictor_inserts_fillers_at_the_learned_boundaries(filled_pause_model_dir) -> None:
    from speechtools.tts.filled_pauses import FilledPauseInserter

    inserter = FilledPauseInserter(filled_pause_model_dir["dir"], "cpu")
    texts = ["Well, they said and the plan is fine.", "you know it works", ""]
    assert inserter.insert(texts) == ["Well, um they said and uh the plan is fine.", "you know it works", ""]
    assert inserter.labels(texts)[1] == [0] * 5
    # a text longer than one window is read in windows and labelled at every slot (hand-set predictor:
    # um after "well", so the slot shared by the two windows, after word 500, gets one too)
    well = inserter.task.words.index["well"]

    def after_well(words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        probs = torch.zeros(*words.shape, 3)
        probs[..., 0] = 1.0
        probs[words == well] = torch.tensor([0.0, 1.0, 0.0])
        return probs

    inserter.model.probabilities = after_well
    long_text = " ".join(["I know it works well"] * 144)  # 720 words: windows of 500 and 220
    assert inserter.labels([long_text])[0] == [0] + [0, 0, 0, 0, 1] * 144


def test_the_task_refuses_transcripts_without_filled_pauses(tmp_path: Path) -> None:
    from speechtools.errors import UserError

    data = tmp_path / "plain"
    data.mkdir()
    (data / "text").write_text("a hello world\nb good morning\n")
    task = load_experiment(FP_TINY, [f"task_conf.train_data={data}"]).build_task()
    with pytest.raises(UserError, match="no filled pause in the transcripts"):
        task.build_model()


def test_synth_filled_pauses_off_is_unchanged_and_auto_speaks_the_fillers(tiny_model_dir: Path, filled_pause_model_dir,
                                                                         tmp_path: Path) -> None:
    from speechtools.cli.main import cli

    runner = CliRunner()
    base = ["synth", "--model-dir", str(tiny_model_dir), "--text", "well I think it works", "--device", "cpu", "--write-durations"]
    runs = {}
    for name, extra in (("default", []), ("off", ["--filled-pauses", "off"]),
                        ("auto", ["--filled-pauses", "auto", "--filled-pause-model", str(filled_pause_model_dir["dir"])])):
        result = runner.invoke(cli, base + ["--out-dir", str(tmp_path / name)] + extra)
        assert result.exit_code == 0, result.output
        runs[name] = ((tmp_path / name / "utt0001.wav").read_bytes(), (tmp_path / name / "durations").read_text().split())
    assert runs["off"] == runs["default"]
    # "well um I think ...": "um" adds AH1 M and a word boundary
    assert len(runs["auto"][1]) == len(runs["default"][1]) + 3
    result = runner.invoke(cli, base + ["--out-dir", str(tmp_path / "bad"), "--filled-pauses", "auto"])
    assert result.exit_code != 0 and "--filled-pauses auto needs --filled-pause-model" in result.output


def duration_error_module():  # bench/duration_error.py, not a package module
    import importlib.util

    spec = importlib.util.spec_from_file_location("duration_error", REPO / "bench" / "duration_error.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_speaking_rate_boundaries_are_equal_count_quantiles_that_the_gate_classes_agree_with() -> None:
    assert utterance_rates({"a": [1, 3], "b": [], "c": [4]}) == [2.0, 4.0]
    rates = [float(r) for r in range(1, 10)]
    bounds = rate_boundaries(rates, 3)
    assert bounds == [3.667, 6.333]  # numpy's linear quantiles at 1/3 and 2/3 of 1..9
    # one utterance per rate r: r frames on one token; the gate's classes split the nine 3 / 3 / 3
    durations = torch.tensor([[int(r)] for r in rates])
    classes = speaking_rate_classes(durations, torch.ones_like(durations, dtype=torch.bool), bounds)
    assert classes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    with pytest.raises(UserError, match="2 utterance"):
        rate_boundaries([1.0, 2.0], 3)
    with pytest.raises(UserError, match="not distinct"):
        rate_boundaries([5.0] * 6, 3)


def test_the_duration_error_table_puts_models_side_by_side_per_speaker() -> None:
    row = {"utterances": 2, "tokens": 40, "log_duration_mse": 0.25, "frames_mae": 1.5}
    reports = {"plain": {"a": row, "all": row}, "moe": {"a": dict(row, frames_mae=1.25, mean_gate=[0.5, 0.25, 0.25]),
                                                         "all": dict(row, frames_mae=1.25, mean_gate=[0.5, 0.25, 0.25])}}
    module = duration_error_module()
    table = module.comparison_table(reports).splitlines()
    assert table[0] == ("|speaker|utterances|tokens|plain frames MAE|moe frames MAE|plain log-duration MSE|"
                        "moe log-duration MSE|moe mean gate|")
    assert table[2:] == ["|a|2|40|1.500|1.250|0.2500|0.2500|0.50, 0.25, 0.25|",
                         "|all|2|40|1.500|1.250|0.2500|0.2500|0.50, 0.25, 0.25|"]
    # two models: the paired bootstrap's probability that the second has the lower frame error, per speaker
    first = {"u1": 5, "u2": 7, "u3": 2, "u4": 2}
    second = {"u1": 3, "u2": 6, "u3": 2, "u4": 9}
    probability = module.improvement_probability(first, second, {"u1": "a", "u2": "a", "u3": "b", "u4": "b"}, 2000)
    assert probability["a"] == 100.0 and probability["b"] == 0.0 and 0.0 < probability["all"] < 100.0
    with_p = module.comparison_table(reports, {"a": 100.0, "all": 62.5}).splitlines()
    assert with_p[0].endswith("|P(moe frames MAE < plain) %|") and with_p[2].endswith("|100.0|") and with_p[3].endswith("|62.5|")


def test_the_duration_error_script_reports_per_speaker(tiny_model_dir: Path) -> None:
    module = duration_error_module()
    root = tiny_model_dir.parent
    report = module.measure(str(tiny_model_dir), str(root / "data" / "train"), str(root / "dump"))
    assert set(report) == {"LJ", "all"} and report["all"]["utterances"] == 6
    assert report["all"]["log_duration_mse"] >= 0 and report["all"]["frames_mae"] >= 0 and "mean_gate" not in report["all"]
