"""SentencePiece output units (``en_bpe``): training, segmentation, the token list of ``make-tokens``, and their errors.

The models are trained on the 32 transcripts of the bundled LJSpeech mini corpus and tried on the
100 raw LJSpeech lines of tests/fixtures/text (numbers, abbreviations, quotes, apostrophes): text
the model never saw.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import pytest

from speechtools.config import from_dict
from speechtools.errors import ConfigError, UserError
from speechtools.tasks.asr import ASRTaskConfig
from speechtools.tasks.lm import LMTaskConfig
from speechtools.text.asr_units import (
    BLANK, SOS_EOS, WORD_START, EnglishCharUnits, EnglishPieceUnits, get_asr_units, train_sentencepiece, train_sentencepiece_model,
)
from speechtools.text.tokens import UNK, TokenList

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "egs" / "ljspeech" / "mini_corpus" / "metadata.csv"
SAMPLE = REPO / "tests" / "fixtures" / "text" / "ljspeech_normalization_sample.csv"
LETTERS = "abcdefghijklmnopqrstuvwxyz'"


def raw_lines(path: Path) -> List[str]:
    """The raw (unnormalised) transcripts of an LJSpeech ``metadata.csv``."""
    return [line.split("|")[1] for line in path.read_text(encoding="utf-8").splitlines()]


TRAIN = raw_lines(MINI)
UNSEEN = raw_lines(SAMPLE)


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def units(request: pytest.FixtureRequest) -> EnglishPieceUnits:
    return EnglishPieceUnits.train(TRAIN, 100, request.param)


def test_detokenize_inverts_tokenize_on_real_english(units: EnglishPieceUnits) -> None:
    chars = EnglishCharUnits()
    for text in TRAIN + UNSEEN:
        pieces = units.tokenize(text)
        assert pieces and units.detokenize(pieces) == chars.normalize(text) == units.normalize(text), text
        assert pieces[0].startswith(WORD_START)  # every word starts a piece: ▁ stands for the space before it
        assert sum(p.count(WORD_START) for p in pieces) == len(units.normalize(text).split())


def test_pieces_are_longer_than_characters_and_never_unknown(units: EnglishPieceUnits) -> None:
    """Every English letter is a piece, so unseen text segments without <unk>; pieces shorten the sequences."""
    inventory = set(units.inventory())
    assert set(LETTERS) <= inventory and UNK not in inventory and WORD_START in "".join(inventory)
    n_pieces = n_chars = 0
    for text in UNSEEN:
        pieces = units.tokenize(text)
        assert set(pieces) <= inventory, text
        n_pieces += len(pieces)
        n_chars += len(EnglishCharUnits().tokenize(text))
    assert n_pieces < 0.8 * n_chars, (n_pieces, n_chars)


def test_unigram_and_bpe_are_both_trained_and_differ() -> None:
    unigram, bpe = (EnglishPieceUnits.train(TRAIN, 100, t) for t in ("unigram", "bpe"))
    assert unigram.model != bpe.model and unigram.identity != bpe.identity
    assert 50 < len(unigram.inventory()) < 100 and 50 < len(bpe.inventory()) < 100  # soft limit: 99 at most (100 - <unk>)


def test_training_is_deterministic_and_written_atomically(tmp_path: Path) -> None:
    normalized = [EnglishCharUnits().normalize(t) for t in TRAIN]
    for model_type in ("unigram", "bpe"):
        a, b = tmp_path / f"{model_type}_a.model", tmp_path / f"{model_type}_b.model"
        returned = train_sentencepiece(normalized, a, 80, model_type)
        train_sentencepiece(normalized, b, 80, model_type)
        assert a.read_bytes() == b.read_bytes() == returned
        assert EnglishPieceUnits.load(a).identity == EnglishPieceUnits.load(b).identity
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bpe_a.model", "bpe_b.model", "unigram_a.model", "unigram_b.model"]
    with pytest.raises(UserError, match="cannot write"):
        train_sentencepiece(normalized, tmp_path / "no_such_folder" / "x.model", 80)


def test_a_tiny_corpus_gives_fewer_pieces_instead_of_failing() -> None:
    units = EnglishPieceUnits.train(["a cat", "the dog"], 1000)
    assert set(LETTERS) <= set(units.inventory()) and len(units.inventory()) < 100
    assert units.detokenize(units.tokenize("Zebras quickly jump!")) == "zebras quickly jump"


@pytest.mark.parametrize("sentences, size, model_type, message", [
    (["a cat"], 10, "unigram", "below the 29 pieces"),  # 27 characters, ▁ and <unk>
    (["a cat"], 100, "word", "unknown SentencePiece model type"),
    (["", "  "], 100, "unigram", "no text"),
])
def test_training_errors_are_user_errors(sentences: List[str], size: int, model_type: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        train_sentencepiece_model(sentences, size, model_type, LETTERS)


def test_a_missing_sentencepiece_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    with pytest.raises(UserError) as exc:
        EnglishPieceUnits.train(TRAIN, 100)
    assert str(exc.value) == "sentencepiece is not installed: pip install 'speechtools[asr]'"


def test_get_asr_units_needs_the_model_exactly_for_pieces(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="task_conf.bpe_model"):
        get_asr_units("en_bpe")
    with pytest.raises(UserError, match="take no SentencePiece model"):
        get_asr_units("en_char", tmp_path / "bpe.model")
    with pytest.raises(UserError, match="cannot read the SentencePiece model") as exc:
        get_asr_units("en_bpe", tmp_path / "missing.model")
    assert exc.value.path == str(tmp_path / "missing.model")
    (tmp_path / "garbage.model").write_bytes(b"\x00not a model at all")
    with pytest.raises(UserError, match="not a SentencePiece model"):
        get_asr_units("en_bpe", tmp_path / "garbage.model")
    model = tmp_path / "bpe.model"
    train_sentencepiece([EnglishCharUnits().normalize(t) for t in TRAIN], model, 60)
    units = get_asr_units("en_bpe", model)
    assert isinstance(units, EnglishPieceUnits) and units.name == "en_bpe" and units.source == str(model)
    assert get_asr_units("en_char").identity == "en_char"


@pytest.mark.parametrize("config", [ASRTaskConfig, LMTaskConfig])
def test_the_task_configs_pair_units_and_bpe_model(config: type) -> None:
    with pytest.raises(ConfigError, match="units en_bpe need bpe_model"):
        from_dict(config, {"units": "en_bpe"}, "task_conf")
    with pytest.raises(ConfigError, match="bpe_model is only for units en_bpe, not en_char"):
        from_dict(config, {"units": "en_char", "bpe_model": "data/bpe.model"}, "task_conf")
    assert from_dict(config, {"units": "en_bpe", "bpe_model": "data/bpe.model"}, "task_conf").bpe_model == "data/bpe.model"


# ----------------------------------------------------------------------------- make-tokens --units en_bpe


def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    lines = MINI.read_text(encoding="utf-8").splitlines()
    (data / "text").write_text("".join(f"{line.split('|')[0]} {line.split('|')[1]}\n" for line in lines), encoding="utf-8")
    return data


@pytest.mark.parametrize("model_type", [None, "bpe"])
def test_make_tokens_trains_the_model_and_lists_every_piece(tmp_path: Path, run_cli, model_type: str) -> None:
    data, out, model = data_dir(tmp_path), tmp_path / "tokens.txt", tmp_path / "bpe.model"
    code, stdout, err = run_cli(["make-tokens", data, "--units", "en_bpe", "--bpe-size", "80", "--bpe-model", model, "--out", out,
                            *(["--bpe-type", model_type] if model_type else [])])
    assert code == 0, err
    assert f"SentencePiece {model_type or 'unigram'} model" in stdout
    units = EnglishPieceUnits.load(model)
    assert units.model == EnglishPieceUnits.train(TRAIN, 80, model_type or "unigram").model  # the transcripts, normalised
    tokens = TokenList.load(out).tokens
    assert tokens[:2] == [BLANK, UNK] and tokens[-1] == SOS_EOS
    assert sorted(tokens[2:-1]) == sorted(units.inventory())  # every piece, nothing else
    seen: dict = {}
    for text in TRAIN:
        for piece in units.tokenize(text):
            seen[piece] = seen.get(piece, 0) + 1
    counts = [seen.get(t, 0) for t in tokens[2:-1]]
    assert counts == sorted(counts, reverse=True)  # seen pieces by frequency, then the unseen ones
    assert all(p in tokens for text in UNSEEN for p in units.tokenize(text))  # no transcript meets <unk>


@pytest.mark.parametrize("flags, message", [
    (["--units", "en_bpe", "--bpe-size", "80"], "give --bpe-model"),
    (["--units", "en_bpe"], "give --bpe-model and --bpe-size"),
    (["--units", "en_bpe", "--bpe-model", "{tmp}/bpe.model"], "give --bpe-size"),
    (["--units", "en_char", "--bpe-size", "80"], "--bpe-size: only with --units en_bpe"),
    (["--frontend", "en_phone", "--bpe-model", "{tmp}/bpe.model", "--bpe-type", "bpe"], "--bpe-model, --bpe-type: only with --units en_bpe"),
    (["--units", "en_bpe", "--bpe-size", "20", "--bpe-model", "{tmp}/bpe.model"], "below the 29 pieces"),
])
def test_make_tokens_bpe_option_errors_are_one_line(tmp_path: Path, run_cli, flags: List[str], message: str) -> None:
    data, out = data_dir(tmp_path), tmp_path / "tokens.txt"
    code, _, err = run_cli(["make-tokens", data, *[f.format(tmp=tmp_path) for f in flags], "--out", out])
    last = err.strip().splitlines()[-1]
    assert code == 1 and "Traceback" not in err, err
    assert last.startswith("error: ") and message in last, err
    assert not out.exists() and not (tmp_path / "bpe.model").exists()


def test_make_tokens_writes_both_files_or_neither(tmp_path: Path, run_cli) -> None:
    data, model = data_dir(tmp_path), tmp_path / "bpe.model"
    code, _, err = run_cli(["make-tokens", data, "--units", "en_bpe", "--bpe-size", "80", "--bpe-model", model, "--out", "/dev/full"])
    assert code == 1 and err.strip().splitlines()[-1].startswith("error: /dev/full: cannot write")
    assert not model.exists()
