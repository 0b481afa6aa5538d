"""Paired bootstrap of two systems' difference on one metric, over the utterances both were scored on.

Each system is one or more runs (e.g. trainings with different seeds), each a JSON report of
``score tts``/``vocoder``/``naturalness`` with per-utterance values (``"utterances"``). A system's
value on an utterance is the mean over its runs, and its corpus figure is the weighted mean over
utterances ``Σ w_u v_u / Σ w_u``: weight 1 for a metric whose figure is the mean over utterances
(MCD, DNSMOS, PESQ, ...), the reference's word count for the ASR judge's pooled WER and IR (all
errors over all reference words; :func:`speechtools.scoring.judges.asr_wer.reference_words`).
The difference ``A − B`` of the figures is resampled over utterances with replacement, the same
utterances for both systems (the paired bootstrap, Koehn 2004, Sec. 4); the 95 % interval is the
2.5 and 97.5 percentiles of the resampled differences. Averaging the runs first makes the figure
the mean system of the runs; the interval covers the choice of utterances, not of seeds (with few
runs per system, read the runs' spread beside it).

Utterances where either system lacks a value in any run are left out and counted. Metrics pooled
some other way (log-F0 RMSE over voiced frames) have no per-utterance weights here and are refused.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from speechtools.errors import UserError
from speechtools.scoring.compare import load_report, metric_of
from speechtools.scoring.judges.metrics import ASR_IR, ASR_WER, METRICS
from speechtools.scoring.report import markdown_table

WORD_POOLED = (ASR_WER.key, ASR_IR.key)
"""Metrics whose corpus figure pools over reference words (per-utterance value = 100 · count / words)."""


@dataclass
class Run:
    """One scored run of a system: its report's path, per-utterance values and corpus figures."""

    path: Path
    utterances: Dict[str, Dict[str, Optional[float]]]
    summary: Dict[str, Dict[str, object]]


def read_run(path: Path) -> Run:
    """A JSON report with per-utterance values; one line naming the file otherwise."""
    data = load_report(path)
    utterances = data.get("utterances") if isinstance(data, dict) else None
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(utterances, dict) or not utterances or not isinstance(summary, dict) \
            or not all(isinstance(v, dict) for v in utterances.values()):
        raise UserError('not a report with per-utterance values: expected {"summary": {...}, "utterances": {UTT: {metric: value}}}', path)
    return Run(Path(path), utterances, summary)


@dataclass
class PairedDifference:
    """``a − b`` on ``metric``: the two figures, the difference and its 95 % interval, and where a is better."""

    metric: str
    a: str
    b: str
    value_a: float
    value_b: float
    difference: float
    ci_low: float
    ci_high: float
    a_better_share: float
    utterances: int
    left_out: int
    runs_a: int
    runs_b: int
    replications: int

    @property
    def verdict(self) -> str:
        """``"A ahead"`` or ``"B ahead"`` when the interval excludes 0, else ``"no significant difference"``."""
        lower_is_better = METRICS[self.metric].lower_is_better if self.metric in METRICS else None
        if lower_is_better is None or not (self.ci_low > 0 or self.ci_high < 0):
            return "no significant difference" if lower_is_better is not None else "no direction"
        a_smaller = self.ci_high < 0
        return f"{self.a} ahead" if a_smaller == lower_is_better else f"{self.b} ahead"

    def to_dict(self) -> Dict[str, object]:
        """For JSON, with the verdict."""
        return {**asdict(self), "verdict": self.verdict}


def _matrix(runs: Sequence[Run], metric: str, ids: Sequence[str]) -> np.ndarray:
    """``(runs, utterances)`` values of ``metric``; NaN where a run lacks one."""
    out = np.full((len(runs), len(ids)), np.nan)
    for r, run in enumerate(runs):
        for u, utt in enumerate(ids):
            value = run.utterances.get(utt, {}).get(metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[r, u] = float(value)
    return out


def _weights(metric: str, runs: Sequence[Run], ids: Sequence[str], words: Optional[Mapping[str, int]]) -> np.ndarray:
    """Per-utterance weights of ``metric``'s corpus figure (1, or reference words for WER/IR); checks the runs' statistic."""
    if metric in WORD_POOLED:
        if words is None:
            raise UserError(f"{metric} is pooled over reference words: give --ref (the data directory the systems were scored on)")
        missing = [u for u in ids if u not in words]
        if missing:
            raise UserError(f"--ref has no text for {missing[0]!r} ({len(missing)} utterances of the reports)")
        return np.array([float(words[u]) for u in ids])
    for run in runs:
        figure = run.summary.get(metric)
        statistic = figure.get("statistic", "mean") if isinstance(figure, dict) else "mean"
        if statistic != "mean":
            raise UserError(f"{metric} is a {statistic} figure without per-utterance weights: not supported by the paired bootstrap",
                            run.path)
    return np.ones(len(ids))


def _check_figure(run: Run, metric: str, values: np.ndarray, weights: np.ndarray) -> None:
    """The run's reported corpus figure must be the weighted mean of its per-utterance ``values`` (wrong --ref, edited report)."""
    figure = run.summary.get(metric, {}).get("value") if isinstance(run.summary.get(metric), dict) else None
    ok = np.isfinite(values) & (weights > 0)
    if not isinstance(figure, (int, float)) or not ok.any():
        return
    recomputed = float((values[ok] * weights[ok]).sum() / weights[ok].sum())
    if not math.isclose(recomputed, float(figure), rel_tol=1e-6, abs_tol=1e-9):
        raise UserError(f"{metric}: the per-utterance values give {recomputed:.6g}, the report says {figure:.6g} "
                        "(another --ref than the one it was scored on?)", run.path)


def paired_difference(a: str, runs_a: Sequence[Run], b: str, runs_b: Sequence[Run], metric: str,
                      words: Optional[Mapping[str, int]] = None, replications: int = 10000, seed: int = 1) -> PairedDifference:
    """The paired bootstrap of ``figure(a) − figure(b)`` on ``metric`` (module docstring; Koehn 2004, Sec. 4)."""
    for run in (*runs_a, *runs_b):
        if not any(metric in values for values in run.utterances.values()):
            present = sorted({key for values in run.utterances.values() for key in values})
            raise UserError(f"no per-utterance values of {metric!r} (it has: {', '.join(present) or 'none'})", run.path)
    ids = sorted(set().union(*(run.utterances for run in (*runs_a, *runs_b))))
    weights = _weights(metric, [*runs_a, *runs_b], ids, words)
    va, vb = _matrix(runs_a, metric, ids), _matrix(runs_b, metric, ids)
    for run, values in zip((*runs_a, *runs_b), (*va, *vb)):
        _check_figure(run, metric, values, weights)
    keep = np.isfinite(va).all(axis=0) & np.isfinite(vb).all(axis=0) & (weights > 0)
    n = int(keep.sum())
    if n < 2:
        raise UserError(f"{metric}: {n} utterance(s) have a value in every run of {a} and {b}; a bootstrap needs at least 2")
    w, ma, mb = weights[keep], va[:, keep].mean(axis=0), vb[:, keep].mean(axis=0)
    value_a, value_b = float((w * ma).sum() / w.sum()), float((w * mb).sum() / w.sum())
    rng = np.random.default_rng(seed)
    diffs = np.empty(replications)
    for start in range(0, replications, 256):
        idx = rng.integers(0, n, size=(min(256, replications - start), n))
        sw = w[idx]
        diffs[start:start + len(idx)] = (sw * (ma[idx] - mb[idx])).sum(axis=1) / sw.sum(axis=1)
    lower_is_better = METRICS[metric].lower_is_better if metric in METRICS else True
    better = (diffs < 0) if lower_is_better else (diffs > 0)
    return PairedDifference(metric, a, b, value_a, value_b, value_a - value_b, float(np.percentile(diffs, 2.5)),
                            float(np.percentile(diffs, 97.5)), float(better.mean()), n, len(ids) - n, len(runs_a), len(runs_b),
                            replications)


def paired_table(results: Sequence[PairedDifference]) -> str:
    """Markdown: metric, both figures (runs), ``A − B`` with its interval, share of resamples where A is better, verdict."""
    rows: List[List[str]] = []
    for r in results:
        d = metric_of(r.metric).digits + 1
        rows.append([metric_of(r.metric).label, f"{r.a} ({r.runs_a})", f"{r.value_a:.{d}f}", f"{r.b} ({r.runs_b})", f"{r.value_b:.{d}f}",
                     f"{r.difference:+.{d}f} [{r.ci_low:+.{d}f}, {r.ci_high:+.{d}f}]", f"{100 * r.a_better_share:.1f} %",
                     f"{r.utterances}" + (f" ({r.left_out} left out)" if r.left_out else ""), r.verdict])
    return markdown_table(["metric", "A (runs)", "A", "B (runs)", "B", "A − B [95 %]", "resamples A better", "utterances", "verdict"], rows)
