"""ASR error-correction metrics: WER before/after, WERR, and FastCorrect's edit precision/recall.

FastCorrect 2 (Leng et al., Findings of EMNLP 2021) reports P_edit, R_edit and P_right
without a script; we define them at the token level through the source. Positions of a
source (ASR hypothesis) of n tokens are its n tokens and its n+1 gaps (before the first
token, between tokens, after the last). The source→target and source→output alignments
(:func:`speechtools.scoring.wer.align`, Kaldi tie-breaking) give every position a content:
for a token, the target (or output) token aligned to it, or nothing if it is deleted; for a
gap, the tokens inserted there. A source token's own content is itself; a gap's is empty.

- error position: its target content differs from its source content (a wrong or extra
  token; or target words missing at a gap).
- edited position: its output content differs from its source content (the corrector
  changed or deleted the token, or inserted words at the gap).
- corrected position: an error position whose output content equals its target content.

``P_edit = |edited ∩ error| / |edited|``, ``R_edit = |edited ∩ error| / |error|``,
``P_right = |corrected| / |edited ∩ error|``, all summed over the corpus. If the output equals
the target, all three are 1; an untouched source has no edits (P_edit undefined, R_edit 0).
``WERR = (WER_before − WER_after) / WER_before``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, Union

from speechtools.errors import PathLike, UserError
from speechtools.scoring.edit_distance import Op, batch_align
from speechtools.scoring.wer import score_corpus

Tokens = Union[str, Sequence[Hashable]]


def _contents(n_src: int, ops: List[Op]) -> Tuple[List[Tuple[Hashable, ...]], List[Tuple[Hashable, ...]]]:
    """(content per source token, content per gap) from an alignment of the source to another text."""
    tokens: List[Tuple[Hashable, ...]] = [()] * n_src
    gaps: List[List[Hashable]] = [[] for _ in range(n_src + 1)]
    i = 0
    for op, _, other in ops:
        if op in ("C", "S"):
            tokens[i] = (other,)
            i += 1
        elif op == "D":
            tokens[i] = ()
            i += 1
        else:
            gaps[i].append(other)
    return tokens, [tuple(g) for g in gaps]


@dataclass
class EditCounts:
    """Position counts behind P_edit, R_edit and P_right."""

    errors: int = 0
    edited: int = 0
    edited_errors: int = 0
    corrected: int = 0

    def add(self, other: "EditCounts") -> None:
        """Accumulate another utterance's counts."""
        self.errors += other.errors
        self.edited += other.edited
        self.edited_errors += other.edited_errors
        self.corrected += other.corrected


def edit_counts(src: Sequence[Hashable], src_to_ref: List[Op], src_to_hyp: List[Op]) -> EditCounts:
    """Error / edited / corrected positions of one utterance (module docstring)."""
    n = len(src)
    ref_tok, ref_gap = _contents(n, src_to_ref)
    hyp_tok, hyp_gap = _contents(n, src_to_hyp)
    own = [(t,) for t in src] + [()] * (n + 1)
    ref = ref_tok + ref_gap
    hyp = hyp_tok + hyp_gap
    out = EditCounts()
    for s, r, h in zip(own, ref, hyp):
        error = r != s
        edited = h != s
        out.errors += error
        out.edited += edited
        out.edited_errors += error and edited
        out.corrected += error and h == r
    return out


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _tokens(value: Tokens) -> List[Hashable]:
    return value.split() if isinstance(value, str) else list(value)


def correction_metrics(src: Mapping[str, Tokens], hyp: Mapping[str, Tokens], ref: Mapping[str, Tokens],
                       ref_path: Optional[PathLike] = None) -> Dict[str, float]:
    """WER before/after (percent), WERR (percent), P_edit, R_edit, P_right (fractions) and counts.

    Args:
        src: utterance id → ASR hypothesis (corrector input); str values are split on spaces.
        hyp: utterance id → corrected output.
        ref: utterance id → reference; every reference id must be in ``src`` and ``hyp``.
        ref_path: the reference file, named when it has no utterance or no word.

    Raises:
        UserError: a reference utterance missing from ``src`` or ``hyp``; references without a word.
    """
    for name, table in (("source", src), ("corrected output", hyp)):
        missing = [u for u in ref if u not in table]
        if missing:
            raise UserError(f"{len(missing)} reference utterance(s) missing from the {name}, e.g. {missing[0]!r}")
    ids = list(ref)
    src_t = [_tokens(src[u]) for u in ids]
    hyp_t = [_tokens(hyp[u]) for u in ids]
    ref_t = [_tokens(ref[u]) for u in ids]
    before = score_corpus(dict(zip(ids, ref_t)), dict(zip(ids, src_t)), ref_path=ref_path)
    after = score_corpus(dict(zip(ids, ref_t)), dict(zip(ids, hyp_t)), ref_path=ref_path)
    to_ref = batch_align(src_t, ref_t)
    to_hyp = batch_align(src_t, hyp_t)
    total = EditCounts()
    for s, a, b in zip(src_t, to_ref, to_hyp):
        total.add(edit_counts(s, a, b))
    wer_before = 100.0 * before.errors / before.n_ref
    wer_after = 100.0 * after.errors / after.n_ref
    return {
        "wer_before": wer_before,
        "wer_after": wer_after,
        "werr": 100.0 * _ratio(wer_before - wer_after, wer_before),
        "p_edit": _ratio(total.edited_errors, total.edited),
        "r_edit": _ratio(total.edited_errors, total.errors),
        "p_right": _ratio(total.corrected, total.edited_errors),
        "errors": total.errors,
        "edited": total.edited,
        "edited_errors": total.edited_errors,
        "corrected": total.corrected,
        "n_ref": before.n_ref,
        "errors_before": before.errors,
        "errors_after": after.errors,
        "n_sent": len(ids),
    }
