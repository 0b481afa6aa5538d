"""Rhyme and diversity metrics of lyrics (``speechtools score lyrics``).

DeepRapper (Xue et al., ACL 2021, Sec. 5) reports rhyme accuracy, rhyme density, Combo-N,
perplexity and distinct-n, but its code computes none of them and the paper's formulas are
not verified here, so these are our written definitions. For two consecutive lines of a song
(lines of different songs are never paired), let the *shared run* be the number ``r`` of
line-final rhyming tokens whose classes agree pairwise, counting from the last token back
(tokens that cannot rhyme, such as punctuation, are skipped; an ``UNK`` class matches nothing):

* **rhyme accuracy**: the share of pairs with ``r >= 1`` (the last tokens share a class);
* **rhyme density**: the mean of ``r`` over all pairs;
* **Combo-N**: the share of pairs with ``r >= N`` (an N-token rhyme; Combo-1 is rhyme accuracy);
* **distinct-n** (Li et al. 2016): distinct n-grams over all n-grams of the lines (n-grams
  never cross a line).

Worked example (Mandarin): 光 guang / 章 zhang share ``ang`` (r >= 1); 城市的光 / 新的篇章:
的 vs 篇 differ, so r = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from speechtools.music.lyrics import Line, Song
from speechtools.music.rhyme import UNK_RHYME, RhymeScheme
from speechtools.scoring.report import markdown_table

COMBO_N = (2, 3, 4)
DISTINCT_N = (1, 2, 3)


@dataclass
class LyricsScores:
    """Metrics of a lyrics file (module docstring); ``perplexity`` only when a model scored it."""

    songs: int
    lines: int
    pairs: int
    rhyme_accuracy: float
    rhyme_density: float
    combo: Dict[int, float]
    distinct: Dict[int, float]
    perplexity: Optional[float] = None


def line_rhymes(line: Line, scheme: RhymeScheme) -> List[str]:
    """Rhyme classes of the line's rhyming tokens, from the last token backwards."""
    out: List[str] = []
    for token in reversed(line.tokens):
        rhyme = scheme.rhyme(token)
        if rhyme is not None:
            out.append(rhyme)
    return out


def shared_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the common prefix of two end-first class lists; ``UNK`` never matches."""
    run = 0
    for x, y in zip(a, b):
        if x != y or x == UNK_RHYME:
            break
        run += 1
    return run


def distinct_n(lines: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams / all n-grams over ``lines`` (0 when no line has n tokens)."""
    grams = [tuple(line[i: i + n]) for line in lines for i in range(len(line) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def score_songs(songs: Sequence[Song], scheme: RhymeScheme) -> LyricsScores:
    """Rhyme accuracy, rhyme density, Combo-N and distinct-n of ``songs``."""
    runs: List[int] = []
    for song in songs:
        classes = [line_rhymes(line, scheme) for line in song.lines]
        runs += [shared_run(a, b) for a, b in zip(classes, classes[1:])]
    pairs = len(runs)
    all_lines = [line.tokens for song in songs for line in song.lines]
    return LyricsScores(
        songs=len(songs), lines=len(all_lines), pairs=pairs,
        rhyme_accuracy=sum(r >= 1 for r in runs) / pairs if pairs else 0.0,
        rhyme_density=sum(runs) / pairs if pairs else 0.0,
        combo={n: sum(r >= n for r in runs) / pairs if pairs else 0.0 for n in COMBO_N},
        distinct={n: distinct_n(all_lines, n) for n in DISTINCT_N},
    )


def scores_table(scores: LyricsScores) -> str:
    """The scores as a one-row Markdown table."""
    headers = ["songs", "lines", "pairs", "rhyme acc.", "rhyme density"] + [f"Combo-{n}" for n in COMBO_N]
    headers += [f"distinct-{n}" for n in DISTINCT_N] + (["perplexity"] if scores.perplexity is not None else [])
    row: List[str] = [str(scores.songs), str(scores.lines), str(scores.pairs), f"{scores.rhyme_accuracy:.4f}",
                      f"{scores.rhyme_density:.4f}"] + [f"{scores.combo[n]:.4f}" for n in COMBO_N]
    row += [f"{scores.distinct[n]:.4f}" for n in DISTINCT_N]
    if scores.perplexity is not None:
        row.append(f"{scores.perplexity:.2f}")
    return markdown_table(headers, [row])


def scores_json(scores: LyricsScores) -> Dict[str, object]:
    """The scores as a JSON-ready dict (``combo_N``, ``distinct_N`` keys)."""
    data: Dict[str, object] = {"songs": scores.songs, "lines": scores.lines, "pairs": scores.pairs,
                               "rhyme_accuracy": scores.rhyme_accuracy, "rhyme_density": scores.rhyme_density}
    data.update({f"combo_{n}": v for n, v in scores.combo.items()})
    data.update({f"distinct_{n}": v for n, v in scores.distinct.items()})
    if scores.perplexity is not None:
        data["perplexity"] = scores.perplexity
    return data
