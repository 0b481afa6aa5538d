"""WCR and ADR (LRSpeech's distillation filter) on constructed attention matrices, and ``score attention``."""

from __future__ import annotations

import json
from itertools import product

import numpy as np
import pytest

from speechtools.errors import UserError
from speechtools.scoring.attention import (
    AttentionScore,
    attention_diagonal_ratio,
    check_attention,
    keep_by_attention,
    spans_from_counts,
    spans_from_tokens,
    word_coverage_ratio,
)


def hard_alignment(durations):
    """One-hot rows: frame s attends the token whose duration span holds it."""
    tokens = np.repeat(np.arange(len(durations)), durations)
    a = np.zeros((len(tokens), len(durations)))
    a[np.arange(len(tokens)), tokens] = 1.0
    return a


def test_perfect_diagonal_scores_one():
    a = hard_alignment([3] * 10)
    assert word_coverage_ratio(a) == 1.0
    assert attention_diagonal_ratio(a) == 1.0
    assert word_coverage_ratio(a, reduce="min") == 1.0


def test_a_skipped_word_lowers_wcr_by_its_share():
    # 5 words of 2 tokens; word 3 (tokens 4, 5) gets no frame: the decoder skipped it
    durations = [3, 3, 3, 3, 0, 0, 3, 3, 3, 3]
    a = hard_alignment(durations)
    words = spans_from_counts([2] * 5, 10)
    assert word_coverage_ratio(a, words) == pytest.approx(1.0 - 1.0 / 5)
    assert word_coverage_ratio(a, words, reduce="min") == 0.0
    # every token its own word: 2 of 10 tokens skipped
    assert word_coverage_ratio(a) == pytest.approx(0.8)


def test_wcr_takes_the_peak_over_frames_and_the_word_tokens():
    a = np.array([[0.6, 0.4, 0.0], [0.3, 0.3, 0.4], [0.0, 0.1, 0.9]])
    # peaks per token 0.6, 0.4, 0.9; words {0, 1} and {2}
    assert word_coverage_ratio(a, [np.array([0, 1]), np.array([2])]) == pytest.approx((0.6 + 0.9) / 2)
    assert word_coverage_ratio(a) == pytest.approx((0.6 + 0.4 + 0.9) / 3)


def test_adr_against_brute_force_band_definition():
    rng = np.random.default_rng(0)
    for frames, tokens in product([5, 17], [3, 11]):
        a = rng.random((frames, tokens))
        a /= a.sum(axis=1, keepdims=True)
        for band, min_band in [(0.1, 1.0), (0.3, 0.5), (0.0, 2.0)]:
            b = max(min_band, band * tokens)
            inside = 0.0
            for s in range(frames):
                centre = (s + 0.5) * tokens / frames - 0.5
                for t in range(tokens):
                    if abs(t - centre) <= b + 1e-9:
                        inside += a[s, t]
            assert attention_diagonal_ratio(a, band, min_band) == pytest.approx(inside / a.sum())


def test_adr_drops_for_attention_stuck_on_one_token():
    a = np.zeros((40, 20))
    a[:, 0] = 1.0  # every frame attends the first token: the decoder never advances
    # band b = max(1, 0.1 * 20) = 2 tokens; diagonal t*(s) = s/2 - 1/4 is within 2 of token 0 for s = 0..4
    assert attention_diagonal_ratio(a) == pytest.approx(5 / 40)
    assert word_coverage_ratio(a) == pytest.approx(1 / 20)


def test_word_spans_from_tokens_skip_separators():
    spans = spans_from_tokens(["HH", "AH0", "<space>", "W", "ER1", ",", "<space>", "D"], ["<space>", ",", "."])
    assert [s.tolist() for s in spans] == [[0, 1], [3, 4], [7]]
    assert [s.tolist() for s in spans_from_tokens([".", "."], ["."])] == [[0, 1]]


def test_filter_keeps_exactly_the_pairs_above_both_thresholds():
    scores = {"a": AttentionScore(0.9, 0.9), "b": AttentionScore(0.5, 0.95), "c": AttentionScore(0.95, 0.4),
              "d": AttentionScore(0.7, 0.7), "e": AttentionScore(0.69999, 0.8)}
    kept, dropped = keep_by_attention(scores, min_wcr=0.7, min_adr=0.7)
    assert kept == ["a", "d"]
    assert dropped == ["b", "c", "e"]


@pytest.mark.parametrize("bad", [np.zeros((3,)), np.zeros((0, 4)), np.full((2, 2), np.nan), -np.ones((2, 2))])
def test_bad_matrices_are_user_errors(bad):
    with pytest.raises(UserError):
        check_attention(bad, "x.npy")


def test_word_counts_must_sum_to_the_tokens():
    with pytest.raises(UserError, match="sum to 5"):
        spans_from_counts([2, 3], 6, "words", 3)


def test_score_attention_cli_table_and_json(run_cli, tmp_path):
    att = tmp_path / "att"
    att.mkdir()
    np.save(att / "u1.npy", hard_alignment([2] * 6).astype(np.float32))
    np.save(att / "u2.npy", hard_alignment([2, 2, 0, 0, 2, 2]).astype(np.float32))
    words = tmp_path / "words"
    words.write_text("u1 2 2 2\nu2 2 2 2\n")
    out = tmp_path / "scores.json"
    code, stdout, _ = run_cli(["score", "attention", str(att), "--words", str(words), "--json", str(out)])
    assert code == 0
    assert "|u2|0.6667|" in stdout
    report = json.loads(out.read_text())
    assert report["utterances"]["u1"] == {"wcr": 1.0, "adr": 1.0}
    assert report["utterances"]["u2"]["wcr"] == pytest.approx(2 / 3)
    assert report["mean"]["wcr"] == pytest.approx((1 + 2 / 3) / 2)


def test_score_attention_cli_errors_are_one_line(run_cli, tmp_path):
    att = tmp_path / "att"
    att.mkdir()
    np.save(att / "u1.npy", hard_alignment([2] * 3))
    words = tmp_path / "words"
    words.write_text("u1 2 x\n")
    code, _, err = run_cli(["score", "attention", str(att), "--words", str(words)])
    assert code != 0 and "words:1" in err and len(err.strip().splitlines()) == 1
    (att / "u2.npy").write_bytes(b"not a numpy file")
    code, _, err = run_cli(["score", "attention", str(att)])
    assert code != 0 and "u2.npy" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["score", "attention", str(tmp_path / "missing")])
    assert code != 0 and len(err.strip().splitlines()) == 1
