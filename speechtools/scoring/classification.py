"""Classification metrics of MusicBERT's genre/style task (Zeng et al. 2021, Sec. 4.1, Table 4).

Reference and hypothesis files hold ``name label [label ...]`` lines (one label for single-
label tasks; several for multi-label ones, as TOP-MAGD/MASD). With per-class true positives
TP_c, false positives FP_c and false negatives FN_c over all items:

* micro F1 = 2 ΣTP / (2 ΣTP + ΣFP + ΣFN) (equals accuracy for single-label tasks);
* macro F1 = mean over classes c of 2 TP_c / (2 TP_c + FP_c + FN_c), classes = every label in
  the reference or hypothesis (sklearn ``f1_score`` with ``zero_division=0``);
* accuracy = share of items whose label set is exactly right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines


@dataclass
class ClassificationResult:
    """Item count, accuracy, micro/macro F1 and per-class (precision, recall, F1, support)."""

    n_items: int
    accuracy: float
    micro_f1: float
    macro_f1: float
    per_class: Dict[str, Tuple[float, float, float, int]]


def read_label_file(path: PathLike) -> Dict[str, FrozenSet[str]]:
    """``name label [label ...]`` → {name: labels}; duplicates and empty label lists are errors."""
    table: Dict[str, FrozenSet[str]] = {}
    for number, text in read_lines(path):
        cols = text.split()
        if not cols:
            continue
        if len(cols) < 2:
            raise UserError("expected 'name label [label ...]'", path, number)
        if cols[0] in table:
            raise UserError(f"item {cols[0]!r} appears twice", path, number)
        table[cols[0]] = frozenset(cols[1:])
    if not table:
        raise UserError("no items in file", path)
    return table


def _f1(tp: int, fp: int, fn: int) -> float:
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def score_classification(ref: Dict[str, FrozenSet[str]], hyp: Dict[str, FrozenSet[str]], ref_name: str = "ref", hyp_name: str = "hyp") -> ClassificationResult:
    """Compare label sets item by item; every reference item needs a hypothesis and vice versa."""
    missing = sorted(set(ref) - set(hyp))
    extra = sorted(set(hyp) - set(ref))
    if missing:
        raise UserError(f"{len(missing)} reference item(s) have no hypothesis, e.g. {missing[0]!r}", hyp_name)
    if extra:
        raise UserError(f"{len(extra)} hypothesis item(s) are not in the reference, e.g. {extra[0]!r}", hyp_name)
    classes = sorted(set().union(*ref.values(), *hyp.values()))
    counts = {c: [0, 0, 0] for c in classes}
    exact = 0
    for name, truth in ref.items():
        guess = hyp[name]
        exact += truth == guess
        for c in truth & guess:
            counts[c][0] += 1
        for c in guess - truth:
            counts[c][1] += 1
        for c in truth - guess:
            counts[c][2] += 1
    tp = sum(v[0] for v in counts.values())
    fp = sum(v[1] for v in counts.values())
    fn = sum(v[2] for v in counts.values())
    per_class = {}
    for c, (t, p, n) in counts.items():
        precision = t / (t + p) if t + p else 0.0
        recall = t / (t + n) if t + n else 0.0
        per_class[c] = (precision, recall, _f1(t, p, n), t + n)
    macro = sum(v[2] for v in per_class.values()) / len(classes)
    return ClassificationResult(len(ref), exact / len(ref), _f1(tp, fp, fn), macro, per_class)
