"""MixSpeech (Meng et al., ICASSP 2021): mixup of two utterances' input features for low-resource ASR.

``X_mix = λ·X_i + (1 − λ)·X_j`` with ``λ ~ Beta(α, α)``, and the loss
``λ·L(X_mix, Y_i) + (1 − λ)·L(X_mix, Y_j)`` (the paper's Eq. 1–2). As in OpenTransformer's
implementation (``../shared/reference/asr.md`` §5) one λ is drawn per batch and a mixed
utterance takes the length of the longer of the two (the shorter is zero-padded: the features
are z-normalised, so zero is the training set's mean); a source with weight 0 adds nothing, not
even its length, so λ = 1 is exactly the unmixed batch. ``proportion`` of each batch's
utterances are mixed, each with a partner drawn from a random permutation of the batch; the
rest keep their own features with weight 1. Randomness comes from the global torch generator,
which the trainer seeds and checkpoints.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch


class MixedBatch(NamedTuple):
    """A batch after :func:`mix_features`.

    ``rows``: indices of the mixed utterances, ``partners``: the utterance each was mixed with,
    ``weights``: the weight of every utterance's own target (λ for mixed rows, 1 otherwise);
    each mixed row's partner target gets ``1 − λ``.
    """

    features: torch.Tensor
    lengths: torch.Tensor
    rows: torch.Tensor
    partners: torch.Tensor
    weights: torch.Tensor
    lam: float


def mix_features(features: torch.Tensor, lengths: torch.Tensor, alpha: float, proportion: float,
                 lam: Optional[float] = None) -> MixedBatch:
    """Mix ``round(proportion · B)`` utterances of ``features`` ``(B, T, F)`` (zero-padded) with random partners.

    MixSpeech's input mixing, ``X_mix = λ·X_i + (1 − λ)·X_j`` with ``λ ~ Beta(alpha, alpha)``
    (one λ per batch, or ``lam`` when given); the mixed length is ``max(len_i, len_j)``.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if not 0.0 <= proportion <= 1.0:
        raise ValueError(f"proportion must lie in [0, 1], got {proportion}")
    batch = features.size(0)
    device = features.device
    count = int(round(proportion * batch))
    if lam is None:
        lam = float(torch.distributions.Beta(torch.tensor(float(alpha)), torch.tensor(float(alpha))).sample())
    elif not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1], got {lam}")
    rows = torch.randperm(batch)[:count].sort().values.to(device)
    partners = torch.randperm(batch)[:count].to(device)
    weights = torch.ones(batch, dtype=features.dtype, device=device)
    if count == 0:
        return MixedBatch(features, lengths, rows, partners, weights, lam)
    mixed = features.clone()
    mixed[rows] = lam * features[rows] + (1.0 - lam) * features[partners]
    new_lengths = lengths.clone()
    if lam == 0.0:
        new_lengths[rows] = lengths[partners]
    elif lam < 1.0:
        new_lengths[rows] = torch.maximum(lengths[rows], lengths[partners])
    weights[rows] = lam
    return MixedBatch(mixed, new_lengths, rows, partners, weights, lam)


def mixed_loss(own: torch.Tensor, partner: torch.Tensor, mix: MixedBatch) -> torch.Tensor:
    """MixSpeech's loss from per-utterance losses: ``Σ_b w_b·own_b + Σ_m (1 − λ)·partner_m``, divided by ``B``.

    ``own`` ``(B,)`` is each utterance's loss against its own target, ``partner`` ``(M,)`` the
    loss of each mixed row (``mix.rows``) against its partner's target.
    """
    total = (mix.weights * own).sum()
    if partner.numel():
        total = total + (1.0 - mix.lam) * partner.sum()
    return total / own.size(0)
