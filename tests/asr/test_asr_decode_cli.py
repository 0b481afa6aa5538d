"""``speechtools asr decode --model-dir`` and ``make-tokens --units`` through the real CLI
(``speechtools.cli.main.main``: the one-line errors and exit codes a user sees).

One tiny recogniser is trained per module (8 mini-corpus clips, 20 steps of
conf/asr/ctc_attention_tiny.yaml) with two tiny LMs: one over its tokens.txt and one over a
different tokens.txt; on the same clips and features, a second recogniser with SentencePiece
units (``en_bpe``, 80 steps) and its LM. The models are far from trained: these tests check the
decoding machinery (inputs, sample rates, failures, workers, search options, units), not accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile as sf
import torch


REPO = Path(__file__).resolve().parents[2]
FEATS_CONF = REPO / "conf" / "feats" / "mel22k.yaml"


def _cli(*args: str) -> None:
    from speechtools.cli.main import cli

    cli.main(args=[str(a) for a in args], prog_name="speechtools", standalone_mode=False)


def _train(config: Path, out: Path, *sets: str) -> Path:
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    Trainer(load_experiment(config, list(sets)), out, device="cpu", show_progress=False).run()
    return out


class World:
    root: Path
    data: Path
    dump: Path
    tokens: Path
    model: Path
    lm: Path
    other_lm: Path
    wavs: Dict[str, Path]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from speechtools.data.kaldi import read_table

    torch.set_num_threads(1)
    w = World()
    w.root = root = tmp_path_factory.mktemp("asr_cli")
    _cli("data", "prepare", "ljspeech", "--out", root / "all")
    w.data = data = root / "data"
    _cli("data", "subset", root / "all" / "train", data, "--first", "8")
    w.dump = dump = root / "dump"
    w.tokens = root / "tokens.txt"
    _cli("extract-feats", data, dump, "--conf", FEATS_CONF, "--no-progress")
    _cli("compute-stats", dump, "--no-progress")
    _cli("make-tokens", data, "--units", "en_char", "--out", w.tokens)
    w.model = _train_asr(w, root / "asr", w.tokens, 20)
    lm_sets = ["trainer.max_steps=3", "trainer.save_interval=3", "trainer.valid_interval=0"]
    w.lm = _train(REPO / "conf" / "lm" / "lstm_lm_tiny.yaml", root / "lm", f"task_conf.train_text={data / 'text'}",
                  f"task_conf.token_list={w.tokens}", *lm_sets)
    other = root / "other_data"
    other.mkdir()
    (other / "text").write_text("u1 abc\n")
    _cli("make-tokens", other, "--units", "en_char", "--out", root / "other_tokens.txt")
    w.other_lm = _train(REPO / "conf" / "lm" / "lstm_lm_tiny.yaml", root / "other_lm", f"task_conf.train_text={other / 'text'}",
                        f"task_conf.token_list={root / 'other_tokens.txt'}", *lm_sets)
    w.wavs = {k: Path(v) for k, v in read_table(data / "wav.scp").items()}
    return w


def _train_asr(w: World, out: Path, tokens: Path, steps: int, *sets: str) -> Path:
    """conf/asr/ctc_attention_tiny.yaml on the world's clips for ``steps`` updates."""
    return _train(REPO / "conf" / "asr" / "ctc_attention_tiny.yaml", out,
                  f"task_conf.train_data={w.data}", f"task_conf.train_feats={w.dump}", f"task_conf.token_list={tokens}",
                  f"task_conf.stats={w.dump / 'stats.npz'}", f"task_conf.feats_conf={FEATS_CONF}",
                  "optim.lr=0.005", f"trainer.max_steps={steps}", f"trainer.save_interval={steps}", "trainer.valid_interval=0", *sets)


def read_text(path: Path) -> Dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        uttid, _, text = line.partition(" ")
        out[uttid] = text
    return out


def write_scp(path: Path, entries: Dict[str, Path]) -> Path:
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(entries.items())))
    return path


def resampled_copies(world: World, folder: Path, count: int = 3) -> Dict[str, Path]:
    """The first ``count`` clips as 22.05 kHz WAV (the original rate) and resampled to 16 kHz (soxr)."""
    import soxr

    folder.mkdir()
    entries = {}
    for uttid in sorted(world.wavs)[:count]:
        audio, rate = sf.read(world.wavs[uttid], dtype="float32")
        assert rate == 22050
        sf.write(folder / f"{uttid}_22k.wav", audio, rate)
        sf.write(folder / f"{uttid}_16k.wav", soxr.resample(audio, rate, 16000), 16000)
        entries[f"{uttid}-22k"] = folder / f"{uttid}_22k.wav"
        entries[f"{uttid}-16k"] = folder / f"{uttid}_16k.wav"
    return entries


# ----------------------------------------------------------------------------- decoding


def test_a_data_directory_decodes_every_utterance(world: World, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "hyp.txt"
    code, stdout, err = run_cli(["asr", "decode", world.data, "--model-dir", world.model, "--out", out, "--device", "cpu"])
    assert code == 0, err
    assert set(read_text(out)) == set(world.wavs)
    assert f"({len(world.wavs)} utterances)" in stdout


def test_a_wav_scp_at_16_and_22_khz_gives_the_same_features_and_hypotheses(world: World, tmp_path: Path, run_cli) -> None:
    from speechtools.asr.recognizer import Recognizer
    from speechtools.audio.extract import Job

    entries = resampled_copies(world, tmp_path / "wavs")
    out = tmp_path / "hyp.txt"
    code, _, err = run_cli(["asr", "decode", "--wav-scp", write_scp(tmp_path / "wav.scp", entries), "--model-dir", world.model,
                       "--out", out, "--device", "cpu"])
    assert code == 0, err
    hyps = read_text(out)
    assert set(hyps) == set(entries)
    # The 16 kHz copy is resampled back to 22.05 kHz: below fmax (8 kHz) nothing was lost, so the
    # normalised features agree closely and greedy CTC gives the same transcript.
    recognizer = Recognizer(world.model, device="cpu")
    for uttid in {k.rsplit("-", 1)[0] for k in entries}:
        a = recognizer.load(Job(uttid, str(entries[f"{uttid}-22k"])))
        b = recognizer.load(Job(uttid, str(entries[f"{uttid}-16k"])))
        assert a.shape == b.shape
        assert float((a - b).abs().median()) < 0.05, float((a - b).abs().median())
        assert hyps[f"{uttid}-22k"] == hyps[f"{uttid}-16k"]
    # joint beam search (whose hypotheses are not empty even for this barely trained model): the same too
    out = tmp_path / "beam_hyp.txt"
    code, _, err = run_cli(["asr", "decode", "--wav-scp", tmp_path / "wav.scp", "--model-dir", world.model, "--out", out,
                       "--device", "cpu", "--beam-size", "3", "--ctc-weight", "0.3"])
    assert code == 0, err
    beam = read_text(out)
    assert all(beam.values()), beam
    for uttid in {k.rsplit("-", 1)[0] for k in entries}:
        assert beam[f"{uttid}-22k"] == beam[f"{uttid}-16k"]
    # the 22.05 kHz copy is the data directory's own clip: the same hypothesis as decoding the flac
    flac = read_text(_decode_data(world, tmp_path, run_cli))
    for key, text in hyps.items():
        if key.endswith("-22k"):
            assert text == flac[key[: -len("-22k")]]


def _decode_data(world: World, tmp_path: Path, run_cli, *options: str) -> Path:
    out = tmp_path / f"data_hyp{len(list(tmp_path.glob('data_hyp*')))}.txt"
    code, _, err = run_cli(["asr", "decode", world.data, "--model-dir", world.model, "--out", out, "--device", "cpu", *options])
    assert code == 0, err
    return out


def test_unreadable_and_empty_recordings_are_listed_and_the_others_decoded(world: World, tmp_path: Path, run_cli) -> None:
    good = dict(sorted(world.wavs.items())[:3])
    (tmp_path / "garbage.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 22050)
    entries = {**good, "bad-garbage": tmp_path / "garbage.wav", "bad-empty": tmp_path / "empty.wav"}
    out = tmp_path / "hyp.txt"
    code, stdout, err = run_cli(["asr", "decode", "--wav-scp", write_scp(tmp_path / "wav.scp", entries), "--model-dir", world.model,
                            "--out", out, "--device", "cpu"])
    assert code == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len([e for e in errors if "bad-garbage" in e]) == 1, err
    assert len([e for e in errors if "bad-empty" in e]) == 1, err
    assert errors[-1].startswith("error: 2 of 5 utterance(s) could not be decoded"), err
    assert len(errors) == 3, err
    assert set(read_text(out)) == set(good)
    assert "(3 utterances)" in stdout


def test_two_workers_give_the_output_of_one(world: World, tmp_path: Path, run_cli) -> None:
    one = _decode_data(world, tmp_path, run_cli, "--nj", "1", "--batch-size", "2")
    two = _decode_data(world, tmp_path, run_cli, "--nj", "2", "--batch-size", "2")  # 8 utterances > batch: the worker path
    assert one.read_text() == two.read_text()
    assert set(read_text(two)) == set(world.wavs)


def test_joint_beam_search_with_and_without_a_language_model(world: World, tmp_path: Path, run_cli) -> None:
    beam = read_text(_decode_data(world, tmp_path, run_cli, "--beam-size", "3", "--ctc-weight", "0.3"))
    fused = read_text(_decode_data(world, tmp_path, run_cli, "--beam-size", "3", "--ctc-weight", "0.3", "--lm-dir", str(world.lm),
                                   "--lm-weight", "0.3"))
    assert set(beam) == set(fused) == set(world.wavs)


def test_a_language_model_over_another_token_list_is_refused(world: World, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "hyp.txt"
    code, _, err = run_cli(["asr", "decode", world.data, "--model-dir", world.model, "--out", out, "--device", "cpu",
                       "--beam-size", "3", "--lm-dir", world.other_lm, "--lm-weight", "0.3"])
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: ") and "tokens.txt differs" in err
    assert not out.exists()


@pytest.mark.parametrize("which", ["missing", "lm_dir", "empty_dir"])
def test_a_model_dir_that_is_not_a_recogniser_is_a_one_line_error(world: World, tmp_path: Path, run_cli, which: str) -> None:
    model_dir = {"missing": tmp_path / "nowhere", "lm_dir": world.lm, "empty_dir": tmp_path / "empty"}[which]
    if which == "empty_dir":
        model_dir.mkdir()
    out = tmp_path / "hyp.txt"
    code, _, err = run_cli(["asr", "decode", world.data, "--model-dir", model_dir, "--out", out, "--device", "cpu"])
    assert code == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not out.exists()
    if which == "lm_dir":
        assert "not a speech recogniser" in err


# ----------------------------------------------------------------------------- make-tokens


def test_make_tokens_units_layout(world: World) -> None:
    tokens = world.tokens.read_text(encoding="utf-8").split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert len(tokens) == len(set(tokens)) and "<sos/eos>" not in tokens[:-1]


@pytest.mark.parametrize("flags", [[], ["--frontend", "en_phone", "--units", "en_char"]])
def test_make_tokens_needs_exactly_one_of_frontend_and_units(world: World, tmp_path: Path, run_cli, flags: List[str]) -> None:
    out = tmp_path / "tokens.txt"
    code, _, err = run_cli(["make-tokens", world.data, *flags, "--out", out])
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: ") and "exactly one" in err, err
    assert not out.exists()


# ----------------------------------------------------------------------------- SentencePiece units (en_bpe)


class PieceWorld:
    model: Path
    lm: Path
    other_lm: Path
    tokens: Path


@pytest.fixture(scope="module")
def pieces(world: World) -> PieceWorld:
    """make-tokens --units en_bpe on the world's clips, a recogniser (80 steps) and an LM (3 steps) over those
    pieces, and an LM over the same tokens.txt but another SentencePiece model. The SentencePiece models
    are deleted after training: the model directories must carry their own."""
    import shutil

    p = PieceWorld()
    root = world.root / "pieces"
    work = root / "work"
    work.mkdir(parents=True)
    p.tokens = root / "tokens.txt"
    model = work / "bpe.model"
    _cli("make-tokens", world.data, "--units", "en_bpe", "--bpe-size", "60", "--bpe-model", model, "--out", p.tokens)
    units = ["task_conf.units=en_bpe", f"task_conf.bpe_model={model}"]
    p.model = _train_asr(world, root / "asr", p.tokens, 80, *units)
    lm_sets = [f"task_conf.train_text={world.data / 'text'}", f"task_conf.token_list={p.tokens}", "trainer.max_steps=3",
               "trainer.save_interval=3", "trainer.valid_interval=0"]
    p.lm = _train(REPO / "conf" / "lm" / "lstm_lm_tiny.yaml", root / "lm", *lm_sets, *units)
    _cli("make-tokens", world.data, "--units", "en_bpe", "--bpe-size", "60", "--bpe-type", "bpe", "--bpe-model", work / "other.model",
         "--out", work / "other_tokens.txt")
    p.other_lm = _train(REPO / "conf" / "lm" / "lstm_lm_tiny.yaml", root / "other_lm", *lm_sets, "task_conf.units=en_bpe",
                        f"task_conf.bpe_model={work / 'other.model'}")
    shutil.rmtree(work)
    return p


def test_an_en_bpe_model_directory_carries_its_sentencepiece_model(pieces: PieceWorld) -> None:
    from speechtools.train.assets import verify_assets
    from speechtools.text.asr_units import EnglishPieceUnits

    for model_dir in (pieces.model, pieces.lm):
        assert "bpe.model" in verify_assets(model_dir)
        assert "units: en_bpe" in (model_dir / "config.yaml").read_text()
    assert (pieces.model / "bpe.model").read_bytes() == (pieces.lm / "bpe.model").read_bytes()
    tokens = pieces.tokens.read_text(encoding="utf-8").split()
    assert sorted(tokens[2:-1]) == sorted(EnglishPieceUnits.load(pieces.model / "bpe.model").inventory())


@pytest.mark.parametrize("search", [[], ["--beam-size", "3", "--ctc-weight", "0.3", "--lm-weight", "0.3"]], ids=["greedy", "beam_lm"])
def test_an_en_bpe_recogniser_decodes_every_utterance_to_words(world: World, pieces: PieceWorld, tmp_path: Path, run_cli,
                                                               search: List[str]) -> None:
    from speechtools.asr.recognizer import DecodeOptions, Recognizer
    from speechtools.audio.extract import Job

    out = tmp_path / "hyp.txt"
    lm = ["--lm-dir", pieces.lm] if search else []
    code, _, err = run_cli(["asr", "decode", world.data, "--model-dir", pieces.model, "--out", out, "--device", "cpu", *search, *lm])
    assert code == 0, err
    hyps = read_text(out)
    assert set(hyps) == set(world.wavs)
    assert all(set(text) <= set("abcdefghijklmnopqrstuvwxyz' ") for text in hyps.values()), hyps  # ▁ became spaces
    assert all(hyps.values()) if search else any(hyps.values()), hyps  # 80 updates: words (of a sort) come out
    recognizer = Recognizer(pieces.model, DecodeOptions(ctc_weight=1.0), device="cpu")  # greedy CTC, as the CLI's default
    mels = [recognizer.load(Job(u, str(world.wavs[u]))) for u in sorted(world.wavs)[:2]]
    assert recognizer.loaded.task.frontend.name == "en_bpe"
    if not search:
        assert recognizer.recognize(mels) == [hyps[u] for u in sorted(world.wavs)[:2]]


def test_a_language_model_with_another_sentencepiece_model_is_refused(world: World, pieces: PieceWorld, tmp_path: Path,
                                                                       run_cli) -> None:
    out = tmp_path / "hyp.txt"
    code, _, err = run_cli(["asr", "decode", world.data, "--model-dir", pieces.model, "--out", out, "--device", "cpu",
                       "--beam-size", "3", "--lm-dir", pieces.other_lm, "--lm-weight", "0.3"])
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: ") and "units (en_bpe) are not the recogniser's" in err, err
    code, _, err = run_cli(["asr", "decode", world.data, "--model-dir", pieces.model, "--out", out, "--device", "cpu",
                       "--beam-size", "3", "--lm-dir", world.lm, "--lm-weight", "0.3"])  # characters: another tokens.txt
    assert code == 1 and "tokens.txt differs" in err
    assert not out.exists()


# ----------------------------------------------------------------------------- pseudo-pairs transcribe (LRSpeech)


def test_transcribe_writes_a_pair_for_every_utterance_or_a_reason(world: World, pieces: PieceWorld, tmp_path: Path, run_cli) -> None:
    from speechtools.data.kaldi import DataDir
    from speechtools.data.synthetic import read_marker

    unpaired = tmp_path / "unpaired"
    good = dict(sorted(world.wavs.items())[:4])
    (tmp_path / "garbage.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    unpaired.mkdir()
    write_scp(unpaired / "wav.scp", {**good, "bad-garbage": tmp_path / "garbage.wav"})
    (unpaired / "utt2spk").write_text("".join(f"{u} spk\n" for u in sorted([*good, "bad-garbage"])))
    out = tmp_path / "pseudo"
    code, stdout, err = run_cli(["pseudo-pairs", "transcribe", unpaired, "--asr-model", pieces.model, "--out-data", out, "--device", "cpu"])
    assert code == 1 and "Traceback" not in err, err
    assert [line for line in err.splitlines() if line.startswith("error:")][-1].startswith("error: 1 utterance(s) could not be decoded")
    data = DataDir.load(out)
    dropped = read_text(out / "dropped")
    assert set(data.text) | set(dropped) == set(good) | {"bad-garbage"}  # every unpaired item: a pair or a reason
    assert "bad-garbage" in dropped and set(data.text).isdisjoint(dropped)
    assert all(reason == "empty hypothesis" for u, reason in dropped.items() if u != "bad-garbage")
    reference = tmp_path / "reference.txt"
    assert run_cli(["asr", "decode", world.data, "--model-dir", pieces.model, "--out", reference, "--device", "cpu"])[0] == 0
    assert data.text and all(read_text(reference)[u] == t for u, t in data.text.items())  # the same hypotheses as asr decode
    marker = read_marker(out)
    assert (marker.kind, marker.kept, marker.dropped) == ("text", len(data.text), len(dropped))


def test_a_recogniser_that_hears_nothing_gives_no_pairs_and_every_reason(world: World, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "pseudo"
    code, _, err = run_cli(["pseudo-pairs", "transcribe", world.data, "--asr-model", world.model, "--out-data", out, "--device", "cpu"])
    hyps = read_text(_decode_data(world, tmp_path, run_cli))
    assert not any(h.strip() for h in hyps.values())  # the world's 20-step recogniser hears nothing yet
    assert code == 0 and "warning: no pseudo-pairs" in err
    assert read_text(out / "text") == {} and set(read_text(out / "dropped")) == set(hyps)


def test_transcribe_refuses_to_replace_a_folder_that_is_not_a_data_directory(world: World, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    code, _, err = run_cli(["pseudo-pairs", "transcribe", world.data, "--asr-model", world.model, "--out-data", out, "--device", "cpu"])
    assert code != 0 and "thesis.tex" in err and (out / "thesis.tex").exists()
