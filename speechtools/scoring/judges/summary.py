"""Corpus figures of judged utterances and their reports: per-utterance table, summary table, TSV and JSON.

A metric's figure is its mean over the utterances where it is defined, with the Student-t 95%
interval of :func:`speechtools.scoring.mos.t_interval` (``mean ± t(0.975, n−1) · s/√n``, s with
ddof 1); a judge may give another (the ASR judge: corpus WER with the bootstrap interval of
:mod:`speechtools.scoring.bootstrap`). As in ``score mos``, an interval from one value, or from
values that are all equal, is undefined (NaN, ``null`` in JSON) with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy as np

from speechtools.scoring.mos import t_interval
from speechtools.scoring.report import markdown_table

if TYPE_CHECKING:
    from speechtools.scoring.judges.base import JudgedUtterances, Metric

DASH = "–"  # an undefined value in a table (null in JSON)


@dataclass
class Summary:
    """One metric over the corpus: ``value`` (``statistic``: mean or pooled), its 95% interval by ``interval``,
    how many utterances had a value (``n``) and how many did not (``n_undefined``)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    n_undefined: int = 0
    statistic: str = "mean"
    interval: str = "t"
    ci_undefined: Optional[str] = None

    def to_dict(self) -> Dict[str, object]:
        """For JSON (NaN becomes ``null`` in :func:`speechtools.scoring.report.write_json`)."""
        return {"value": self.value, "statistic": self.statistic, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "interval": self.interval, "n": self.n, "n_undefined": self.n_undefined}


def mean_interval(values: Sequence[float]) -> Summary:
    """Mean of the finite ``values`` with the Student-t 95% interval; NaN values are counted as undefined."""
    v = np.asarray(values, dtype=np.float64)
    defined = v[np.isfinite(v)]
    n, missing = len(defined), len(v) - len(defined)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, 0, missing, ci_undefined="no utterance has a value")
    why = None
    if n < 2:
        why = "only one utterance has a value"
    elif np.all(defined == defined[0]):
        why = f"all {n} values are {defined[0]:g} (zero variance)"
    low, high = (math.nan, math.nan) if why else t_interval(defined)
    return Summary(float(defined.mean()), low, high, n, missing, ci_undefined=why)


def fmt(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, or a dash when it is undefined."""
    return f"{value:.{digits}f}" if math.isfinite(value) else DASH


def summaries(table: "JudgedUtterances") -> Dict[str, Summary]:
    """Each metric's corpus figure, as its judge computes it."""
    return {m.key: judge.summarize(m.key, table.ids, table.values[m.key]) for judge in table.judges for m in judge.metrics}


def label_of(metric: "Metric", summary: Summary) -> str:
    """The metric's label with the statistic when it is not a plain mean."""
    return metric.label if summary.statistic == "mean" else f"{metric.label} ({summary.statistic})"


def utterance_markdown(table: "JudgedUtterances") -> str:
    """One row per utterance, one column per metric."""
    metrics = table.metrics
    rows = [[u] + [fmt(table.values[m.key][k], m.digits) for m in metrics] for k, u in enumerate(table.ids)]
    return markdown_table(["utterance"] + [m.label for m in metrics], rows)


def summary_markdown(table: "JudgedUtterances", sums: Dict[str, Summary]) -> str:
    """``|metric|value|95% CI|utterances|undefined|`` with ``3.45 ± 0.11`` and ``[3.34, 3.56]`` (``undefined`` where it is)."""
    rows = []
    for m in table.metrics:
        s = sums[m.key]
        if s.ci_undefined or not math.isfinite(s.ci_low):
            value, bounds = fmt(s.value, m.digits), "undefined"
        else:
            value = f"{fmt(s.value, m.digits)} ± {(s.ci_high - s.ci_low) / 2:.{m.digits}f}"
            bounds = f"[{fmt(s.ci_low, m.digits)}, {fmt(s.ci_high, m.digits)}]"
        rows.append([label_of(m, s), value, bounds, s.n, s.n_undefined])
    return markdown_table(["metric", "value", "95% CI", "utterances", "undefined"], rows)


def tsv_lines(table: "JudgedUtterances") -> List[str]:
    """``per_utt.tsv``: a header ``uttid <metric keys>`` and one line per utterance (``nan`` where undefined)."""
    metrics = table.metrics
    lines = ["\t".join(["uttid"] + [m.key for m in metrics])]
    for k, u in enumerate(table.ids):
        lines.append("\t".join([u] + [f"{table.values[m.key][k]:.{m.digits + 2}f}" for m in metrics]))
    return lines


def report_dict(table: "JudgedUtterances", sums: Dict[str, Summary]) -> Dict[str, object]:
    """``{"summary": {metric: {...}}, "utterances": {uttid: {metric: value}}}`` for ``--json``."""
    return {
        "summary": {key: s.to_dict() for key, s in sums.items()},
        "utterances": {u: {m.key: table.values[m.key][k] for m in table.metrics} for k, u in enumerate(table.ids)},
    }
