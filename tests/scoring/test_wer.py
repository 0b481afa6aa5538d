"""WER counts, Kaldi compute-wer output format and modes, checked against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from speechtools.errors import UserError
from speechtools.scoring.normalize import Normalizer
from speechtools.scoring.text_formats import read_transcripts
from speechtools.scoring.wer import WerResult, align, score_corpus


def test_align_substitution_and_deletion_hand_worked():
    ops = align("the cat sat on the mat".split(), "the cat sit on mat".split())
    assert ops == [
        ("C", "the", "the"),
        ("C", "cat", "cat"),
        ("S", "sat", "sit"),
        ("C", "on", "on"),
        ("D", "the", None),
        ("C", "mat", "mat"),
    ]


def test_align_insertion_hand_worked():
    assert align(["hello", "world"], ["hello", "big", "world"]) == [
        ("C", "hello", "hello"),
        ("I", None, "big"),
        ("C", "world", "world"),
    ]


def test_kaldi_tie_break_swapped_pair():
    # Hand-run of Kaldi's LevenshteinEditDistance on ref "a b", hyp "b a": in the last cell
    # sub = del = ins = 2, so sub is not strictly cheaper and del is not < ins -> insertion;
    # the split is 1 ins + 1 del (sclite/jiwer may report 2 sub), total 2 either way. The
    # insertion continues from cell (hyp 1, ref 2), reached by deleting a then matching b.
    ops = align(["a", "b"], ["b", "a"])
    assert [o for o, _, _ in ops].count("I") == 1
    assert [o for o, _, _ in ops].count("D") == 1
    assert [o for o, _, _ in ops].count("S") == 0
    assert ops == [("D", "a", None), ("C", "b", "b"), ("I", None, "a")]


def test_kaldi_prefers_deletion_over_equal_cost_match():
    # ref "a a", hyp "a": cell (1, 2) has sub = del = 1 -> Kaldi takes the deletion of the 2nd a.
    assert align(["a", "a"], ["a"]) == [("C", "a", "a"), ("D", "a", None)]


def test_empty_sequences():
    assert align([], []) == []
    assert align([], ["x", "y"]) == [("I", None, "x"), ("I", None, "y")]
    assert align(["x"], []) == [("D", "x", None)]


def test_kaldi_line_reproduces_aishell_result_format():
    # egs/aishell/s5/RESULTS: %WER 7.46 [ 7813 / 104765, 287 ins, 472 del, 7054 sub ] on 7176 utts.
    result = WerResult(n_ref=104765, ins=287, dels=472, sub=7054, n_sent=7176, n_sent_err=3237)
    assert result.kaldi_lines() == [
        "%WER 7.46 [ 7813 / 104765, 287 ins, 472 del, 7054 sub ]",
        "%SER 45.11 [ 3237 / 7176 ]",
        "Scored 7176 sentences, 0 not present in hyp.",
    ]


def test_score_corpus_counts_and_lines():
    refs = {"u1": "the cat sat on the mat", "u2": "hello world", "u3": "a b c"}
    hyps = {"u1": "the cat sit on mat", "u2": "hello big world", "u3": "a b c"}
    res = score_corpus(refs, hyps)
    assert res.counts() == {"n_ref": 11, "ins": 1, "del": 1, "sub": 1, "errors": 3,
                            "n_sent": 3, "n_sent_err": 2, "missing": 0}
    assert res.kaldi_lines()[0] == "%WER 27.27 [ 3 / 11, 1 ins, 1 del, 1 sub ]"
    assert res.kaldi_lines()[1] == "%SER 66.67 [ 2 / 3 ]"
    assert res.utt_counts.tolist() == [[6, 0, 1, 1], [2, 1, 0, 0], [3, 0, 0, 0]]


def test_modes_follow_kaldi():
    refs = {"u1": "a b", "u2": "c d e"}
    hyps = {"u1": "a x", "zz": "ignored"}
    with pytest.raises(UserError, match="u2"):
        score_corpus(refs, hyps, mode="strict")
    present = score_corpus(refs, hyps, mode="present")
    assert present.kaldi_lines() == [
        "%WER 50.00 [ 1 / 2, 0 ins, 0 del, 1 sub ] [PARTIAL]",
        "%SER 100.00 [ 1 / 1 ]",
        "Scored 1 sentences, 1 not present in hyp.",
    ]
    scored_all = score_corpus(refs, hyps, mode="all")
    assert scored_all.kaldi_lines() == [
        "%WER 80.00 [ 4 / 5, 0 ins, 3 del, 1 sub ] [PARTIAL]",
        "%SER 100.00 [ 2 / 2 ]",
        "Scored 2 sentences, 1 not present in hyp.",
    ]


def test_empty_reference_words_is_user_error():
    with pytest.raises(UserError, match="no words"):
        score_corpus({"u": ""}, {"u": "x"})


def test_cer_removes_spaces_and_keeps_tags():
    norm = Normalizer(cer=True)
    assert norm("我 爱 北京 <unk> 天安门") == ["我", "爱", "北", "京", "<unk>", "天", "安", "门"]
    res = score_corpus({"u": norm("今天 天气 很好")}, {"u": norm("今 天天 气很 坏")}, unit="CER")
    assert (res.n_ref, res.sub, res.ins, res.dels) == (6, 1, 0, 0)


def test_normalizer_case_punct_and_filters():
    norm = Normalizer(ignore_case=True, remove_punct=True, filter_tokens=("<unk>",), filter_regex=r"\[.*\]")
    assert norm("Hello, <unk> World! [noise] -- don't wolf-dog.") == ["hello", "world", "dont", "wolf", "dog"]
    assert Normalizer(remove_punct=True)("<sil> a.") == ["<sil>", "a"]


def test_kaldi_and_trn_readers_agree(tmp_path):
    kaldi = tmp_path / "text"
    trn = tmp_path / "hyp.trn"
    kaldi.write_text("spk1-u1 hello world\nspk1-u2\n\nspk2-u3 a  b\n", encoding="utf-8")
    trn.write_text("hello world (spk1-u1)\n (spk1-u2)\na b (spk2-u3)\n", encoding="utf-8")
    a = read_transcripts(kaldi)
    b = read_transcripts(trn)
    assert a.text == b.text == {"spk1-u1": "hello world", "spk1-u2": "", "spk2-u3": "a b"}
    assert a.lines["spk2-u3"] == 4
    plain = tmp_path / "noext"
    plain.write_text("x y (id1)\nz (id2)\n", encoding="utf-8")
    assert read_transcripts(plain).text == {"id1": "x y", "id2": "z"}
    assert read_transcripts(plain, "kaldi").text == {"x": "y (id1)", "z": "(id2)"}


def test_reader_errors_name_file_and_line(tmp_path):
    dup = tmp_path / "text"
    dup.write_text("u1 a\nu2 b\nu1 c\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        read_transcripts(dup)
    assert exc.value.line == 3 and "u1" in exc.value.message
    bad = tmp_path / "x.trn"
    bad.write_text("a b (u1)\nno id here\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        read_transcripts(bad)
    assert exc.value.line == 2
    with pytest.raises(UserError, match="no such file"):
        read_transcripts(tmp_path / "missing")


def test_sentence_error_counts_identical_token_lists_only():
    res = score_corpus({"a": ["x"], "b": ["y", "z"]}, {"a": ["x"], "b": ["z", "y"]})
    assert res.n_sent_err == 1
    assert np.array_equal(res.utt_counts[:, 0], [1, 2])


def test_oracle_hand_worked_ties_go_to_the_better_ranked_candidate():
    from speechtools.scoring.wer import oracle_corpus

    refs = {"u1": "the cat sat on the mat", "u2": "hello world", "u3": "a b c"}
    nbest = {
        "u1": ["the cat sit on mat", "the cat sat on mat", "a cat sat on the mat"],  # 2, 1, 1 errors -> index 1 (tie: the earlier)
        "u2": ["hello world", "hello word"],  # 0, 1 -> index 0
        "u3": ["x y"],  # 2 sub + 1 del
    }
    result, chosen = oracle_corpus(refs, nbest)
    assert chosen == {"u1": 1, "u2": 0, "u3": 0}
    assert result.kaldi_lines()[:2] == ["%WER 36.36 [ 4 / 11, 0 ins, 2 del, 2 sub ]", "%SER 66.67 [ 2 / 3 ]"]
    assert result.utt_ids == ["u1", "u2", "u3"] and result.utt_counts.tolist() == [[6, 0, 1, 0], [2, 0, 0, 0], [3, 0, 1, 2]]
    first, chosen_first = oracle_corpus(refs, nbest, max_candidates=1)  # the 1-best alone: plain scoring
    assert chosen_first == {"u1": 0, "u2": 0, "u3": 0}
    assert first.kaldi_lines() == score_corpus(refs, {u: c[0] for u, c in nbest.items()}).kaldi_lines()
    assert first.errors == 5 and result.errors <= first.errors


def test_oracle_modes_for_an_utterance_without_a_list():
    from speechtools.scoring.wer import oracle_corpus

    refs = {"u1": "a b", "u2": "c d"}
    with pytest.raises(UserError, match="no hypothesis for utterance 'u2'"):
        oracle_corpus(refs, {"u1": ["a b"]})
    result, chosen = oracle_corpus(refs, {"u1": ["a", "a b"]}, mode="all")
    assert chosen == {"u1": 1} and result.errors == 2 and result.missing == ["u2"]  # u2 scored as empty: 2 deletions
    result, chosen = oracle_corpus(refs, {"u1": ["a", "a b"]}, mode="present")
    assert chosen == {"u1": 1} and result.errors == 0 and result.n_sent == 1
