"""Reading attention matrices and word-boundary files for ``score attention``; its Markdown table."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from speechtools.errors import PathLike, UserError
from speechtools.fileio import checked_id, read_lines, read_npy
from speechtools.scoring.attention import AttentionScore, check_attention, mean_score, score_attention, spans_from_counts
from speechtools.scoring.report import markdown_table


def read_word_counts(path: PathLike) -> Dict[str, tuple]:
    """``uttid n1 n2 ...`` lines: ``{uttid: ((n1, n2, ...), line)}``; one line per malformed entry."""
    out: Dict[str, tuple] = {}
    for number, line in read_lines(path):
        parts = line.split()
        if not parts:
            continue
        uttid = checked_id(parts[0], "utterance id", path, number)
        try:
            counts = tuple(int(p) for p in parts[1:])
        except ValueError:
            raise UserError("expected 'uttid n1 n2 ...' (token counts of the words)", path, number) from None
        if not counts:
            raise UserError("no word token counts after the utterance id", path, number)
        if uttid in out:
            raise UserError(f"duplicate id {uttid!r}", path, number)
        out[uttid] = (counts, number)
    return out


def read_scores(directory: Path, words_path: Optional[PathLike], reduce: str, band: float,
                min_band: float) -> Dict[str, AttentionScore]:
    """WCR/ADR of every ``<uttid>.npy`` in ``directory`` (sorted by id)."""
    if not directory.is_dir():
        raise UserError("no such directory", directory)
    files = sorted(directory.glob("*.npy"))
    if not files:
        raise UserError("no <uttid>.npy attention files in this directory", directory)
    counts = read_word_counts(words_path) if words_path is not None else None
    scores: Dict[str, AttentionScore] = {}
    for path in files:
        uttid = checked_id(path.stem, "utterance id", path)
        attention = check_attention(read_npy(path, f"attention of {uttid}"), path)
        words = None
        if counts is not None:
            if uttid not in counts:
                raise UserError(f"no word boundaries for utterance {uttid!r}", words_path)
            word_counts, line = counts[uttid]
            words = spans_from_counts(word_counts, attention.shape[1], words_path, line)
        scores[uttid] = score_attention(attention, words, reduce, band, min_band)
    return scores


def markdown(scores: Dict[str, AttentionScore]) -> str:
    """One row per utterance and a mean row."""
    rows: List[list] = [[u, f"{s.wcr:.4f}", f"{s.adr:.4f}"] for u, s in scores.items()]
    mean = mean_score(scores)
    rows.append([f"**mean** ({len(scores)})", f"{mean.wcr:.4f}", f"{mean.adr:.4f}"])
    return markdown_table(["utterance", "WCR", "ADR"], rows)
