"""Bar-level masking (MusicBERT Sec. 3.3): group structure, rates and 80/10/10 split."""

from __future__ import annotations

import numpy as np
import pytest

from speechtools.music import vocab as V
from speechtools.music.masking import KEEP, MASK, ORIGINAL, RANDOM, apply_mask, draw_decisions, mask_decisions
from speechtools.music.windowing import to_model_sequence


def _sequence(n_bars: int = 40, notes_per_group: int = 6, programs=(0, 40)) -> np.ndarray:
    rows = []
    for bar in range(n_bars):
        for program in programs:
            for k in range(notes_per_group):
                rows.append([bar, 4 * k, program, 60 + k, 8, 20, 9, 35])
    return to_model_sequence(np.asarray(sorted(rows)))


def test_draw_decisions_split_80_10_10():
    d = draw_decisions(np.random.default_rng(0), 400_000, 0.15, 0.1, 0.1)
    chosen = d != KEEP
    assert chosen.mean() == pytest.approx(0.15, abs=0.003)
    assert (d[chosen] == MASK).mean() == pytest.approx(0.8, abs=0.01)
    assert (d[chosen] == ORIGINAL).mean() == pytest.approx(0.1, abs=0.01)
    assert (d[chosen] == RANDOM).mean() == pytest.approx(0.1, abs=0.01)


def test_bar_strategy_one_decision_per_bar_instrument_field():
    ids = _sequence()
    rng = np.random.default_rng(1)
    body = ids[1:-1]
    keys = (body[:, V.BAR] * 1000 + body[:, V.PROGRAM])
    group_rates = []
    for _ in range(50):
        d = mask_decisions(ids, rng, "bar")
        assert len(set(d[0])) == 1 and len(set(d[-1])) == 1  # <s>, </s> masked whole
        inner = d[1:-1]
        for key in np.unique(keys):
            block = inner[keys == key]
            assert (block == block[0]).all()  # same decision for every note of the group, per column
        group_rates.append((inner != KEEP).mean())
    # columns of one group are independent: not all 8 columns share one decision
    d = mask_decisions(ids, np.random.default_rng(3), "bar")[1:-1]
    assert any(len(set(row)) > 1 for row in d)
    assert np.mean(group_rates) == pytest.approx(0.15, abs=0.03)


def test_compound_and_element_strategies():
    ids = _sequence(n_bars=10)
    d = mask_decisions(ids, np.random.default_rng(0), "compound")
    assert all(len(set(row)) == 1 for row in d)
    d = mask_decisions(ids, np.random.default_rng(0), "element")
    assert any(len(set(row)) > 1 for row in d)


def test_apply_mask_inputs_and_targets():
    ids = _sequence(n_bars=20)
    rng = np.random.default_rng(5)
    decisions = mask_decisions(ids, rng, "bar", mask_prob=0.5)
    inputs, targets = apply_mask(ids, decisions, rng)
    assert (inputs[decisions == MASK] == V.MASK_ID).all()
    assert (inputs[(decisions == KEEP) | (decisions == ORIGINAL)] == ids[(decisions == KEEP) | (decisions == ORIGINAL)]).all()
    assert (targets[decisions != KEEP] == ids[decisions != KEEP]).all()
    assert (targets[decisions == KEEP] == V.PAD_ID).all()
    assert ((inputs >= 0) & (inputs < V.VOCAB_SIZE)).all()
