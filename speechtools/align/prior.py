"""The static beta-binomial alignment prior of "One TTS Alignment To Rule Them All"
(Badlani et al., ICASSP 2022, arXiv 2108.10447, Sec. 2.3, Eq. 7).

Frame ``i`` of ``M`` (1-based) over ``P`` tokens has the prior ``BetaBinom(P − 1, a = s·i,
b = s·(M + 1 − i))`` over tokens: a soft diagonal that the aligner (:mod:`speechtools.models.aligner`)
adds to its attention, and that on its own gives usable durations for tests and toy data.
"""

from __future__ import annotations

import torch

from speechtools.nn.masks import lengths_to_mask


def beta_binomial_log_prior(text_lengths: torch.Tensor, mel_lengths: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Log beta-binomial alignment prior ``(batch, T_mel, T_text)`` (arXiv 2108.10447 Eq. 7).

    For frame ``i`` (1-based) of ``M`` and ``P`` tokens: ``log BetaBinom(k; P − 1, s·i, s·(M + 1 − i))``
    for token ``k``; padded entries are ``-inf``.
    """
    t_text = int(text_lengths.max())
    t_mel = int(mel_lengths.max())
    device = text_lengths.device
    n = (text_lengths.double() - 1).view(-1, 1, 1)
    m = mel_lengths.double().view(-1, 1, 1)
    i = torch.arange(1, t_mel + 1, dtype=torch.float64, device=device).view(1, -1, 1)
    k = torch.arange(t_text, dtype=torch.float64, device=device).view(1, 1, -1)
    a = scale * i
    b = scale * (m + 1 - i)
    b = b.clamp(min=1e-6)

    def log_beta(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)

    n_minus_k = (n - k).clamp(min=0)
    log_comb = torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n_minus_k + 1)
    log_pmf = log_comb + log_beta(k + a, n_minus_k + b) - log_beta(a, b)
    valid = lengths_to_mask(mel_lengths, t_mel).unsqueeze(2) & lengths_to_mask(text_lengths, t_text).unsqueeze(1)
    return torch.where(valid, log_pmf, torch.full_like(log_pmf, float("-inf"))).float()
