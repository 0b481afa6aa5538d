"""Corpus WER/CER in Kaldi ``compute-wer`` form (Levenshtein counts, Kaldi tie-breaking).

``%WER = 100 * (I + D + S) / N_ref`` and ``%SER = 100 * erroneous / scored sentences``,
printed with two decimals exactly as ``src/bin/compute-wer.cc`` does, including the
`` [PARTIAL]`` mark when some reference utterances have no hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Hashable, List, Mapping, Optional, Sequence, Union

import numpy as np

from speechtools.errors import UserError
from speechtools.scoring.edit_distance import Op, batch_align, batch_edit_counts, pack_tokens

MODES = ("strict", "present", "all")
Tokens = Union[str, Sequence[Hashable]]


def align(ref_tokens: Sequence[Hashable], hyp_tokens: Sequence[Hashable]) -> List[Op]:
    """One minimal Levenshtein alignment ``[(op, ref, hyp), ...]``, op in C/S/D/I.

    ``ref`` is ``None`` for an insertion and ``hyp`` is ``None`` for a deletion. Ties are broken
    as Kaldi's ``LevenshteinEditDistance`` does (see :mod:`speechtools.scoring.edit_distance`).
    """
    return batch_align([list(ref_tokens)], [list(hyp_tokens)])[0]


def kaldi_percent(num: int, den: int) -> float:
    """``100.0 * float(num) / float(den)`` with Kaldi's single-precision casts of the counts."""
    return 100.0 * float(np.float32(num)) / float(np.float32(den))


@dataclass
class WerResult:
    """Corpus counts plus per-utterance counts of the scored utterances.

    ``utt_counts[k] = (n_ref, ins, del, sub)`` for ``utt_ids[k]``; ``missing`` lists reference
    utterances without a hypothesis (skipped in ``present`` mode, scored as empty in ``all``).
    """

    n_ref: int
    ins: int
    dels: int
    sub: int
    n_sent: int
    n_sent_err: int
    missing: List[str] = field(default_factory=list)
    utt_ids: List[str] = field(default_factory=list)
    utt_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.int64))
    unit: str = "WER"

    @property
    def errors(self) -> int:
        """I + D + S."""
        return self.ins + self.dels + self.sub

    @property
    def wer(self) -> float:
        """Error rate in percent (Kaldi arithmetic)."""
        return kaldi_percent(self.errors, self.n_ref)

    @property
    def ser(self) -> float:
        """Sentence error rate in percent."""
        return kaldi_percent(self.n_sent_err, self.n_sent)

    def counts(self) -> Dict[str, int]:
        """``{n_ref, ins, del, sub, errors, n_sent, n_sent_err, missing}``."""
        return {
            "n_ref": self.n_ref,
            "ins": self.ins,
            "del": self.dels,
            "sub": self.sub,
            "errors": self.errors,
            "n_sent": self.n_sent,
            "n_sent_err": self.n_sent_err,
            "missing": len(self.missing),
        }

    def kaldi_lines(self) -> List[str]:
        """The three lines ``compute-wer`` prints (``%WER``, ``%SER``, ``Scored ...``).

        CER results keep the ``%WER`` label, as Kaldi's ``score_kaldi_cer.sh`` output does.
        """
        partial = " [PARTIAL]" if self.missing else ""
        return [
            f"%WER {self.wer:.2f} [ {self.errors} / {self.n_ref}, {self.ins} ins, "
            f"{self.dels} del, {self.sub} sub ]{partial}",
            f"%SER {self.ser:.2f} [ {self.n_sent_err} / {self.n_sent} ]",
            f"Scored {self.n_sent} sentences, {len(self.missing)} not present in hyp.",
        ]


def _as_tokens(value: Tokens) -> List[Hashable]:
    if isinstance(value, list):
        return value
    return value.split() if isinstance(value, str) else list(value)


def score_corpus(
    refs: Mapping[str, Tokens],
    hyps: Mapping[str, Tokens],
    mode: str = "strict",
    hyp_path: Optional[str] = None,
    unit: str = "WER",
    progress: bool = False,
) -> WerResult:
    """Score every reference utterance against its hypothesis, as Kaldi ``compute-wer``.

    Args:
        refs, hyps: utterance id → token list (or a string, split on whitespace).
        mode: ``strict`` (a missing hypothesis is an error), ``present`` (skip it),
            ``all`` (score it as an empty hypothesis). Hypotheses without a reference are ignored.
        hyp_path: named in the strict-mode error.
        unit: what a token is (``WER`` or ``CER``), used by reports.

    Raises:
        UserError: unknown mode, a missing hypothesis in strict mode, or nothing to score.
    """
    if mode not in MODES:
        raise UserError(f"unknown --mode {mode!r} (expected strict, present or all)")
    ids: List[str] = []
    missing: List[str] = []
    ref_tok: List[List[Hashable]] = []
    hyp_tok: List[List[Hashable]] = []
    for utt, ref in refs.items():
        if utt not in hyps:
            if mode == "strict":
                raise UserError(f"no hypothesis for utterance {utt!r} (--mode strict; use present or all)", hyp_path)
            missing.append(utt)
            if mode == "present":
                continue
            hyp: List[Hashable] = []
        else:
            hyp = _as_tokens(hyps[utt])
        ids.append(utt)
        ref_tok.append(_as_tokens(ref))
        hyp_tok.append(hyp)
    if not ids:
        raise UserError("no utterance to score: no reference id has a hypothesis", hyp_path)
    vocab: Dict[Hashable, int] = {}
    counts = batch_edit_counts(pack_tokens(ref_tok, vocab), pack_tokens(hyp_tok, vocab), progress=progress)
    n_ref = np.fromiter(map(len, ref_tok), dtype=np.int64, count=len(ref_tok))
    if n_ref.sum() == 0:
        raise UserError("the scored references contain no words; the error rate is undefined", hyp_path)
    sent_err = counts.sum(axis=1) > 0
    utt_counts = np.column_stack([n_ref, counts])
    return WerResult(
        n_ref=int(n_ref.sum()),
        ins=int(counts[:, 0].sum()),
        dels=int(counts[:, 1].sum()),
        sub=int(counts[:, 2].sum()),
        n_sent=len(ids),
        n_sent_err=int(sent_err.sum()),
        missing=missing,
        utt_ids=ids,
        utt_counts=utt_counts,
        unit=unit,
    )
