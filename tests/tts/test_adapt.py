"""`speechtools adapt` (AdaSpeech / AdaSpeech 2 custom-voice adaptation): exactly the named parameters change,
untranscribed adaptation without `text`, the per-speaker file on top of the source model, synth of the adapted
speaker (stored mean reference or --reference-audio), source speakers untouched where nothing shared moves, errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import pytest
import torch

from speechtools.cli.main import main
from speechtools.errors import UserError
from speechtools.train.experiment import load_experiment
from speechtools.train.model_dir import load_model_dir
from speechtools.train.parameters import matches
from speechtools.train.trainer import Trainer
from speechtools.tts.adapt import ADAPT_MODES, adapt, read_speaker_file
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer

REPO = Path(__file__).resolve().parents[2]
TINY2 = REPO / "conf" / "tts" / "adaspeech2_tiny.yaml"
TEXT = [SynthesisInput("u1", "Printing, in the only sense.")]


def _source(root: Path, out: Path, config: Path = TINY2) -> Path:
    from tiny_tts import FEATS_CONF

    sets = [f"task_conf.train_data={root / 'data' / 'train'}", f"task_conf.train_feats={root / 'dump'}",
            f"task_conf.token_list={root / 'tokens.txt'}", f"task_conf.stats={root / 'dump' / 'stats.npz'}",
            f"task_conf.feats_conf={FEATS_CONF}", "task_conf.speakers=true", "trainer.max_steps=3", "trainer.save_interval=3",
            "trainer.valid_interval=0", "trainer.log_interval=3"]
    Trainer(load_experiment(config, sets), out, device="cpu", show_progress=False).run()
    return out


@pytest.fixture(scope="module")
def source(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny AdaSpeech 2 (mel encoder) trained 3 steps on the mini corpus with one named speaker, LJ."""
    return _source(tiny_model_dir.parent, tmp_path_factory.mktemp("adapt_source") / "ada2")


def _new_speaker_data(train: Path, out: Path, text: bool = True, speakers: List[str] = ("newspk",)) -> Path:
    """Three mini-corpus clips as a new speaker's data directory (with or without text and durations)."""
    out.mkdir(parents=True)
    keep = sorted(line.split()[0] for line in (train / "wav.scp").read_text().splitlines())[:3]
    names = ["wav.scp", "text", "durations"] if text else ["wav.scp"]
    for name in names:
        lines = {line.split(maxsplit=1)[0]: line for line in (train / name).read_text().splitlines()}
        (out / name).write_text("".join(lines[k] + "\n" for k in keep))
    (out / "utt2spk").write_text("".join(f"{k} {speakers[i % len(speakers)]}\n" for i, k in enumerate(keep)))
    return out


@pytest.fixture(scope="module")
def new_data(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _new_speaker_data(tiny_model_dir.parent / "data" / "train", tmp_path_factory.mktemp("adapt_data") / "newspk")


@pytest.fixture(scope="module")
def adapted(source: Path, new_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The source adapted in each mode (3 steps; `cln` extracts the features itself, the others reuse them)."""
    root = tmp_path_factory.mktemp("adapted")
    dump = source.parent / "newspk_dump"
    out = {}
    for mode in ("cln", "embedding", "decoder"):
        out[mode] = root / mode
        adapt(source, new_data, out[mode], mode=mode, steps=3, device="cpu", show_progress=False,
              feats_dir=None if mode == "cln" else dump)
        if mode == "cln":  # keep the store the first run extracted, for the other modes
            from speechtools.audio.extract import extract_to_store

            extract_to_store(new_data, dump, load_model_dir(source, "cpu").task.feature_config, progress=False)
    return out


def _state(model_dir: Path) -> Dict[str, torch.Tensor]:
    return load_model_dir(model_dir, "cpu").model.state_dict()


def _check_only_named_changed(source: Path, adapted_dir: Path, patterns, trained_row: bool) -> None:
    before, after = _state(source), _state(adapted_dir)
    assert set(before) == set(after)
    changed = set()
    for name, value in before.items():
        new = after[name]
        if name == "speaker_embedding.weight":
            assert new.shape[0] == value.shape[0] + 1
            assert torch.equal(new[:-1], value), "the source speakers' rows moved"
            assert torch.equal(new[-1], value.mean(0)) != trained_row  # mean-initialised; moved if it trains
            continue
        if not torch.equal(value, new):
            changed.add(name)
    assert all(matches(n, patterns) for n in changed), sorted(n for n in changed if not matches(n, patterns))
    named = {n for n in before if matches(n, patterns) and n != "speaker_embedding.weight"}
    assert changed == named  # every named tensor moved


@pytest.mark.parametrize("mode", ["cln", "embedding", "decoder"])
def test_adaptation_updates_exactly_the_named_parameters(source: Path, adapted: Dict[str, Path], mode: str) -> None:
    _check_only_named_changed(source, adapted[mode], ADAPT_MODES[mode][0], trained_row=True)
    assert (adapted[mode] / "speakers.txt").read_text().split() == ["LJ", "newspk"]
    assert not (adapted[mode] / "checkpoints").exists()


def test_the_per_speaker_file_holds_the_row_and_the_cln_vectors(adapted: Dict[str, Path]) -> None:
    payload = read_speaker_file(adapted["cln"] / "speaker_newspk.pt")
    values = payload["values"]
    # tiny config: dim 32, 1 decoder block = 2 CLNs: 32 + 2 norms x (32 + 32)
    assert sum(v.numel() for v in values.values()) == 32 + 2 * 64
    assert payload["utterance_vector"].shape == (32,)
    assert sum(v.numel() for v in read_speaker_file(adapted["embedding"] / "speaker_newspk.pt")["values"].values()) == 32


def _mel(synth: Synthesizer, speaker: str, reference=None) -> torch.Tensor:
    return torch.from_numpy(next(synth.synthesize(TEXT, speaker=speaker, progress=False, reference_audio=reference)).mel)


@pytest.mark.parametrize("mode", ["cln", "embedding", "decoder"])
def test_the_speaker_file_on_the_source_model_equals_the_adapted_model(source: Path, adapted: Dict[str, Path], mode: str) -> None:
    direct = Synthesizer(adapted[mode], device="cpu")
    stacked = Synthesizer(source, device="cpu", speaker_params=adapted[mode] / "speaker_newspk.pt")
    torch.testing.assert_close(_mel(stacked, "newspk"), _mel(direct, "newspk"))


def _differ(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape != b.shape or not torch.allclose(a, b)


def test_synth_uses_the_stored_mean_reference_or_the_given_clip(adapted: Dict[str, Path], lj_reference: Path, tmp_path: Path) -> None:
    synth = Synthesizer(adapted["cln"], device="cpu")
    assert set(synth.utterance_vectors) == {"newspk"}
    stored = _mel(synth, "newspk")
    clip = _mel(synth, "newspk", lj_reference)
    synth.utterance_vectors = {}
    zero = _mel(synth, "newspk")
    assert _differ(stored, zero) and _differ(stored, clip)
    for extra in ([], ["--reference-audio", str(lj_reference)]):
        with pytest.raises(SystemExit) as exc:
            main(["synth", "--model-dir", str(adapted["cln"]), "--speaker", "newspk", "--text", "Printing.", "--out-dir",
                  str(tmp_path / "wav"), "--device", "cpu", *extra])
        assert exc.value.code == 0 and (tmp_path / "wav" / "utt0001.wav").is_file()


def test_embedding_only_adaptation_leaves_the_source_speaker_unchanged(source: Path, adapted: Dict[str, Path]) -> None:
    before = _mel(Synthesizer(source, device="cpu"), "LJ")
    torch.testing.assert_close(_mel(Synthesizer(adapted["embedding"], device="cpu"), "LJ"), before, rtol=0, atol=0)
    stacked = Synthesizer(source, device="cpu", speaker_params=adapted["embedding"] / "speaker_newspk.pt")
    torch.testing.assert_close(_mel(stacked, "LJ"), before, rtol=0, atol=0)


def test_untranscribed_adaptation_needs_no_text_and_moves_only_the_cln_projections(
        source: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = _new_speaker_data(tiny_model_dir.parent / "data" / "train", tmp_path / "audio_only", text=False)
    assert not (data / "text").exists()
    with pytest.raises(SystemExit) as exc:
        main(["adapt", "--source-dir", str(source), "--data-dir", str(data), "--out-dir", str(tmp_path / "out"),
              "--untranscribed", "--steps", "3", "--device", "cpu", "--quiet"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "per-speaker parameters: 160 (embedding row 32 + CLN scale/bias 2 x 32 x 2 norms)" in out
    _check_only_named_changed(source, tmp_path / "out", ADAPT_MODES["cln"][1], trained_row=False)


def _error(args: List[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    return err[-1]


def test_bad_inputs_are_one_line_errors(source: Path, new_data: Path, tiny_model_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    train = tiny_model_dir.parent / "data" / "train"
    base = ["adapt", "--out-dir", str(tmp_path / "out"), "--steps", "1", "--device", "cpu", "--quiet"]
    assert "model directory not found" in _error(base + ["--source-dir", str(tmp_path / "nope"), "--data-dir", str(new_data)], capsys)
    assert "not an AdaSpeech model" in _error(base + ["--source-dir", str(tiny_model_dir), "--data-dir", str(new_data)], capsys)
    audio = _new_speaker_data(train, tmp_path / "audio", text=False)
    assert "missing text" in _error(base + ["--source-dir", str(source), "--data-dir", str(audio)], capsys)
    two = _new_speaker_data(train, tmp_path / "two", speakers=["a", "b"])
    assert "2 speakers in utt2spk" in _error(base + ["--source-dir", str(source), "--data-dir", str(two)], capsys)
    assert "already in the source model" in _error(base + ["--source-dir", str(source), "--data-dir", str(new_data),
                                                           "--speaker", "LJ"], capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "wav.scp").write_text("")
    assert "no utterances" in _error(base + ["--source-dir", str(source), "--data-dir", str(empty)], capsys)
    nodur = _new_speaker_data(train, tmp_path / "nodur")
    (nodur / "durations").unlink()
    assert "missing durations" in _error(base + ["--source-dir", str(source), "--data-dir", str(nodur)], capsys)
    assert not (tmp_path / "out").exists()


def test_untranscribed_needs_the_mel_encoder(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ada1 = _source(tiny_model_dir.parent, tmp_path / "ada1", REPO / "conf" / "tts" / "adaspeech_tiny.yaml")
    audio = _new_speaker_data(tiny_model_dir.parent / "data" / "train", tmp_path / "audio", text=False)
    assert "mel encoder" in _error(["adapt", "--source-dir", str(ada1), "--data-dir", str(audio), "--out-dir", str(tmp_path / "o"),
                                    "--untranscribed", "--device", "cpu", "--quiet"], capsys)
