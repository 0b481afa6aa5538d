"""Ranking metrics of MusicBERT's melody completion and accompaniment suggestion (Zeng et al. 2021, Sec. 4.1).

Candidates of one group (one query) are ranked by score, highest first. With the 1-based
ranks r_1 < ... < r_n of the group's n true candidates:

* AP = (1/n) Σ_i i / r_i (average precision), MAP = mean AP over groups;
* HITS@k = |{i : r_i <= k}| / n, averaged over groups (k = 1, 5, 10, 15, 20, 25 as the
  reference's ``eval_nsp.py``).

Ties are broken against the true candidates (a true candidate tied with a false one is
ranked below it), so a constant scorer gets no credit.

Input file: one candidate per line, ``group candidate label score`` (label 1 = true, 0 = false).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Set, Tuple

import numpy as np

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines

HITS_K: Tuple[int, ...] = (1, 5, 10, 15, 20, 25)


@dataclass
class RankingResult:
    """MAP and HITS@k over groups, plus per-group AP."""

    n_groups: int
    map: float
    hits: Dict[int, float]
    per_group: Dict[str, float] = field(default_factory=dict)


def true_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1-based ranks of the true candidates, ties counted against them, sorted ascending."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    pos = scores[labels]
    neg = scores[~labels]
    # candidates above a true one: true ones strictly higher + false ones higher or equal
    higher_true = (pos[None, :] > pos[:, None]).sum(axis=1)
    higher_false = (neg[None, :] >= pos[:, None]).sum(axis=1)
    ranks = np.sort(higher_true + higher_false + 1)
    # equal true scores share a block: order them consecutively
    return ranks + np.arange(len(ranks)) - np.searchsorted(ranks, ranks, side="left")


def average_precision(ranks: np.ndarray) -> float:
    """AP = (1/n) Σ_i i / r_i for sorted ranks r_i of the n true candidates."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


def score_ranking(groups: Sequence[str], labels: Sequence[int], scores: Sequence[float], ks: Sequence[int] = HITS_K) -> RankingResult:
    """MAP and HITS@k of candidates grouped by ``groups``; groups without a true candidate are errors."""
    groups_arr = np.asarray(groups)
    labels_arr = np.asarray(labels, dtype=np.int64)
    scores_arr = np.asarray(scores, dtype=np.float64)
    names, inverse = np.unique(groups_arr, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
    aps: Dict[str, float] = {}
    hits = {k: [] for k in ks}
    for g, name in enumerate(names):
        idx = order[bounds[g] : bounds[g + 1]]
        lab = labels_arr[idx]
        if not lab.any():
            raise UserError(f"group {str(name)!r} has no true candidate (label 1)")
        ranks = true_ranks(scores_arr[idx], lab)
        aps[str(name)] = average_precision(ranks)
        for k in ks:
            hits[k].append(float(np.mean(ranks <= k)))
    return RankingResult(len(names), float(np.mean(list(aps.values()))), {k: float(np.mean(v)) for k, v in hits.items()}, aps)


def read_ranking_file(path: PathLike) -> Tuple[List[str], List[int], List[float]]:
    """Parse ``group candidate label score`` lines.

    Raises:
        UserError: a malformed line, or a group none of whose lines has label 1 (naming its first line).
    """
    groups: List[str] = []
    labels: List[int] = []
    scores: List[float] = []
    seen = set()
    first_line: Dict[str, int] = {}
    has_true: Set[str] = set()
    for number, text in read_lines(path):
        cols = text.split()
        if not cols:
            continue
        if len(cols) != 4:
            raise UserError(f"expected 'group candidate label score', got {len(cols)} fields", path, number)
        if cols[2] not in ("0", "1"):
            raise UserError(f"label must be 0 or 1, got {cols[2]!r}", path, number)
        try:
            score = float(cols[3])
        except ValueError:
            raise UserError(f"score {cols[3]!r} is not a number", path, number) from None
        if not np.isfinite(score):
            raise UserError(f"score {cols[3]!r} is not finite", path, number)
        if (cols[0], cols[1]) in seen:
            raise UserError(f"candidate {cols[1]!r} appears twice in group {cols[0]!r}", path, number)
        seen.add((cols[0], cols[1]))
        first_line.setdefault(cols[0], number)
        if cols[2] == "1":
            has_true.add(cols[0])
        groups.append(cols[0])
        labels.append(int(cols[2]))
        scores.append(score)
    if not groups:
        raise UserError("no candidates in file", path)
    for group, line in first_line.items():
        if group not in has_true:
            raise UserError(f"group {group!r} has no true candidate: none of its lines has label 1", path, line)
    return groups, labels, scores
