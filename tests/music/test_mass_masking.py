"""MASS span masking statistics (segments, span length and start rule, 80/10/10, melody pairs)."""

from __future__ import annotations

import numpy as np
import pytest

from speechtools.music.mass_masking import mass_example, segments
from speechtools.music.song_vocab import EOS_ID, MASK_ID, N_SPECIALS, is_duration, is_pitch, token_ranges

LYRIC_RANGES = token_ranges(False, 1000)
MELODY_RANGES = token_ranges(True, 0)


def test_segments_follow_the_reference_formula():
    assert segments(40, 0.25, False) == [(0, 40)]                       # round(40 / 40) = 1
    assert segments(100, 0.25, False) == [(0, 50), (50, 100)]           # round(2.5) = 2 (half to even)
    assert segments(130, 0.25, False) == [(0, 43), (43, 86), (86, 130)]  # the last segment takes the rest
    assert all(s % 2 == 0 and e % 2 == 0 for s, e in segments(130, 0.25, True))


def test_span_start_rule_and_length():
    tokens = list(range(N_SPECIALS, N_SPECIALS + 40))
    starts = []
    for seed in range(4000):
        ex = mass_example(tokens, [0] * 40, LYRIC_RANGES, np.random.default_rng(seed))
        assert len(ex.target) == 10 and ex.target_positions == list(range(ex.target_positions[0], ex.target_positions[0] + 10))
        assert ex.target == tokens[ex.target_positions[0]:ex.target_positions[0] + 10]
        starts.append(ex.target_positions[0])
    starts = np.array(starts)
    # start at the segment start 20%, at its last possible start 20%, uniform over [0, 30] 60%
    assert abs((starts == 0).mean() - (0.2 + 0.6 / 31)) < 0.025
    assert abs((starts == 30).mean() - (0.2 + 0.6 / 31)) < 0.025
    assert abs(((starts > 0) & (starts < 30)).mean() - 0.6 * 29 / 31) < 0.03


def test_80_10_10_on_the_encoder_side_and_decoder_input():
    tokens = list(range(N_SPECIALS, N_SPECIALS + 400))  # all distinct, so "kept" is recognisable
    masked = kept = replaced = 0
    for seed in range(300):
        ex = mass_example(tokens, [k // 50 for k in range(400)], LYRIC_RANGES, np.random.default_rng(seed))
        assert ex.source[-1] == EOS_ID and len(ex.source) == 401 and ex.source_sentences[-1] == -1
        assert ex.target_sentences == [p // 50 for p in ex.target_positions]
        span = set(ex.target_positions)
        assert all(ex.source[p] == tokens[p] for p in range(400) if p not in span)  # outside spans untouched
        for p in span:
            masked += ex.source[p] == MASK_ID
            kept += ex.source[p] == tokens[p]
            replaced += ex.source[p] not in (MASK_ID, tokens[p])
        first = ex.target_positions[0]
        assert ex.prev[0] == (EOS_ID if first == 0 else tokens[first - 1])
    total = masked + kept + replaced
    assert abs(masked / total - 0.8) < 0.02 and abs(kept / total - 0.1) < 0.015 and abs(replaced / total - 0.1) < 0.015


def test_melody_masks_whole_notes_on_even_boundaries():
    rng = np.random.default_rng(0)
    notes = [(int(rng.integers(N_SPECIALS, N_SPECIALS + 129)), int(rng.integers(N_SPECIALS + 129, N_SPECIALS + 145))) for _ in range(120)]
    tokens = [t for pair in notes for t in pair]
    for seed in range(200):
        ex = mass_example(tokens, [0] * len(tokens), MELODY_RANGES, np.random.default_rng(seed), pairs=True)
        assert ex.target_positions[0] % 2 == 0 and len(ex.target) % 2 == 0
        for k in range(0, len(tokens), 2):
            pitch, duration = ex.source[k], ex.source[k + 1]
            assert (pitch == MASK_ID) == (duration == MASK_ID)              # a note is masked whole
            assert pitch == MASK_ID or is_pitch(pitch)                       # random replacements keep the field
            assert duration == MASK_ID or is_duration(duration)


def test_odd_melody_is_refused():
    with pytest.raises(ValueError, match="pairs"):
        mass_example([10, 140, 11], [0, 0, 0], MELODY_RANGES, np.random.default_rng(0), pairs=True)
