"""Edit alignment: the paper's figure, hand-worked cases, brute force over all segmentations, properties, speed."""

from __future__ import annotations

import itertools
import random
import time
from typing import List, Sequence, Tuple

import editdistance
import pytest

from speechtools.correction.edit_alignment import NgramTable, align_durations, align_pair, expand, signed_durations

FIGURE_NGRAMS = NgramTable({("A", "B"): 90, ("B", "C"): 80, ("C", "D"): 20})


def test_paper_figure_example_with_ngram_table() -> None:
    # Leng et al. 2021, Fig. 2: src B B D E F, tgt A B C D F; paths a, b1, b2 tie on edits and
    # matches; n-grams AB 90 > BC 80 > CD 20 choose a: [A B][C][D][][F].
    assert align_pair("BBDEF", "ABCDF", FIGURE_NGRAMS) == [2, 1, 1, 0, 1]


def test_ngram_frequencies_decide_between_tied_paths() -> None:
    assert align_pair("BBDEF", "ABCDF", NgramTable({("A", "B"): 10, ("B", "C"): 80, ("C", "D"): 20})) == [1, 2, 1, 0, 1]
    assert align_pair("BBDEF", "ABCDF", NgramTable({("A", "B"): 10, ("B", "C"): 8, ("C", "D"): 20})) == [1, 1, 2, 0, 1]


def test_paper_figure_example_position_rule() -> None:
    # Without a table the remaining tie (a, b1, b2) goes to the earliest attachment: path a.
    assert align_pair("BBDEF", "ABCDF") == [2, 1, 1, 0, 1]


def test_path_c_with_fewer_matches_is_never_chosen() -> None:
    # Path c of the figure (2 matches) has the same edit cost; any choice must keep 3 matches.
    durs = align_pair("BBDEF", "ABCDF")
    mapped = _spans("BBDEF", "ABCDF", durs)
    assert sum(tok in span for tok, span in zip("BBDEF", mapped)) == 3


def test_reference_signed_duration_example() -> None:
    # Reference step 7: 新 技 学 子 |||| 1 -2 1 1 -> 新 一 届 学 子
    src, tgt = list("新技学子"), list("新一届学子")
    durs = align_pair(src, tgt)
    assert durs == [1, 2, 1, 1]
    assert signed_durations(src, tgt, durs) == [1, -2, 1, 1]
    assert expand(src, durs) == list("新技技学子")


@pytest.mark.parametrize(
    "src, tgt, expected",
    [
        ("abc", "abc", [1, 1, 1]),
        ("abc", "", [0, 0, 0]),
        ("", "", []),
        ("a", "xyz", [3]),
        ("abc", "axc", [1, 1, 1]),
        ("abxc", "abc", [1, 1, 0, 1]),
        # insertion next to an identical token joins the non-identical neighbour
        ("axc", "abyc", [1, 2, 1]),
        # a run of insertions between two substituted tokens is split evenly (nearest centre)
        ("xy", "a12b", [2, 2]),
    ],
)
def test_hand_worked_examples(src: str, tgt: str, expected: List[int]) -> None:
    assert align_pair(src, tgt) == expected


def test_empty_source_with_target_is_an_error_naming_the_pair() -> None:
    with pytest.raises(ValueError, match="pair 1"):
        align_durations([("a", "b"), ("", "x")])


def _spans(src: Sequence, tgt: Sequence, durs: Sequence[int]) -> List[Sequence]:
    out, pos = [], 0
    for d in durs:
        out.append(tgt[pos : pos + d])
        pos += d
    return out


def _criteria(src: Sequence, tgt: Sequence, durs: Sequence[int], table: NgramTable) -> Tuple:
    """The module's ordered criteria, computed independently from a duration vector."""
    spans = _spans(src, tgt, durs)
    cost = sum(1 if not span else len(span) - 1 + (tok not in span) for tok, span in zip(src, spans))
    matches = sum(tok in span for tok, span in zip(src, spans))
    identity = sum(len(span) == 1 and span[0] == tok for tok, span in zip(src, spans))
    ngram = sum(table.counts.get(tuple(span), 0) for span in spans if len(span) >= 2)
    spread = sum(max(len(span) - 1, 0) ** 2 for span in spans)
    return (-cost, matches, identity, ngram, -spread, tuple(durs))


def _compositions(total: int, parts: int):
    for cuts in itertools.combinations_with_replacement(range(total + 1), parts - 1):
        bounds = (0,) + cuts + (total,)
        yield [bounds[k + 1] - bounds[k] for k in range(parts)]


def test_dynamic_programme_equals_brute_force_over_all_segmentations() -> None:
    rng = random.Random(7)
    pairs = []
    for _ in range(300):
        src = [rng.choice("abc") for _ in range(rng.randint(1, 5))]
        tgt = [rng.choice("abcd") for _ in range(rng.randint(0, 6))]
        pairs.append((src, tgt))
    table = NgramTable({("a", "b"): 5, ("b", "c"): 3, ("c", "a", "b"): 7, ("d", "d"): 2})
    for ngram in (None, table):
        results = align_durations(pairs, ngram)
        for (src, tgt), durs in zip(pairs, results):
            best = max(_compositions(len(tgt), len(src)), key=lambda d: _criteria(src, tgt, d, ngram or NgramTable({})))
            assert durs == best, (src, tgt)
            # the chosen segmentation costs exactly the Levenshtein distance
            assert -_criteria(src, tgt, durs, NgramTable({}))[0] == editdistance.eval(src, tgt)


def test_properties_on_random_pairs() -> None:
    rng = random.Random(1)
    pairs = [([rng.randrange(6) for _ in range(rng.randint(1, 25))], [rng.randrange(6) for _ in range(rng.randint(0, 25))]) for _ in range(500)]
    for (src, tgt), durs in zip(pairs, align_durations(pairs)):
        assert len(durs) == len(src)
        assert sum(durs) == len(tgt) == len(expand(src, durs))
        assert all(d >= 0 for d in durs)
        signed = signed_durations(src, tgt, durs)
        # zero durations are deletions: the token contributes nothing to the expansion
        assert [abs(s) for s in signed] == durs
        assert all((s == 0) == (d == 0) for s, d in zip(signed, durs))


def test_ten_thousand_pairs_of_thirty_tokens_in_a_few_seconds() -> None:
    rng = random.Random(3)
    pairs = []
    for _ in range(10000):
        tgt = [rng.randrange(2000) for _ in range(30)]
        src = []
        for tok in tgt:
            u = rng.random()
            if u < 0.1:
                src.append(rng.randrange(2000))
            elif u < 0.12:
                continue
            elif u < 0.15:
                src += [tok, rng.randrange(2000)]
            else:
                src.append(tok)
        pairs.append((src, tgt))
    start = time.perf_counter()
    results = align_durations(pairs)
    elapsed = time.perf_counter() - start
    assert len(results) == len(pairs)
    assert all(sum(d) == 30 for d in results)
    assert elapsed < 20.0, f"{elapsed:.1f}s"
