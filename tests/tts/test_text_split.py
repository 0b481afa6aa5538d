"""Sentence and clause splitting of long synthesis input."""

import time

from speechtools.text.frontend import get_frontend
from speechtools.tts.text_split import split_sentences, split_tokens


def test_sentences_keep_abbreviations_and_quotes():
    text = 'Mr. Smith went home.  "Why?" she asked! It was 3 p.m. and late'
    assert split_sentences(text) == ['Mr. Smith went home.', '"Why?"', "she asked!", "It was 3 p.m. and late"]
    assert split_sentences("   ") == []


def test_token_chunks_cut_at_pauses_then_word_boundaries():
    tokens = ["A", "B", ",", "C", "<space>", "D", "E", "<space>", "F"]
    assert split_tokens(tokens, 20) == [tokens]
    assert split_tokens(tokens, 5) == [["A", "B", ","], ["C", "<space>", "D", "E"], ["F"]]
    chunks = split_tokens(["X"] * 7, 3)
    assert chunks == [["X"] * 3, ["X"] * 3, ["X"]]


def _best_seconds(run, *args):  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        run(*args)
        best = min(best, time.perf_counter() - start)
    return best


def _pieces(line: str, max_tokens: int):  # type: ignore[no-untyped-def]
    front = get_frontend("en_char")
    return [chunk for sentence in split_sentences(line) for chunk in split_tokens(front.tokenize(sentence), max_tokens)]


def test_long_line_without_punctuation_is_cut_at_word_boundaries() -> None:
    words = [("alpha", "be", "gamma", "delta")[i % 4] + "xyz"[: i % 3] for i in range(5000)]
    line = " ".join(words)
    chunks = _pieces(line, 300)
    assert len(chunks) > 5000 * 5 // 300 and all(0 < len(c) <= 300 for c in chunks)
    # Each cut falls on a word boundary (dropped): joining the chunks with it gives the line back.
    tokens = get_frontend("en_char").tokenize(line)
    assert [t for c in chunks for t in c + ["<space>"]][:-1] == tokens
    assert all(c[0] != "<space>" and c[-1] != "<space>" for c in chunks)


def test_splitting_is_linear_in_the_line() -> None:
    def line(n: int) -> str:
        return " ".join(("alpha", "be", "gamma", "delta")[i % 4] for i in range(n))

    small, big = (_best_seconds(_pieces, line(n), 300) for n in (5000, 10000))
    assert big < 1.0 and big < 3 * small + 0.005, (small, big)
    tokens = ["A", "B", "C"] * 100000  # one 300,000-token word: hard cuts at the limit
    small, big = (_best_seconds(split_tokens, tokens[:n], 50) for n in (150000, 300000))
    assert big < 1.0 and big < 3 * small + 0.005, (small, big)
    assert [len(c) for c in split_tokens(tokens, 50)] == [50] * 6000
    sentences = "a. " * 20000  # single-letter initials never end a sentence: one long pending piece
    small, big = (_best_seconds(split_sentences, sentences[:n]) for n in (30000, 60000))
    assert big < 1.0 and big < 3 * small + 0.005, (small, big)
