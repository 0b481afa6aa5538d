"""FastCorrect 2 multi-candidate alignment: anchor, pronunciation-aware alignment, the aligned
matrix, durations and candidate labels, n-best formats, multi-candidate noise."""

from __future__ import annotations

import itertools
import random
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pytest

from speechtools.correction.edit_alignment import align_pair, expand
from speechtools.correction.multi_alignment import (
    VOID,
    MultiAlignment,
    PronunciationDistance,
    align_candidates,
    align_to_anchor,
    candidate_targets,
    choose_anchor,
    fit_to_n,
    format_nbest_tsv,
    length_key,
    format_werdur,
    beam_probabilities,
    correlated_candidates,
    noisy_candidates,
    parse_kaldi_nbest,
    parse_nbest_tsv,
    read_nbest,
    word_error_rate,
)
from speechtools.correction.noising import NoiseConfig, Noiser
from speechtools.errors import UserError


def rows_of(candidates: Sequence[str], **kw) -> List[str]:
    al = align_candidates([c.split() for c in candidates], **kw)
    return [" ".join(r) for r in al.rows]


def letter_distance(a: str, b: str) -> float:
    """A cheap test distance: 0 for identity, else 0.5 when the first letters agree, else 1."""
    return 0.0 if a == b else (0.5 if a[0] == b[0] else 1.0)


# --------------------------------------------------------------------------- anchor


def test_anchor_is_longest_by_tokens_then_chars_first_on_ties() -> None:
    assert choose_anchor([["a", "b"], ["a", "b", "c"], ["ab", "c"]]) == 1
    # same token count: more characters wins
    assert choose_anchor([["a", "b"], ["a", "bb"], ["aa", "b"]]) == 1
    # full tie: the first in n-best order
    assert choose_anchor([["x", "y"], ["a", "b"], ["c", "d"]]) == 0
    # tokens dominate characters (1000 per token)
    assert choose_anchor([["abcdefghij"], ["a", "b"]]) == 1


# --------------------------------------------------------------------------- hand-worked matrices


def test_substitution_aligns_in_place() -> None:
    assert rows_of(["a b c d", "a x c d"]) == ["a b c d", "a x c d"]


def test_missing_token_is_void_in_that_candidate() -> None:
    assert rows_of(["a b c d", "a b c"]) == ["a b c d", f"a b c {VOID}"]
    assert rows_of(["a b c d", "b c d"]) == ["a b c d", f"{VOID} b c d"]


def test_insertion_adds_a_column_void_in_anchor_and_other_rows() -> None:
    # the anchor is the longest candidate (index 2); the others lack the token y
    assert rows_of(["a b c d", "a b c", "a b y c d"]) == [
        f"a b {VOID} c d",
        f"a b {VOID} c {VOID}",
        "a b y c d",
    ]
    # two candidates inserting at the same place share the column (the reference re-uses <void> columns)
    assert rows_of(["p a b c d", "a b y c d", "a b z c d"]) == [
        f"p a b {VOID} c d",
        f"{VOID} a b y c d",
        f"{VOID} a b z c d",
    ]
    # different numbers of insertions in one gap: as many columns as the most, filled from the left
    got = rows_of(["a b c d e f", "a b y z c d", "a b w c d"], distance=letter_distance)
    assert got == [
        f"a b {VOID} {VOID} c d e f",
        f"a b y z c d {VOID} {VOID}",
        f"a b w {VOID} c d {VOID} {VOID}",
    ]


def test_their_there_substitution_preferred_over_delete_insert() -> None:
    dist = PronunciationDistance("en")
    assert dist("their", "there") == 0.0
    al = align_candidates([s.split() for s in ["i saw their cat", "i saw there cat"]], lang="en")
    assert [" ".join(r) for r in al.rows] == ["i saw their cat", "i saw there cat"]
    # also with the pronunciation-weighted cost alone
    assert rows_of(["i saw their cat", "i saw there cat"], pronunciation_first=True) == ["i saw their cat", "i saw there cat"]


def test_phonetically_closer_anchor_position_is_chosen() -> None:
    # "there" can take the place of "their" or of "sat" (both: one substitution + one deletion);
    # the token-only tie-break (substitute at the end) would pick "sat", the pronunciation picks "their".
    assert rows_of(["the cat their sat", "the cat there"]) == ["the cat their sat", f"the cat there {VOID}"]
    ops_unit = align_to_anchor("the cat their sat".split(), "the cat there".split(), lambda a, b: float(a != b))
    assert ops_unit[-1] == (3, 2)  # without pronunciation: aligned with "sat"
    # Mandarin: 门 (men) sounds like 们 (men), not like 去 (qu)
    assert rows_of(["我 们 去", "我 门"], lang="zh") == ["我 们 去", f"我 门 {VOID}"]
    assert rows_of(["我 去 们", "我 门"], lang="zh") == ["我 去 们", f"我 {VOID} 门"]


def test_pronunciation_distance_values() -> None:
    en = PronunciationDistance("en")
    assert en("to", "two") == 0.0 and en("cat", "cat") == 0.0
    assert 0.0 < en("cat", "cap") < en("cat", "dog") <= 1.0
    assert en("xqzzy", "xqzzy") == 0.0 and 0 < en("xqzzy", "xqzzz") < 1  # OOV: letters
    zh = PronunciationDistance("zh")
    assert zh("是", "事") == 0.0 and zh("是", "时") == 0.0  # toneless
    assert 0.0 < zh("是", "我") <= 1.0
    with pytest.raises(UserError):
        PronunciationDistance("fr")


def test_reference_order_keeps_identities_where_weighted_cost_shifts() -> None:
    """Token edits first (the reference) keeps `a b` aligned; the weighted cost alone may shift."""
    close = lambda a, b: 0.0 if a == b else 0.6  # noqa: E731
    anchor, cand = "x a b".split(), "a b y".split()
    ref_ops = align_to_anchor(anchor, cand, close)
    assert (1, 0) in ref_ops and (2, 1) in ref_ops  # a-a, b-b
    weighted = align_to_anchor(anchor, cand, close, pronunciation_first=True)
    assert weighted == [(0, 0), (1, 1), (2, 2)]  # three substitutions, 1.8 < 2


def test_single_candidate_and_empty_candidate() -> None:
    al = align_candidates([["a", "b"]])
    assert al.rows == [["a", "b"]] and al.anchor == 0
    al = align_candidates([["a", "b"], []])
    assert al.rows == [["a", "b"], [VOID, VOID]]
    with pytest.raises(ValueError):
        align_candidates([])
    with pytest.raises(ValueError):
        align_candidates([["a", VOID]])


# --------------------------------------------------------------------------- properties


def brute_cost(anchor: Sequence[str], cand: Sequence[str], dist) -> Tuple[int, int, float]:
    """Independent lexicographic DP over (token edits, -identities, pronunciation cost) as tuples."""
    m, k = len(anchor), len(cand)
    best = [[(0, 0, 0.0)] * (k + 1) for _ in range(m + 1)]
    for i in range(m + 1):
        for j in range(k + 1):
            if i == j == 0:
                continue
            opts = []
            if i and j:
                e, n, p = best[i - 1][j - 1]
                same = anchor[i - 1] == cand[j - 1]
                opts.append((e + (not same), n - same, p + dist(anchor[i - 1], cand[j - 1])))
            if i:
                e, n, p = best[i - 1][j]
                opts.append((e + 1, n, p + 1.0))
            if j:
                e, n, p = best[i][j - 1]
                opts.append((e + 1, n, p + 1.0))
            best[i][j] = min(opts, key=lambda t: (t[0], t[1], round(t[2], 9)))
    return best[m][k]


def path_cost(anchor, cand, ops, dist) -> Tuple[int, int, float]:
    e = n = 0
    p = 0.0
    for i, j in ops:
        if i is None or j is None:
            e, p = e + 1, p + 1.0
        else:
            same = anchor[i] == cand[j]
            e, n, p = e + (not same), n - same, p + dist(anchor[i], cand[j])
    return e, n, p


def random_nbest(rng: random.Random) -> Tuple[List[List[str]], List[str]]:
    vocab = ["ab", "ac", "b", "bd", "c", "ca", "d"]
    target = [rng.choice(vocab) for _ in range(rng.randint(1, 7))]
    cands = []
    for _ in range(rng.randint(1, 5)):
        cand = []
        for tok in target:
            r = rng.random()
            if r < 0.15:
                continue
            cand.append(rng.choice(vocab) if r < 0.35 else tok)
            if rng.random() < 0.15:
                cand.append(rng.choice(vocab))
        cands.append(cand or [rng.choice(vocab)])
    return cands, target


def check_matrix(al: MultiAlignment, cands: Sequence[Sequence[str]]) -> None:
    width = len(al.rows[0])
    assert all(len(r) == width for r in al.rows)
    for c, cand in enumerate(cands):
        assert al.tokens(c) == list(cand)
    assert al.tokens(al.anchor) == list(cands[al.anchor])
    assert width == len(cands[al.anchor]) + sum(1 for t in al.rows[al.anchor] if t == VOID)
    for col in zip(*al.rows):
        assert any(t != VOID for t in col), "a column of voids only"
    # inside an insertion run (void in the anchor) every row's tokens come before its voids
    anchor_row = al.rows[al.anchor]
    runs = [list(g) for v, g in itertools.groupby(range(width), key=lambda q: anchor_row[q] == VOID) if v]
    for run in runs:
        for row in al.rows:
            voids = [row[q] == VOID for q in run]
            assert voids == sorted(voids)


def test_random_nbest_properties() -> None:
    rng = random.Random(7)
    for case in range(300):
        cands, target = random_nbest(rng)
        dist = letter_distance if case % 2 else PronunciationDistance("en")
        al = align_candidates(cands, distance=dist)
        check_matrix(al, cands)
        anchor = cands[al.anchor]
        for c, cand in enumerate(cands):
            if c != al.anchor:
                ops = align_to_anchor(anchor, cand, dist)
                got, want = path_cost(anchor, cand, ops, dist), brute_cost(anchor, cand, dist)
                assert got[:2] == want[:2] and got[2] == pytest.approx(want[2]), (anchor, cand)
        tg = candidate_targets(al, target)
        for c, (row, durs) in enumerate(zip(al.rows, tg.durations)):
            assert len(durs) == len(row) and sum(durs) == len(target)
            assert all(d == 0 for t, d in zip(row, durs) if t == VOID)
            kept = [d for t, d in zip(row, durs) if t != VOID]
            assert kept == align_pair(cands[c], target)
            assert len(expand(cands[c], kept)) == len(target)
            assert [abs(d) for d in tg.signed[c]] == durs
        # the matrix does not depend on the order of the other candidates
        keys = [length_key(c) for c in cands]
        if len(cands) > 2 and keys.count(max(keys)) == 1:
            order = list(range(len(cands)))
            rng.shuffle(order)
            al2 = align_candidates([cands[i] for i in order], distance=dist)
            assert [al2.rows[order.index(i)] for i in range(len(cands))] == al.rows


# --------------------------------------------------------------------------- durations and labels


def test_durations_void_zero_and_expand_to_target() -> None:
    cands = [s.split() for s in ["will we ever forget it", "will we ever forget", "will we ever forget that"]]
    target = "will we ever forget it".split()
    al = align_candidates(cands)
    assert [" ".join(r) for r in al.rows] == ["will we ever forget it", f"will we ever forget {VOID}", "will we ever forget that"]
    tg = candidate_targets(al, target)
    assert tg.durations == [[1, 1, 1, 1, 1], [1, 1, 1, 2, 0], [1, 1, 1, 1, 1]]
    assert tg.signed == [[1, 1, 1, 1, 1], [1, 1, 1, -2, 0], [1, 1, 1, 1, -1]]
    assert expand(cands[0], tg.durations[0]) == target
    assert tg.unchanged == [5, 3, 4]
    assert tg.labels == [1, 0, 0] and tg.best == 0
    assert tg.wer == [0.0, 0.2, 0.2]
    assert format_werdur(al, tg) == (
        "will we ever forget it 1 ||| will we ever forget <void> 0 ||| will we ever forget that 0 |||| "
        "1 1 1 1 1 ||| 1 1 1 -2 0 ||| 1 1 1 1 -1"
    )


def test_label_prefers_the_candidate_equal_to_the_target() -> None:
    target = "the two men shook hands".split()
    cands = [s.split() for s in ["to two men shook hands", "the two men shook hand", "the two men shook hands", "the two man shook hand"]]
    tg = candidate_targets(align_candidates(cands), target)
    assert tg.labels == [0, 0, 1, 0] and tg.best == 2 and tg.wer[2] == 0.0
    assert tg.scores[2] == 10000 * 5
    # equal #unchanged: the smaller character distance wins ("to"→"the" 2 edits, "hand"→"hands" 1)
    assert tg.unchanged[0] == tg.unchanged[1] == 4 and tg.scores[1] > tg.scores[0]
    # a tie gives every tied candidate label 1 (the reference's final_merge_score)
    tied = candidate_targets(align_candidates([target, list(target)]), target)
    assert tied.labels == [1, 1] and tied.best == 0


def test_empty_candidate_with_nonempty_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="candidate 1"):
        candidate_targets(align_candidates([["a"], []]), ["a"])
    assert word_error_rate([], []) == 0.0 and word_error_rate(["a", "b"], []) == 2.0


# --------------------------------------------------------------------------- formats

# Three lines of egs/kathleen/fastcorrect/corpus/asr_hyp.tsv (pocketsphinx 1-best and 4-best).
ASR_HYP = (
    "arctic_a0001\tauthor of the danger trail phillips deals etc\tauthor of the danger trail phillips deals etc ||| "
    "author of the danger trail philips deals etc ||| author of the danger trail philip steals etc ||| "
    "author of the danger trail philips deals etc\n"
    "arctic_a0003\tthe twentieth time that evening to two men shook hands\tthe twentieth time that evening the two men shook hands ||| "
    "the twentieth time that evening the two men shook hands ||| the twentieth time that evening the two men shook hands ||| "
    "the twentieth time that evening the two men shook hands\n"
    "arctic_a0005\twill we ever forget it\twill we ever forget it ||| will we ever forget ||| will we ever forget it ||| will we ever forget that\n"
)


def test_parse_real_asr_hyp_lines() -> None:
    got = parse_nbest_tsv(ASR_HYP.splitlines(), "asr_hyp.tsv")
    assert list(got) == ["arctic_a0001", "arctic_a0003", "arctic_a0005"]
    assert got["arctic_a0001"] == [
        "author of the danger trail phillips deals etc",
        "author of the danger trail philips deals etc",
        "author of the danger trail philip steals etc",
    ]
    # the n-best's first entry is not the 1-best here: the 1-best stays first
    assert got["arctic_a0003"] == ["the twentieth time that evening to two men shook hands", "the twentieth time that evening the two men shook hands"]
    assert got["arctic_a0005"] == ["will we ever forget it", "will we ever forget", "will we ever forget that"]
    raw = parse_nbest_tsv(ASR_HYP.splitlines(), dedupe=False)
    assert all(len(v) == 5 for v in raw.values())
    assert fit_to_n(got["arctic_a0003"], 4) == got["arctic_a0003"] + [got["arctic_a0003"][1]] * 2
    # single-candidate lines
    assert parse_nbest_tsv(["u1\ta b", "u2\tc\t", "", "u3\t\t"]) == {"u1": ["a b"], "u2": ["c"], "u3": [""]}


@pytest.mark.parametrize(
    "bad, line, match",
    [
        ("u1\ta\nu2\ta\tb\tc\n", 2, "field"),
        ("u1\ta\n\nu2\n", 3, "field"),
        ("u1\ta\n\tb\n", 2, "id"),
        ("u1\ta\nu1\tb\n", 2, "twice"),
        ("u1\ta\tb |||  ||| c\n", 1, "empty candidate 2"),
    ],
)
def test_malformed_tsv_lines_name_file_and_line(bad: str, line: int, match: str) -> None:
    with pytest.raises(UserError, match=match) as info:
        parse_nbest_tsv(bad.splitlines(), "hyp.tsv")
    assert info.value.path == "hyp.tsv" and info.value.line == line
    assert f"hyp.tsv:{line}:" in str(info.value)


def test_parse_kaldi_nbest() -> None:
    text = "utt-a-1 a b c\nutt-a-2 a b\nutt-b-2 y\nutt-b-1 x\nutt-a-3 a b c\nutt-c-1\n"
    got = parse_kaldi_nbest(text.splitlines(), "nbest.txt")
    assert got == {"utt-a": ["a b c", "a b"], "utt-b": ["x", "y"], "utt-c": [""]}
    assert parse_kaldi_nbest(text.splitlines(), dedupe=False)["utt-a"] == ["a b c", "a b", "a b c"]


@pytest.mark.parametrize(
    "bad, line, match",
    [
        ("u-1 a\nu2 b\n", 2, "rank"),
        ("LJ001-0001 a\n", 1, "rank"),  # a plain Kaldi text, not an n-best list
        ("u-0 a\n", 1, "rank"),
        ("u-1 a\nu-1 b\n", 2, "twice"),
        ("v-1 x\nu-1 a\nu-3 c\n", 2, "lacks rank"),
    ],
)
def test_malformed_kaldi_nbest(bad: str, line: int, match: str) -> None:
    with pytest.raises(UserError, match=match) as info:
        parse_kaldi_nbest(bad.splitlines(), "nbest.txt")
    assert info.value.line == line and info.value.path == "nbest.txt"


def test_read_nbest_auto_detects_format(tmp_path) -> None:
    (tmp_path / "a.tsv").write_text(ASR_HYP, encoding="utf-8")
    (tmp_path / "b.txt").write_text("u-1 a b\nu-2 a c\n", encoding="utf-8")
    assert len(read_nbest(tmp_path / "a.tsv")) == 3
    assert read_nbest(tmp_path / "b.txt") == {"u": ["a b", "a c"]}
    (tmp_path / "c.tsv").write_text("u\ta\tb\tc\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        read_nbest(tmp_path / "c.tsv")
    assert info.value.line == 1 and str(tmp_path / "c.tsv") in str(info.value)


def test_format_nbest_tsv_is_read_back_by_parse_nbest_tsv() -> None:
    cases = [["a b"], ["a b", "a c", "a  d"], ["", "a c"], ["a b", "a b", "", "a c"]]
    lines = [format_nbest_tsv(f"u{k}", c) for k, c in enumerate(cases)]
    assert lines[0] == "u0\ta b" and lines[1] == "u1\ta b\ta b ||| a c ||| a d" and lines[2] == "u2\t\ta c"
    assert lines[3] == "u3\ta b\ta b ||| a c"
    assert parse_nbest_tsv(lines) == {"u0": ["a b"], "u1": ["a b", "a c", "a d"], "u2": ["", "a c"], "u3": ["a b", "a c"]}
    for key, cands in (("u 1", ["a"]), ("", ["a"]), ("u", []), ("u", ["a ||| b"]), ("u", ["a\tb"])):
        with pytest.raises(ValueError):
            format_nbest_tsv(key, cands)


def test_fit_to_n() -> None:
    assert fit_to_n(["a"], 4) == ["a"] * 4
    assert fit_to_n(["a", "b"]) == ["a", "b", "b", "b"]
    assert fit_to_n(list("abcdef"), 4) == list("abcd")
    assert fit_to_n(list("abcd"), 4) == list("abcd")
    with pytest.raises(ValueError):
        fit_to_n([], 4)
    with pytest.raises(ValueError):
        fit_to_n(["a"], 0)


# --------------------------------------------------------------------------- synthetic noise


def test_noisy_candidates_give_n_independent_draws() -> None:
    counts = {w: 10 - i for i, w in enumerate("the cat sat on a mat there their".split())}
    table = {"there": ["their"], "their": ["there"], "cat": ["mat"], "sat": ["cat"]}
    noiser = Noiser(table, counts, NoiseConfig(ratio=0.5))
    clean = "the cat sat on the mat there".split()
    cands = noisy_candidates(clean, noiser, np.random.default_rng(3), n=4)
    assert len(cands) == 4 and all(isinstance(c, list) for c in cands)
    # the same draws as calling the noiser four times with the same generator
    rng = np.random.default_rng(3)
    assert cands == [noiser.noise(clean, rng) for _ in range(4)]
    assert len({" ".join(c) for c in cands}) > 1
    # a pre-training example: n candidates + the clean target
    al = align_candidates(cands)
    tg = candidate_targets(al, clean)
    assert len(al.rows) == 4 and all(sum(d) == len(clean) for d in tg.durations)
    with pytest.raises(ValueError):
        noisy_candidates(clean, noiser, np.random.default_rng(0), n=0)


def _sub_only_noiser(ratio: float, vocab: int = 50) -> Tuple[Noiser, List[str]]:
    words = [f"w{i}" for i in range(vocab)]
    table = {w: [f"x{w}"] for w in words}  # every substitute differs from its unit
    conf = NoiseConfig(ratio=ratio, p_sub=1.0, p_ins_left=0.0, p_ins_right=0.0, p_del=0.0, p_random_sub=0.0)
    return Noiser(table, {w: 1 for w in words}, conf), words


def test_beam_probabilities_are_the_reference_ones_for_four_beams() -> None:
    assert np.allclose(beam_probabilities(4), [0.15, 0.22, 0.28, 0.35], atol=0.004)
    assert np.allclose(beam_probabilities(1), [1.0])
    probs = beam_probabilities(7)
    assert np.isclose(probs.sum(), 1.0) and bool((np.diff(probs) > 0).all())
    with pytest.raises(ValueError):
        beam_probabilities(0)


def test_correlated_candidates_rates_and_shared_positions() -> None:
    """With substitutions only (lengths kept), beam k errs at a unit with probability
    ratio * (p_k + (1 - p_k) / 2), and two beams err together far more often than independent draws."""
    ratio = 0.3
    noiser, words = _sub_only_noiser(ratio)
    units = [words[k % len(words)] for k in range(20000)]
    cands = correlated_candidates(units, noiser, np.random.default_rng(5), n=4)
    wrong = np.array([[a != b for a, b in zip(c, units)] for c in cands])
    assert wrong.shape == (4, len(units))
    expected = ratio * (beam_probabilities(4) + (1 - beam_probabilities(4)) * 0.5)
    assert np.allclose(wrong.mean(1), expected, atol=0.01)
    assert wrong[0].mean() < wrong[3].mean()  # the 1-best is the cleanest beam
    together = (wrong[0] & wrong[1]).mean()
    assert together > 2.5 * wrong[0].mean() * wrong[1].mean()
    # no beam errs where no site was drawn: every error column is shared by at least one site
    assert wrong.any(0).mean() <= ratio + 0.01


def test_correlated_candidates_are_deterministic_and_independent_ones_are_not_correlated() -> None:
    noiser, words = _sub_only_noiser(0.3)
    units = words * 40
    first = correlated_candidates(units, noiser, np.random.default_rng(2), n=3)
    assert first == correlated_candidates(units, noiser, np.random.default_rng(2), n=3)
    indep = noisy_candidates(units, noiser, np.random.default_rng(2), n=3)
    wrong = np.array([[a != b for a, b in zip(c, units)] for c in indep])
    assert abs((wrong[0] & wrong[1]).mean() - wrong[0].mean() * wrong[1].mean()) < 0.02


def test_correlated_insertions_follow_the_main_beam() -> None:
    """After a left insertion another beam substitutes (4/7) or inserts too (3/7), and an insertion
    repeats the main beam's inserted unit with probability 0.4 (or by chance)."""
    words = [f"w{i}" for i in range(200)]
    conf = NoiseConfig(ratio=1.0, p_sub=0.0, p_ins_left=1.0, p_ins_right=0.0, p_del=0.0, p_random_sub=0.0, n_frequent=200)
    noiser = Noiser({w: [f"x{w}"] for w in words}, {w: 1 for w in words}, conf)
    rng = np.random.default_rng(0)
    follows = inserts = shared = 0
    for _ in range(3000):
        cands = correlated_candidates(["w0"], noiser, rng, n=2)
        assert all(c[-1] in ("w0", "xw0") for c in cands) and any(len(c) == 2 for c in cands)  # one beam inserted
        if ["w0"] in cands:
            continue  # the other beam did not follow
        follows += 1
        if ["xw0"] in cands:
            continue  # it followed with a substitution
        inserts += 1
        shared += cands[0][0] == cands[1][0]
    assert abs(follows / 3000 - 0.5) < 0.04
    assert abs(inserts / follows - 3 / 7) < 0.05
    assert abs(shared / inserts - (0.4 + 0.6 / 200)) < 0.08


def test_correlated_candidates_keep_a_sentence_deleted_to_nothing() -> None:
    conf = NoiseConfig(ratio=1.0, p_sub=0.0, p_ins_left=0.0, p_ins_right=0.0, p_del=1.0)
    noiser = Noiser({}, {"a": 2, "b": 1}, conf)
    cands = correlated_candidates(["a", "b"], noiser, np.random.default_rng(1), n=4)
    assert len(cands) == 4 and all(c for c in cands)
    assert any(c == ["a", "b"] for c in cands)
