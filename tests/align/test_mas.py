"""MAS against a brute-force search over every monotonic path."""

import itertools

import torch

from speechtools.align.mas import durations_from_path, maximum_path


def brute_force_durations(value: torch.Tensor) -> list:
    """Best composition of T_mel frames into T_text positive runs, by exhaustive search."""
    t_text, t_mel = value.shape
    best, best_d = float("-inf"), None
    for cuts in itertools.combinations(range(1, t_mel), t_text - 1):
        bounds = (0,) + cuts + (t_mel,)
        score = sum(float(value[x, bounds[x]:bounds[x + 1]].sum()) for x in range(t_text))
        if score > best:
            best, best_d = score, [bounds[x + 1] - bounds[x] for x in range(t_text)]
    return best_d


def test_mas_matches_brute_force_on_random_padded_batches():
    gen = torch.Generator().manual_seed(0)
    for trial in range(20):
        batch = 4
        text_lengths = torch.randint(1, 5, (batch,), generator=gen)
        mel_lengths = text_lengths + torch.randint(0, 6, (batch,), generator=gen)
        value = torch.randn(batch, int(text_lengths.max()), int(mel_lengths.max()), generator=gen)
        path = maximum_path(value, text_lengths, mel_lengths)
        durations = durations_from_path(path)
        for b in range(batch):
            tx, ty = int(text_lengths[b]), int(mel_lengths[b])
            expected = brute_force_durations(value[b, :tx, :ty])
            assert durations[b, :tx].tolist() == expected, (trial, b)
            assert int(durations[b, tx:].sum()) == 0
            assert int(path[b, :, ty:].sum()) == 0
            # Each frame belongs to exactly one token, and tokens advance monotonically.
            assert path[b, :tx, :ty].sum(0).eq(1).all()
            assert int(durations[b].sum()) == ty


def test_mas_rejects_fewer_frames_than_tokens():
    import pytest

    with pytest.raises(ValueError):
        maximum_path(torch.zeros(1, 4, 3), torch.tensor([4]), torch.tensor([3]))
