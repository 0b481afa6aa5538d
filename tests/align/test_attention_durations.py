"""Teacher-attention durations (FastSpeech Sec. 3.3) on hand-made attention matrices."""

import pytest
import torch

from speechtools.align.attention_durations import (
    attention_durations,
    choose_head,
    durations_from_alignment,
    filter_by_focus_rate,
    focus_rates,
)

# 6 decoder steps over 4 tokens; argmax per step: 0 0 1 2 2 2 -> d = [2, 1, 3, 0] (token 3 skipped).
DIAGONAL = torch.tensor([
    [0.7, 0.2, 0.1, 0.0],
    [0.6, 0.3, 0.1, 0.0],
    [0.1, 0.8, 0.1, 0.0],
    [0.0, 0.2, 0.7, 0.1],
    [0.0, 0.1, 0.9, 0.0],
    [0.0, 0.0, 0.6, 0.4],
])
# A blurry head: max weights 0.4, 0.4, 0.35, 0.3, 0.4, 0.4 -> F = 2.25 / 6 = 0.375.
BLURRY = torch.tensor([
    [0.4, 0.3, 0.2, 0.1],
    [0.3, 0.4, 0.2, 0.1],
    [0.25, 0.25, 0.35, 0.15],
    [0.25, 0.25, 0.2, 0.3],
    [0.4, 0.2, 0.2, 0.2],
    [0.2, 0.2, 0.2, 0.4],
])


def test_durations_count_argmax_steps_by_hand():
    d = durations_from_alignment(DIAGONAL[None], torch.tensor([6]), torch.tensor([4]))
    assert d.tolist() == [[2, 1, 3, 0]]
    assert int(d.sum()) == 6


def test_focus_rate_worked_example():
    att = torch.stack([DIAGONAL, BLURRY])[None, None]  # (1, 1 layer, 2 heads, 6, 4)
    rates = focus_rates(att, torch.tensor([6]), torch.tensor([4]))
    # DIAGONAL maxima: 0.7 0.6 0.8 0.7 0.9 0.6 -> 4.3 / 6.
    torch.testing.assert_close(rates[0, 0], torch.tensor([4.3 / 6, 2.25 / 6]))


def test_head_choice_picks_max_focus_rate_across_layers():
    # Layer 0: blurry, blurry; layer 1: blurry, diagonal -> (layer 1, head 1).
    att = torch.stack([torch.stack([BLURRY, BLURRY]), torch.stack([BLURRY, DIAGONAL])])[None]
    choice = choose_head(att, torch.tensor([6]), torch.tensor([4]))
    assert (int(choice.layer[0]), int(choice.head[0])) == (1, 1)
    assert float(choice.focus_rate[0]) == pytest.approx(4.3 / 6)
    durations, _ = attention_durations(att, torch.tensor([6]), torch.tensor([4]))
    assert durations.tolist() == [[2, 1, 3, 0]]


def test_padding_is_ignored_and_batch_matches_items():
    gen = torch.Generator().manual_seed(0)
    att = torch.softmax(torch.randn(3, 2, 2, 9, 7, generator=gen) * 3, dim=-1)
    steps, tokens = torch.tensor([9, 5, 7]), torch.tensor([7, 3, 6])
    # Padded tokens carry large weights that must not be counted.
    padded = att.clone()
    for b in range(3):
        padded[b, ..., int(tokens[b]):] = 5.0
        padded[b, ..., int(steps[b]):, :] = 7.0
    durations, choice = attention_durations(padded, steps, tokens)
    for b in range(3):
        s, t = int(steps[b]), int(tokens[b])
        alone, alone_choice = attention_durations(att[b:b + 1, :, :, :s, :t], steps[b:b + 1], tokens[b:b + 1])
        assert durations[b, :t].tolist() == alone[0].tolist()
        assert durations[b, t:].sum() == 0
        assert int(durations[b].sum()) == s
        assert (int(choice.layer[b]), int(choice.head[b])) == (int(alone_choice.layer[0]), int(alone_choice.head[0]))


def test_brute_force_reference_on_random_maps():
    gen = torch.Generator().manual_seed(3)
    att = torch.rand(2, 3, 2, 8, 5, generator=gen)
    steps, tokens = torch.tensor([8, 6]), torch.tensor([5, 4])
    durations, choice = attention_durations(att, steps, tokens)
    for b in range(2):
        s, t = int(steps[b]), int(tokens[b])
        best, best_f = None, -1.0
        for layer in range(3):
            for head in range(2):
                rows = att[b, layer, head, :s, :t].tolist()
                f = sum(max(r) for r in rows) / s
                if f > best_f:
                    best, best_f = (layer, head), f
        assert (int(choice.layer[b]), int(choice.head[b])) == best
        rows = att[b, best[0], best[1], :s, :t].tolist()
        expected = [0] * t
        for r in rows:
            expected[r.index(max(r))] += 1
        assert durations[b, :t].tolist() == expected


def test_focus_rate_filter():
    kept, dropped = filter_by_focus_rate({"a": 0.9, "b": 0.5, "c": 0.65})
    assert kept == ["a", "c"] and dropped == ["b"]


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        focus_rates(torch.zeros(1, 6, 4), torch.tensor([6]), torch.tensor([4]))
    with pytest.raises(ValueError):
        focus_rates(torch.zeros(1, 1, 1, 6, 4), torch.tensor([6]), torch.tensor([0]))
