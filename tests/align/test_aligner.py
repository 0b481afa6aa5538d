"""Alignment learning: beta-binomial prior against scipy, losses, and learning a known alignment."""

import numpy as np
import pytest
import torch
from scipy import stats

from speechtools.align.prior import beta_binomial_log_prior
from speechtools.models.aligner import Aligner, AlignerConfig


def test_prior_matches_scipy_betabinom():
    prior = beta_binomial_log_prior(torch.tensor([5, 3]), torch.tensor([7, 4]), scale=1.0)
    for b, (p, m) in enumerate([(5, 7), (3, 4)]):
        ref = np.array([[stats.betabinom(p - 1, i, m + 1 - i).logpmf(k) for k in range(p)] for i in range(1, m + 1)])
        np.testing.assert_allclose(prior[b, :m, :p].numpy(), ref, atol=1e-5)
        assert torch.isinf(prior[b, m:]).all() and torch.isinf(prior[b, :, p:]).all()


def synthetic_batch(gen: torch.Generator, batch: int = 32, max_tokens: int = 8):
    """Mels made of one random vector per token repeated for a known number of frames.

    Many utterances share one vocabulary, so the encoders must match content rather than
    memorise each utterance's alignment; tokens are distinct within an utterance (a repeated
    token would make the boundary between its two runs ambiguous).
    """
    vocab, n_mels = 16, 16
    table = torch.randn(vocab, n_mels, generator=gen) * 2
    token_lengths = torch.randint(3, max_tokens + 1, (batch,), generator=gen)
    valid = torch.arange(max_tokens) < token_lengths[:, None]
    tokens = torch.stack([torch.randperm(vocab - 1, generator=gen)[:max_tokens] + 1 for _ in range(batch)]) * valid
    durations = torch.randint(1, 7, (batch, max_tokens), generator=gen) * valid
    mel_lengths = durations.sum(1)
    mels = torch.zeros(batch, int(mel_lengths.max()), n_mels)
    for b in range(batch):
        frames = torch.repeat_interleave(tokens[b, : token_lengths[b]], durations[b, : token_lengths[b]])
        mels[b, : len(frames)] = table[frames] + 0.1 * torch.randn(len(frames), n_mels, generator=gen)
    return tokens, token_lengths, mels, mel_lengths, durations, vocab, n_mels


def frame_accuracy(durations: torch.Tensor, true_durations: torch.Tensor, token_lengths: torch.Tensor) -> float:
    """Fraction of frames assigned to their true token."""
    hits = total = 0
    for b in range(len(token_lengths)):
        n = int(token_lengths[b])
        index = torch.arange(n)
        got = torch.repeat_interleave(index, durations[b, :n])
        want = torch.repeat_interleave(index, true_durations[b, :n])
        hits += int((got == want).sum())
        total += len(want)
    return hits / total


def test_aligner_learns_a_known_alignment_and_durations_sum_to_frames():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    tokens, token_lengths, mels, mel_lengths, true_d, vocab, n_mels = synthetic_batch(gen)
    conf = AlignerConfig(embed_dim=32, attention_dim=16, temperature=0.05, bin_loss_warmup_steps=100)
    model = Aligner(conf, vocab, n_mels)
    prior = beta_binomial_log_prior(token_lengths, mel_lengths).clamp(min=-1e4)
    prior_only = model.durations(prior, token_lengths, mel_lengths)
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for step in range(100):
        out = model(tokens, token_lengths, mels, mel_lengths)
        terms = model.loss(out, token_lengths, mel_lengths, step)
        optim.zero_grad()
        terms["loss"].backward()
        optim.step()
        first = terms["forward_sum_loss"].item() if first is None else first
    assert terms["forward_sum_loss"].item() < first / 2
    with torch.inference_mode():
        out = model(tokens, token_lengths, mels, mel_lengths)
        durations = model.durations(out["log_attn"], token_lengths, mel_lengths)
    assert torch.equal(durations.sum(1), mel_lengths)
    assert (durations >= 0).all()
    assert (durations[torch.arange(durations.size(1)) >= token_lengths[:, None]] == 0).all()
    learned = frame_accuracy(durations, true_d, token_lengths)
    baseline = frame_accuracy(prior_only, true_d, token_lengths)
    assert learned > 0.85 and learned > baseline + 0.2, (learned, baseline)


def test_forward_sum_loss_prefers_the_true_alignment():
    model = Aligner(AlignerConfig(), vocab_size=5, n_mels=4)
    good = torch.full((1, 4, 2), -20.0)
    good[0, :2, 0] = 0.0
    good[0, 2:, 1] = 0.0
    bad = good.flip(-1)
    lengths_t, lengths_m = torch.tensor([2]), torch.tensor([4])
    assert model.forward_sum_loss(good, lengths_t, lengths_m) < model.forward_sum_loss(bad, lengths_t, lengths_m)
