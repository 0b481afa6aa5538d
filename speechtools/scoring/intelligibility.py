"""Intelligibility rate from listener transcriptions (LRSpeech, Xu et al., KDD 2020).

LRSpeech defines the intelligibility rate (IR) as the share of words that native listeners
find intelligible. We measure it from what listeners typed: each transcription is aligned to
the reference (:func:`speechtools.scoring.wer.align`) and

    IR = correctly transcribed reference words / reference words   (alignment hits, C / N)

pooled over all transcriptions of a system. A word that is skipped, repeated wrongly or
mis-heard counts as unintelligible; extra words typed by the listener do not lower IR but
appear in the listener WER. The sentence-level rate is the share of transcriptions in which
every reference word was transcribed correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.scoring.edit_distance import batch_edit_counts, pack_tokens
from speechtools.scoring.normalize import Normalizer
from speechtools.scoring.sheets import read_sheets, require_nonempty

ROLES = ("system", "utterance", "listener", "transcription")


@dataclass
class Transcription:
    """One listener's transcription of one utterance of one system."""

    system: str
    utterance: str
    listener: str
    tokens: List[str]
    where: str


@dataclass
class IntelligibilityResult:
    """Per-system intelligibility: word-level IR, sentence-level IR, listener WER and counts."""

    word_ir: float
    sentence_ir: float
    wer: float
    n_words: int
    n_correct: int
    n_transcriptions: int
    n_listeners: int
    n_utterances: int

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready mapping."""
        return dict(self.__dict__)


def load_transcriptions(paths: Sequence[PathLike], columns: Dict[str, str], refs: Mapping[str, List[str]],
                        normalize: Normalizer) -> List[Transcription]:
    """Read sheets of listener transcriptions; a missing ``system`` column means one system ``-``.

    Raises:
        UserError: naming sheet and line of an empty id cell, an utterance without reference,
            or a duplicate (listener, utterance, system).
    """
    out: List[Transcription] = []
    seen: Dict[Tuple[str, str, str], str] = {}
    for row in read_sheets(paths, columns, optional=("system",)):
        utt, listener = require_nonempty(row, ("utterance", "listener"))
        system = row.values.get("system", "") or "-"
        if utt not in refs:
            raise UserError(f"utterance {utt!r} has no reference transcript", row.sheet, row.line)
        key = (listener, utt, system)
        if key in seen:
            raise UserError(f"duplicate transcription of {utt!r} ({system}) by {listener!r} (first at {seen[key]})",
                            row.sheet, row.line)
        seen[key] = row.where()
        out.append(Transcription(system, utt, listener, normalize(row.values["transcription"]), row.where()))
    if not out:
        raise UserError("the sheets contain no transcriptions", paths[0] if paths else None)
    return out


def intelligibility(items: Sequence[Transcription], refs: Mapping[str, List[str]]) -> Dict[str, IntelligibilityResult]:
    """Per-system IR = hits / reference words over all transcriptions (module docstring)."""
    vocab: Dict[object, int] = {}
    ref_ids = pack_tokens([refs[t.utterance] for t in items], vocab)
    hyp_ids = pack_tokens([t.tokens for t in items], vocab)
    counts = batch_edit_counts(ref_ids, hyp_ids)
    ref_len = ref_ids.lengths
    out: Dict[str, IntelligibilityResult] = {}
    for system in sorted({t.system for t in items}):
        rows = [k for k, t in enumerate(items) if t.system == system]
        n_words = sum(int(ref_len[k]) for k in rows)
        if n_words == 0:
            raise UserError(f"system {system!r}: the references of its utterances contain no words")
        hits = [int(ref_len[k]) - int(counts[k, 1]) - int(counts[k, 2]) for k in rows]
        errors = sum(int(counts[k].sum()) for k in rows)
        whole = sum(h == int(ref_len[k]) for h, k in zip(hits, rows))
        out[system] = IntelligibilityResult(
            word_ir=100.0 * sum(hits) / n_words,
            sentence_ir=100.0 * whole / len(rows),
            wer=100.0 * errors / n_words,
            n_words=n_words,
            n_correct=sum(hits),
            n_transcriptions=len(rows),
            n_listeners=len({items[k].listener for k in rows}),
            n_utterances=len({items[k].utterance for k in rows}),
        )
    return out


def markdown(results: Dict[str, IntelligibilityResult]) -> str:
    """Markdown table sorted by word-level IR, best first."""
    lines = ["|system|IR (words) %|IR (sentences) %|listener WER %|words|transcriptions|listeners|utterances|",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in sorted(results.items(), key=lambda kv: (-kv[1].word_ir, kv[0])):
        lines.append(f"|{name}|{r.word_ir:.2f}|{r.sentence_ir:.2f}|{r.wer:.2f}|{r.n_words}|{r.n_transcriptions}|"
                     f"{r.n_listeners}|{r.n_utterances}|")
    return "\n".join(lines)
