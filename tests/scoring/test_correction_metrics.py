"""Correction metrics on hand-worked examples (positions = source tokens and gaps)."""

from __future__ import annotations

import math

import pytest

from speechtools.errors import UserError
from speechtools.scoring.correction_metrics import correction_metrics, edit_counts
from speechtools.scoring.wer import align


def test_hand_worked_mixed_example():
    # src  the cat sat in  mat      ref: the [black] cat sat on mat     out: the hat sat on mat
    # errors: gap before "cat" (black missing), token "in" (-> on)          = 2
    # edits:  token "cat" (-> hat, a false edit), token "in" (-> on)         = 2
    # edited errors: "in" = 1, corrected: "in" -> "on" equals the target     = 1
    m = correction_metrics({"u": "the cat sat in mat"}, {"u": "the hat sat on mat"}, {"u": "the black cat sat on mat"})
    assert (m["errors"], m["edited"], m["edited_errors"], m["corrected"]) == (2, 2, 1, 1)
    assert (m["p_edit"], m["r_edit"], m["p_right"]) == (0.5, 0.5, 1.0)
    # before: 1 ins + 1 sub over 6 words; after: "the hat sat on mat": black missing, hat/cat = 2
    assert m["wer_before"] == pytest.approx(100 * 2 / 6) and m["wer_after"] == pytest.approx(100 * 2 / 6)
    assert m["werr"] == 0.0


def test_edited_error_not_corrected_and_corpus_sums():
    m = correction_metrics({"a": "a b c", "b": "x y"}, {"a": "a y c", "b": "x y"}, {"a": "a x c", "b": "x y"})
    assert (m["errors"], m["edited"], m["edited_errors"], m["corrected"]) == (1, 1, 1, 0)
    assert (m["p_edit"], m["r_edit"], m["p_right"]) == (1.0, 1.0, 0.0)
    assert m["wer_before"] == pytest.approx(20.0) and m["wer_after"] == pytest.approx(20.0)


def test_perfect_correction_of_deletion_and_insertion():
    m = correction_metrics({"u": "a a b d"}, {"u": "a b c d"}, {"u": "a b c d"})
    # src->ref: one "a" deleted (token error) and "c" missing before "d" (gap error); output = target.
    assert (m["errors"], m["edited"], m["edited_errors"], m["corrected"]) == (2, 2, 2, 2)
    assert (m["p_edit"], m["r_edit"], m["p_right"]) == (1.0, 1.0, 1.0)
    assert m["wer_after"] == 0.0 and m["werr"] == 100.0


def test_untouched_source_has_no_edits():
    m = correction_metrics({"u": "a b"}, {"u": "a b"}, {"u": "a c"})
    assert m["edited"] == 0 and math.isnan(m["p_edit"]) and m["r_edit"] == 0.0 and math.isnan(m["p_right"])


def test_edit_counts_on_gap_insertion_false_edit():
    src = ["a", "b"]
    counts = edit_counts(src, align(src, ["a", "b"]), align(src, ["a", "x", "b"]))
    assert (counts.errors, counts.edited, counts.edited_errors, counts.corrected) == (0, 1, 0, 0)


def test_missing_utterance_is_user_error():
    with pytest.raises(UserError, match="missing from the corrected output"):
        correction_metrics({"u": "a"}, {}, {"u": "a"})


def test_cli(tmp_path, run_cli):
    (tmp_path / "src").write_text("u1 the cat sat in mat\nu2 a b c\n", encoding="utf-8")
    (tmp_path / "hyp").write_text("u1 the hat sat on mat\nu2 a y c\n", encoding="utf-8")
    (tmp_path / "ref").write_text("u1 the black cat sat on mat\nu2 a x c\n", encoding="utf-8")
    code, out, err = run_cli(["score", "correction", "--src", str(tmp_path / "src"), "--hyp", str(tmp_path / "hyp"),
                              "--ref", str(tmp_path / "ref"), "--json", str(tmp_path / "m.json")])
    assert code == 0, err
    assert out.splitlines() == [
        "WER before: 33.33 [ 3 / 9 ]",
        "WER after:  33.33 [ 3 / 9 ]",
        "WERR: 0.00%",
        "P_edit:  66.67% [ 2 edited errors / 3 edited positions ]",
        "R_edit:  66.67% [ 2 edited errors / 3 error positions ]",
        "P_right: 50.00% [ 1 corrected / 2 edited errors ]",
    ]
    (tmp_path / "short").write_text("u1 x\n", encoding="utf-8")
    code, _, err = run_cli(["score", "correction", "--src", str(tmp_path / "short"), "--hyp", str(tmp_path / "hyp"),
                            "--ref", str(tmp_path / "ref")])
    assert code == 1 and err.strip() == f"error: {tmp_path / 'short'}: no line for reference utterance 'u2' (1 missing)"
