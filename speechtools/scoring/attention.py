"""Quality of a TTS model's encoder-decoder attention: word coverage ratio (WCR) and attention diagonal ratio (ADR).

LRSpeech (Xu et al., KDD 2020, Sec. 2.3) keeps a synthetic (text, speech) pair for knowledge
distillation only if the teacher's attention covered every word and stayed near the diagonal.
The reference marks the paper's exact formulas unverified, so the definitions used here are
written out (``A`` is one utterance's attention, ``(S frames, N tokens)``, each row a
distribution over the tokens; a word is a set of token positions):

* coverage of word ``w``: ``c_w = max over frames s and tokens t in w of A[s, t]``: the
  strongest attention any frame paid to the word; a word the decoder skipped has ``c_w ≈ 0``;
* **WCR** ``= mean over words of c_w`` (``reduce="mean"``; a skipped word lowers it by its share
  ``1 / words``), or ``min over words of c_w`` (``reduce="min"``, the strict form: one skipped
  word sends it to ~0);
* **ADR** ``= Σ_s Σ_{t : |t - t*(s)| ≤ b} A[s, t] / Σ_s Σ_t A[s, t]`` with the diagonal
  ``t*(s) = (s + ½)·N/S - ½`` (frame centre mapped to token position) and the band half-width
  ``b = max(min_band, band·N)`` tokens: the share of attention mass within the band around the
  straight line from the first token to the last.

A perfect diagonal (every frame attends one token, tokens in order, equal durations) scores 1
on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from speechtools.errors import PathLike, UserError

DEFAULT_BAND = 0.1
DEFAULT_MIN_BAND = 1.0
WCR_REDUCTIONS = ("mean", "min")


@dataclass(frozen=True)
class AttentionScore:
    """WCR and ADR of one utterance's attention."""

    wcr: float
    adr: float

    def to_dict(self) -> Dict[str, float]:
        return {"wcr": self.wcr, "adr": self.adr}


def check_attention(attention: np.ndarray, path: Optional[PathLike] = None) -> np.ndarray:
    """``attention`` as a float64 ``(frames, tokens)`` matrix of finite, non-negative weights.

    Raises:
        UserError: another rank, an empty axis, a negative or non-finite weight (naming ``path``).
    """
    a = np.asarray(attention)
    if a.ndim != 2 or 0 in a.shape:
        raise UserError(f"expected a (frames, tokens) attention matrix, got shape {a.shape}", path)
    if not np.issubdtype(a.dtype, np.number):
        raise UserError(f"attention of dtype {a.dtype} is not numeric", path)
    a = a.astype(np.float64)
    if not np.isfinite(a).all() or (a < 0).any():
        raise UserError("attention weights must be finite and non-negative", path)
    return a


def spans_from_counts(counts: Sequence[int], n_tokens: int, path: Optional[PathLike] = None,
                      line: Optional[int] = None) -> List[np.ndarray]:
    """Word spans (token positions of each word) from per-word token counts, which must sum to ``n_tokens``."""
    if not counts or any(c < 1 for c in counts):
        raise UserError("word token counts must be positive integers", path, line)
    if sum(counts) != n_tokens:
        raise UserError(f"word token counts sum to {sum(counts)}, the attention has {n_tokens} tokens", path, line)
    ends = np.cumsum(counts)
    return [np.arange(end - count, end) for count, end in zip(counts, ends)]


def spans_from_tokens(tokens: Sequence[str], separators: Sequence[str]) -> List[np.ndarray]:
    """Word spans of a token sequence: maximal runs of tokens that are not ``separators`` (word boundaries, pauses).

    A sequence of separators only is one span of all its tokens (so it still has a coverage).
    """
    words: List[List[int]] = []
    previous_was_word = False
    sep = set(separators)
    for i, token in enumerate(tokens):
        if token in sep:
            previous_was_word = False
            continue
        if not previous_was_word:
            words.append([])
        words[-1].append(i)
        previous_was_word = True
    if not words:
        return [np.arange(len(tokens))]
    return [np.asarray(w) for w in words]


def word_coverage_ratio(attention: np.ndarray, words: Optional[Sequence[np.ndarray]] = None, reduce: str = "mean") -> float:
    """WCR (LRSpeech Sec. 2.3, definition in the module docstring): mean (or min) over words of their peak attention.

    ``words``: token positions of each word (default: every token is a word).
    """
    if reduce not in WCR_REDUCTIONS:
        raise ValueError(f"reduce must be one of {WCR_REDUCTIONS}, got {reduce!r}")
    peak = attention.max(axis=0)  # (tokens,): the strongest attention each token received
    if words is None:
        coverage = peak
    else:
        coverage = np.array([peak[w].max() for w in words])
    return float(coverage.mean() if reduce == "mean" else coverage.min())


def attention_diagonal_ratio(attention: np.ndarray, band: float = DEFAULT_BAND, min_band: float = DEFAULT_MIN_BAND) -> float:
    """ADR (LRSpeech Sec. 2.3, definition in the module docstring): attention mass within ``b`` tokens of the diagonal.

    Vectorised: one ``(frames, tokens)`` distance mask.
    """
    frames, tokens = attention.shape
    total = attention.sum()
    if total <= 0:
        return 0.0
    width = max(min_band, band * tokens)
    diagonal = (np.arange(frames) + 0.5) * tokens / frames - 0.5
    inside = np.abs(np.arange(tokens)[None, :] - diagonal[:, None]) <= width + 1e-9
    return float(attention[inside].sum() / total)


def score_attention(attention: np.ndarray, words: Optional[Sequence[np.ndarray]] = None, reduce: str = "mean",
                    band: float = DEFAULT_BAND, min_band: float = DEFAULT_MIN_BAND) -> AttentionScore:
    """WCR and ADR of one ``(frames, tokens)`` attention matrix."""
    return AttentionScore(word_coverage_ratio(attention, words, reduce), attention_diagonal_ratio(attention, band, min_band))


def keep_by_attention(scores: Mapping[str, AttentionScore], min_wcr: float, min_adr: float) -> Tuple[List[str], List[str]]:
    """LRSpeech's distillation filter: ids whose WCR ≥ ``min_wcr`` and ADR ≥ ``min_adr`` (kept), and the others (sorted)."""
    kept = sorted(u for u, s in scores.items() if s.wcr >= min_wcr and s.adr >= min_adr)
    dropped = sorted(set(scores) - set(kept))
    return kept, dropped


def mean_score(scores: Mapping[str, AttentionScore]) -> AttentionScore:
    """Mean WCR and ADR over utterances (NaN for none)."""
    if not scores:
        return AttentionScore(float("nan"), float("nan"))
    return AttentionScore(float(np.mean([s.wcr for s in scores.values()])), float(np.mean([s.adr for s in scores.values()])))


def drop_reason(score: AttentionScore, min_wcr: float, min_adr: float) -> str:
    """Why the filter dropped an utterance, one line (``wcr 0.41 < 0.60; adr ...``)."""
    parts = []
    if score.wcr < min_wcr:
        parts.append(f"wcr {score.wcr:.3f} < {min_wcr:g}")
    if score.adr < min_adr:
        parts.append(f"adr {score.adr:.3f} < {min_adr:g}")
    return "; ".join(parts)
