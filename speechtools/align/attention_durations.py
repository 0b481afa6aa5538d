"""Token durations from an autoregressive teacher's encoder-decoder attention (FastSpeech).

FastSpeech (Ren et al., NeurIPS 2019, arXiv 1905.09263, Sec. 3.3) extracts phoneme durations
from a trained Transformer TTS teacher: among all layers and heads it picks the attention
that is most diagonal, measured by the *focus rate*

    F = (1/S) * sum_s max_t a[s, t]

(S decoder steps, ``a[s, :]`` the attention of step ``s`` over the T text tokens), and the
duration of token ``i`` is the number of decoder steps whose attention peaks at ``i``:

    d_i = #{s : argmax_t a[s, t] = i}.

Every decoder step counts for exactly one token, so ``sum(d) == S`` (the frame count with
reduction factor 1), as design.md §2 requires of a ``durations`` file. Tokens the teacher
skipped get 0 frames (the failure mode of espnet#4890; :func:`filter_by_focus_rate` is
ESPnet's remedy for knowledge distillation: drop utterances whose best focus rate is low).

All functions are vectorised over batch, layers and heads; attention tensors are
``(batch, layers, heads, S, T)`` with padded steps/tokens ignored through the lengths.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, NamedTuple, Tuple

import torch

from speechtools.nn.masks import lengths_to_mask

#: ESPnet's focus-rate threshold for keeping a teacher-decoded utterance in knowledge
#: distillation (``local/setup_knowledge_dist.sh``).
DEFAULT_MIN_FOCUS_RATE = 0.65


class HeadChoice(NamedTuple):
    """The chosen attention per utterance: its (layer, head) indices and focus rate."""

    layer: torch.Tensor
    head: torch.Tensor
    focus_rate: torch.Tensor


def _check(attention: torch.Tensor, step_lengths: torch.Tensor, token_lengths: torch.Tensor) -> None:
    if attention.dim() != 5:
        raise ValueError(f"attention must be (batch, layers, heads, steps, tokens), got shape {tuple(attention.shape)}")
    if step_lengths.shape != (attention.size(0),) or token_lengths.shape != (attention.size(0),):
        raise ValueError("step_lengths and token_lengths need one entry per batch item")
    if bool((token_lengths < 1).any()):
        raise ValueError("every utterance needs at least one token")


def _masked(attention: torch.Tensor, step_lengths: torch.Tensor, token_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Attention with padded tokens set to -1 (never a max) and the valid-step mask ``(batch, S)``."""
    steps = lengths_to_mask(step_lengths.to(attention.device), attention.size(3))
    tokens = lengths_to_mask(token_lengths.to(attention.device), attention.size(4))
    masked = attention.masked_fill(~tokens[:, None, None, None, :], -1.0)
    return masked, steps


def focus_rates(attention: torch.Tensor, step_lengths: torch.Tensor, token_lengths: torch.Tensor) -> torch.Tensor:
    """Focus rate F of every layer and head, ``(batch, layers, heads)`` (FastSpeech Sec. 3.3).

    F = mean over the valid decoder steps of the largest attention weight on a valid token.
    """
    _check(attention, step_lengths, token_lengths)
    masked, steps = _masked(attention, step_lengths, token_lengths)
    peak = masked.max(dim=-1).values * steps[:, None, None, :].to(attention.dtype)
    return peak.sum(dim=-1) / step_lengths.to(attention.device, attention.dtype).clamp(min=1)[:, None, None]


def choose_head(attention: torch.Tensor, step_lengths: torch.Tensor, token_lengths: torch.Tensor) -> HeadChoice:
    """The (layer, head) of maximal focus rate per utterance; ties go to the first (lowest layer, head)."""
    rates = focus_rates(attention, step_lengths, token_lengths)
    flat = rates.flatten(1)
    best = flat.argmax(dim=1)
    heads = rates.size(2)
    return HeadChoice(layer=best // heads, head=best % heads, focus_rate=flat.gather(1, best[:, None]).squeeze(1))


def durations_from_alignment(alignment: torch.Tensor, step_lengths: torch.Tensor, token_lengths: torch.Tensor) -> torch.Tensor:
    """d_i = number of valid decoder steps whose argmax token is i; ``(batch, T)`` long.

    ``alignment`` is one attention map per utterance, ``(batch, S, T)``. Padded tokens get 0 and
    each row sums to its step length.
    """
    if alignment.dim() != 3:
        raise ValueError(f"alignment must be (batch, steps, tokens), got shape {tuple(alignment.shape)}")
    masked, steps = _masked(alignment[:, None, None], step_lengths, token_lengths)
    peak = masked[:, 0, 0].argmax(dim=-1)
    counts = torch.zeros(alignment.size(0), alignment.size(2), dtype=torch.long, device=alignment.device)
    counts.scatter_add_(1, peak, steps.long())
    return counts


def attention_durations(
    attention: torch.Tensor, step_lengths: torch.Tensor, token_lengths: torch.Tensor
) -> Tuple[torch.Tensor, HeadChoice]:
    """FastSpeech teacher durations: choose the max-focus-rate head, then count argmax steps.

    Args:
        attention: encoder-decoder attention of every layer and head, ``(batch, layers, heads, S, T)``.
        step_lengths: valid decoder steps (mel frames) per utterance.
        token_lengths: valid text tokens per utterance.

    Returns:
        ``(durations (batch, T), choice)``.
    """
    choice = choose_head(attention, step_lengths, token_lengths)
    index = torch.arange(attention.size(0), device=attention.device)
    chosen = attention[index, choice.layer.to(attention.device), choice.head.to(attention.device)]
    return durations_from_alignment(chosen, step_lengths, token_lengths), choice


def filter_by_focus_rate(rates: Mapping[str, float], threshold: float = DEFAULT_MIN_FOCUS_RATE) -> Tuple[List[str], List[str]]:
    """ESPnet's knowledge-distillation filter: ``(kept, dropped)`` utterance ids by ``F >= threshold``."""
    kept = sorted(u for u, f in rates.items() if f >= threshold)
    dropped = sorted(u for u, f in rates.items() if f < threshold)
    return kept, dropped


def format_focus_rates(rates: Mapping[str, float]) -> Dict[str, str]:
    """``uttid -> "0.8123"`` for a Kaldi-style ``focus_rates`` table."""
    return {u: f"{f:.4f}" for u, f in rates.items()}
