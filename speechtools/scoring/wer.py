"""Corpus WER/CER in Kaldi ``compute-wer`` form (Levenshtein counts, Kaldi tie-breaking).

``%WER = 100 * (I + D + S) / N_ref`` and ``%SER = 100 * erroneous / scored sentences``,
printed with two decimals exactly as ``src/bin/compute-wer.cc`` does, including the
`` [PARTIAL]`` mark when some reference utterances have no hypothesis. :func:`oracle_corpus`
scores n-best lists by their oracle: per utterance the candidate with the fewest errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Container, Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from speechtools.errors import PathLike, UserError
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


def match_hypotheses(
    ref_ids: Sequence[str],
    hyp_ids: Container[str],
    mode: str = "strict",
    ref_path: Optional[PathLike] = None,
    hyp_path: Optional[PathLike] = None,
    modes: Sequence[str] = MODES,
) -> Tuple[List[str], List[str]]:
    """The one rule for reference utterances without a hypothesis (``score wer``, ``score tts``), as Kaldi ``compute-wer``.

    Args:
        ref_ids: reference utterance ids, in order.
        hyp_ids: the ids that have a hypothesis (hypotheses without a reference are ignored).
        mode: ``strict`` (a missing hypothesis is an error), ``present`` (skip it), ``all``
            (score it as an empty hypothesis).
        ref_path, hyp_path: named in the errors.
        modes: the modes the command offers (named in the strict-mode error).

    Returns:
        ``(ids to score in reference order, ids without a hypothesis)``.

    Raises:
        UserError: unknown mode; no reference utterance (naming the reference file); a missing
            hypothesis in strict mode, or no reference utterance with one (naming the hypothesis file).
    """
    if mode not in modes:
        raise UserError(f"unknown --mode {mode!r} (expected {', '.join(modes)})")
    if not ref_ids:
        raise UserError("no reference utterances in this file", ref_path)
    missing = [u for u in ref_ids if u not in hyp_ids]
    if missing and mode == "strict":
        others = " or ".join(m for m in modes if m != "strict")
        raise UserError(f"no hypothesis for utterance {missing[0]!r} (--mode strict; use {others})", hyp_path)
    scored = list(ref_ids) if mode == "all" else [u for u in ref_ids if u in hyp_ids]
    if not scored:
        raise UserError("no utterance to score: no reference id has a hypothesis", hyp_path)
    return scored, missing


def score_corpus(
    refs: Mapping[str, Tokens],
    hyps: Mapping[str, Tokens],
    mode: str = "strict",
    hyp_path: Optional[PathLike] = None,
    unit: str = "WER",
    progress: bool = False,
    ref_path: Optional[PathLike] = None,
) -> WerResult:
    """Score every reference utterance against its hypothesis, as Kaldi ``compute-wer``.

    Args:
        refs, hyps: utterance id → token list (or a string, split on whitespace).
        mode: ``strict`` (a missing hypothesis is an error), ``present`` (skip it),
            ``all`` (score it as an empty hypothesis); see :func:`match_hypotheses`.
        hyp_path, ref_path: named in the errors.
        unit: what a token is (``WER`` or ``CER``), used by reports.

    Raises:
        UserError: as :func:`match_hypotheses`, or references without a word (naming ``ref_path``).
    """
    ids, missing = match_hypotheses(list(refs), hyps, mode, ref_path, hyp_path)
    ref_tok = [_as_tokens(refs[u]) for u in ids]
    hyp_tok = [_as_tokens(hyps[u]) if u in hyps else [] for u in ids]
    vocab: Dict[Hashable, int] = {}
    counts = batch_edit_counts(pack_tokens(ref_tok, vocab), pack_tokens(hyp_tok, vocab), progress=progress)
    return _wer_result(ids, missing, ref_tok, counts, unit, ref_path)


def _wer_result(ids: List[str], missing: List[str], ref_tok: List[List[Hashable]], counts: np.ndarray, unit: str,
                ref_path: Optional[PathLike]) -> WerResult:
    """The :class:`WerResult` of scored utterances ``ids`` from their ``(ins, del, sub)`` ``counts``."""
    n_ref = np.fromiter(map(len, ref_tok), dtype=np.int64, count=len(ref_tok))
    if n_ref.sum() == 0:
        raise UserError("the scored references contain no words; the error rate is undefined", ref_path)
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


def oracle_corpus(
    refs: Mapping[str, Tokens],
    nbest: Mapping[str, Sequence[Tokens]],
    mode: str = "strict",
    max_candidates: Optional[int] = None,
    hyp_path: Optional[PathLike] = None,
    unit: str = "WER",
    progress: bool = False,
    ref_path: Optional[PathLike] = None,
) -> Tuple[WerResult, Dict[str, int]]:
    """N-best oracle error rate: per utterance the candidate with the fewest errors, scored as :func:`score_corpus`.

    Every (reference, candidate) pair of the corpus is scored in one batched Levenshtein pass
    (:func:`~speechtools.scoring.edit_distance.batch_edit_counts`, Kaldi's S/D/I split); the
    choice per utterance is a stable sort of the pairs by (utterance, errors, rank), so a tie
    goes to the better-ranked (earlier) candidate. The oracle WER is a ceiling for any system
    that picks one of the candidates (the "n-best oracle" of lattice/n-best rescoring papers).

    Args:
        refs: utterance id → reference tokens (or a string, split on whitespace).
        nbest: utterance id → its candidates, best first (each tokens or a string); at least one each.
        mode: what to do with a reference utterance without an n-best list (:func:`match_hypotheses`).
        max_candidates: only the first ``max_candidates`` candidates of each list (``None``: all).
        hyp_path, ref_path: named in the errors.
        unit: ``WER`` or ``CER``, used by reports.

    Returns:
        The oracle's :class:`WerResult` and, for each scored utterance with a list, the index of
        the chosen candidate in it.

    Raises:
        UserError: as :func:`score_corpus`.
        ValueError: an empty candidate list, or ``max_candidates`` below 1.
    """
    if max_candidates is not None and max_candidates < 1:
        raise ValueError(f"max_candidates must be at least 1, got {max_candidates}")
    ids, missing = match_hypotheses(list(refs), nbest, mode, ref_path, hyp_path)
    ref_tok = [_as_tokens(refs[u]) for u in ids]
    pair_ref: List[List[Hashable]] = []
    pair_hyp: List[List[Hashable]] = []
    sizes = np.zeros(len(ids), dtype=np.int64)
    for k, (u, ref) in enumerate(zip(ids, ref_tok)):
        cands = [_as_tokens(c) for c in nbest[u][:max_candidates]] if u in nbest else [[]]
        if not cands:
            raise ValueError(f"utterance {u!r} has an empty candidate list")
        sizes[k] = len(cands)
        pair_ref.extend([ref] * len(cands))
        pair_hyp.extend(cands)
    vocab: Dict[Hashable, int] = {}
    counts = batch_edit_counts(pack_tokens(pair_ref, vocab), pack_tokens(pair_hyp, vocab), progress=progress)
    group = np.repeat(np.arange(len(ids)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    order = np.lexsort((np.arange(len(group)), counts.sum(axis=1), group))  # utterance, then errors, then rank
    best = order[np.searchsorted(group[order], np.arange(len(ids)))]
    chosen = {u: int(b - s) for u, b, s in zip(ids, best, starts) if u in nbest}
    return _wer_result(ids, missing, ref_tok, counts[best], unit, ref_path), chosen
