"""Batched beam search for autoregressive decoders (vectorised over batch × beam).

The source is encoded once per sentence and the decoder state copied to the beams
(``reorder``); then all ``batch × beam`` hypotheses advance together, one decoder call per step. A hypothesis
that emits ``</s>`` becomes absorbing: it keeps its score and only extends with ``</s>`` at no
cost, so finished and live hypotheses compete in one top-k (as in ESPnet's batch beam
search). The best finished hypothesis per sentence is chosen by ``score / length**alpha``
(Wu et al. 2016 length normalisation with ``alpha = length_penalty``; fairseq's default 1).
"""

from __future__ import annotations

from typing import Any, List, Optional, Protocol

import torch


class IncrementalDecoder(Protocol):
    def init_state(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Any: ...

    def step(self, tokens: torch.Tensor, state: Any) -> torch.Tensor: ...

    def reorder(self, state: Any, index: torch.Tensor) -> None: ...


def beam_search(
    model: IncrementalDecoder, src: torch.Tensor, src_lengths: torch.Tensor, bos: int, eos: int,
    beam_size: int = 5, max_lengths: Optional[torch.Tensor] = None, min_lengths: Optional[torch.Tensor] = None,
    length_penalty: float = 1.0,
) -> List[List[int]]:
    """Best hypothesis (token ids without ``<s>``/``</s>``) for each source sentence.

    Args:
        max_lengths: per-sentence maximum number of tokens before ``</s>`` is forced
            (default ``1.5 * src_length + 10``).
        min_lengths: per-sentence minimum number of tokens before ``</s>`` is allowed.
            ``min_lengths == max_lengths`` forces an exact output length (latency benchmark).
    """
    batch = src.size(0)
    device = src.device
    k = beam_size
    if max_lengths is None:
        max_lengths = (src_lengths.float() * 1.5 + 10).long()
    max_lengths = max_lengths.to(device)
    min_lengths = torch.zeros_like(max_lengths) if min_lengths is None else min_lengths.to(device)
    # Encode each sentence once (as fairseq's SequenceGenerator does), then copy the state to its k beams.
    state = model.init_state(src, src_lengths.to(device))
    model.reorder(state, torch.arange(batch, device=device).repeat_interleave(k))
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    tokens = torch.full((batch * k, 1), bos, dtype=torch.long, device=device)
    finished = torch.zeros(batch, k, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, k, dtype=torch.long, device=device)
    offsets = (torch.arange(batch, device=device) * k)[:, None]
    for t in range(int(max_lengths.max()) + 1):
        logp = model.step(tokens[:, -1], state).view(batch, k, -1)
        vocab = logp.size(-1)
        eos_only = torch.full((vocab,), float("-inf"), device=device)
        eos_only[eos] = 0.0
        too_short = (t < min_lengths)[:, None, None]
        logp = torch.where(too_short & (torch.arange(vocab, device=device) == eos), float("-inf"), logp)
        force = ((t >= max_lengths)[:, None] | finished)[:, :, None]
        logp = torch.where(force, eos_only, logp)
        cand = (scores[:, :, None] + logp).view(batch, k * vocab)
        scores, flat = cand.topk(k, dim=1)
        beam = torch.div(flat, vocab, rounding_mode="floor")
        word = flat % vocab
        index = (beam + offsets).view(-1)
        model.reorder(state, index)
        was_finished = finished.gather(1, beam)
        lengths = lengths.gather(1, beam) + (~was_finished).long()
        finished = was_finished | (word == eos)
        tokens = torch.cat([tokens.index_select(0, index), word.view(-1, 1)], dim=1)
        if bool(finished.all()):
            break
    norm = scores / lengths.clamp(min=1).float() ** length_penalty
    best = norm.argmax(dim=1)
    out: List[List[int]] = []
    rows = tokens.view(batch, k, -1)[torch.arange(batch, device=device), best].tolist()
    for row in rows:
        seq = row[1:]
        out.append(seq[: seq.index(eos)] if eos in seq else seq)
    return out
