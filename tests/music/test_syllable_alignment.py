"""DP alignment of syllables to notes: equal to brute force, monotonic, every syllable covered."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from speechtools.music.syllable_alignment import (align_syllables, alignment_accuracy, alignment_score,
                                                  argmax_alignment)


def all_alignments(n_notes: int, n_syl: int):
    """Every monotonic assignment giving each syllable >= 1 consecutive note: choose the S-1 cut points."""
    for cuts in itertools.combinations(range(1, n_notes), n_syl - 1):
        bounds = (0, *cuts, n_notes)
        yield np.concatenate([np.full(bounds[k + 1] - bounds[k], k) for k in range(n_syl)])


@pytest.mark.parametrize("n_notes,n_syl", [(1, 1), (3, 1), (3, 3), (5, 2), (6, 3), (7, 4), (8, 5)])
def test_dp_equals_brute_force_and_is_monotonic(n_notes, n_syl):
    rng = np.random.default_rng(n_notes * 10 + n_syl)
    for _ in range(20):
        scores = rng.random((n_notes, n_syl))
        best = max(alignment_score(scores, a) for a in all_alignments(n_notes, n_syl))
        found = align_syllables(scores)
        assert alignment_score(scores, found) == pytest.approx(best)
        assert found[0] == 0 and found[-1] == n_syl - 1
        steps = np.diff(found)
        assert set(steps.tolist()) <= {0, 1}            # monotonic, no syllable skipped
        assert sorted(set(found.tolist())) == list(range(n_syl))


def test_worked_example_and_argmax_baseline():
    # Attention prefers syllable 0 for the last note, which argmax follows (non-monotonic);
    # the DP keeps the order and still gives syllable 1 a note.
    scores = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3]])
    assert argmax_alignment(scores).tolist() == [0, 0, 0]
    assert align_syllables(scores).tolist() == [0, 0, 1]
    assert alignment_accuracy(align_syllables(scores), np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_too_few_notes_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        align_syllables(np.zeros((2, 3)))


def test_syllable_agreement_worked_example():
    from speechtools.songwriter.evaluate import syllable_agreement
    from speechtools.songwriter.generate import syllable_counts

    assert syllable_counts("la <unk> [sep] [sep] mi </s>".split()) == [2, 0, 1]
    # sentence 1: 2 syllables on 3 notes (fits), reference 4; sentence 2: 0 syllables (does not fit), reference 2;
    # a missing third sentence counts as 0 syllables (reference 1)
    figures = syllable_agreement([[2, 0]], [[3, 2, 2]], [[4, 2, 1]])
    assert figures["syllables_fit_notes"] == pytest.approx(1 / 3)
    assert figures["syllable_count_rel_diff"] == pytest.approx((0.5 + 1 + 1) / 3)
