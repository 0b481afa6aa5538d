"""Listening-test scores: MOS / SMOS / CMOS per system with 95% confidence intervals.

Interval methods (per system, over its ratings ``z``):

- ``crowdmos`` (default): Ribeiro, Florêncio, Zhang & Seltzer, "crowdMOS" (ICASSP 2011).
  Ratings follow ``z_ij = mu + x_i + y_j + e_ij`` (listener i, utterance j). With
  ``v_su`` = mean over listeners of the variance of their ratings, ``v_wu`` = mean over
  utterances of the variance of their ratings (population variances, groups of >= 2) and
  ``v_swu`` = variance of all ratings: ``v_s = v_swu - v_wu``, ``v_w = v_swu - v_su``,
  ``v_u = v_su + v_wu - v_swu`` (clipped at 0), and
  ``Var[mu] = v_s * sum_j M_j^2 / T^2 + v_w * sum_i N_i^2 / T^2 + v_u / T``
  (``M_j`` ratings of utterance j, ``N_i`` ratings by listener i, ``T`` ratings). The 95%
  interval is ``mean ± t(0.975, min(#listeners, #utterances) - 1) * sqrt(Var[mu])``.
  It accounts for listener and sentence effects, which make ratings dependent; per-rating
  intervals (``t``, ``normal``) are too narrow (Camp et al., Interspeech 2023).
- ``t``: Student-t over all ratings, ``t(0.975, n-1) * s / sqrt(n)`` (s with ddof 1).
- ``normal``: ``1.96 * s / sqrt(n)`` with the population std (ddof 0).
- ``bootstrap``: two-way cluster bootstrap — listeners and utterances are resampled with
  replacement independently; each rating is weighted by (draws of its listener) × (draws of
  its utterance); percentile interval.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from speechtools.errors import PathLike, UserError
from speechtools.scoring.sheets import SheetRow, read_sheets, require_nonempty

SCALES: Dict[str, Tuple[float, float]] = {"mos": (1.0, 5.0), "smos": (1.0, 5.0), "cmos": (-3.0, 3.0)}
CI_METHODS = ("crowdmos", "t", "normal", "bootstrap")
ROLES = ("system", "utterance", "listener", "score")


@dataclass
class Ratings:
    """All ratings of a listening test, one entry per sheet row."""

    system: List[str]
    utterance: List[str]
    listener: List[str]
    score: np.ndarray
    where: List[str]

    def subset(self, keep: np.ndarray) -> "Ratings":
        """The ratings where ``keep`` is true."""
        idx = np.flatnonzero(keep)
        return Ratings(
            [self.system[i] for i in idx],
            [self.utterance[i] for i in idx],
            [self.listener[i] for i in idx],
            self.score[idx],
            [self.where[i] for i in idx],
        )


def ratings_from_rows(rows: Sequence[SheetRow], scale: str) -> Ratings:
    """Validate sheet rows into :class:`Ratings`.

    Raises:
        UserError: naming the sheet and line of an empty cell, a non-numeric or out-of-scale
            rating, or a duplicate (listener, utterance, system) (also naming the first row).
    """
    low, high = SCALES[scale]
    seen: Dict[Tuple[str, str, str], str] = {}
    out = Ratings([], [], [], np.zeros(0), [])
    scores: List[float] = []
    for row in rows:
        system, utt, listener, text = require_nonempty(row, ROLES)
        try:
            value = float(text)
        except ValueError:
            raise UserError(f"rating {text!r} is not a number", row.sheet, row.line) from None
        if not (low <= value <= high):
            raise UserError(f"rating {text} is outside the {scale.upper()} scale {low:g}..{high:g}", row.sheet, row.line)
        key = (listener, utt, system)
        if key in seen:
            raise UserError(
                f"duplicate rating of utterance {utt!r} of system {system!r} by listener {listener!r} "
                f"(first at {seen[key]})", row.sheet, row.line)
        seen[key] = row.where()
        out.system.append(system)
        out.utterance.append(utt)
        out.listener.append(listener)
        out.where.append(row.where())
        scores.append(value)
    out.score = np.asarray(scores, dtype=np.float64)
    if not scores:
        raise UserError("the sheets contain no ratings", rows[0].sheet if rows else None)
    return out


def load_ratings(paths: Sequence[PathLike], columns: Dict[str, str], scale: str) -> Ratings:
    """Read and validate several sheets (merged) with ``columns`` mapping roles to headers."""
    if scale not in SCALES:
        raise UserError(f"unknown --scale {scale!r} (expected mos, smos or cmos)")
    return ratings_from_rows(read_sheets(paths, columns), scale)


def t_interval(scores: np.ndarray) -> Tuple[float, float]:
    """Student-t 95% interval of the mean: ``mean ± t(0.975, n-1) · s/√n`` (s: ddof 1)."""
    n = len(scores)
    mean = float(scores.mean())
    if n < 2:
        return (math.nan, math.nan)
    half = float(stats.t.ppf(0.975, n - 1) * scores.std(ddof=1) / math.sqrt(n))
    return mean - half, mean + half


def normal_interval(scores: np.ndarray) -> Tuple[float, float]:
    """Normal 95% interval ``mean ± 1.96 · s/√n`` with the population std (ddof 0)."""
    mean = float(scores.mean())
    half = 1.96 * float(scores.std()) / math.sqrt(len(scores))
    return mean - half, mean + half


def _codes(labels: Sequence[str]) -> Tuple[np.ndarray, int]:
    uniq, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return codes, len(uniq)


def _mean_group_variance(matrix: np.ndarray) -> float:
    """Mean over columns with >= 2 ratings of their population variance (NaN = missing)."""
    counts = (~np.isnan(matrix)).sum(axis=0)
    cols = matrix[:, counts >= 2]
    if cols.shape[1] == 0:
        return math.nan
    return float(np.mean(np.nanvar(cols, axis=0)))


def crowdmos_variance(scores: np.ndarray, listeners: Sequence[str], utterances: Sequence[str]) -> float:
    """``Var[mu]`` of the crowdMOS model (Ribeiro et al. 2011, Sec. 3; module docstring).

    When no listener (or no utterance) has two ratings, the matching component cannot be
    separated and the model drops it, as the authors' reference implementation does.
    """
    li, n_l = _codes(listeners)
    ui, n_u = _codes(utterances)
    z = np.full((n_l, n_u), np.nan)
    z[li, ui] = scores
    total = float(len(scores))
    per_utt = np.bincount(ui, minlength=n_u).astype(np.float64)
    per_listener = np.bincount(li, minlength=n_l).astype(np.float64)
    v_su = _mean_group_variance(z.T)
    v_wu = _mean_group_variance(z)
    v_swu = float(np.var(scores))
    if not math.isnan(v_su) and not math.isnan(v_wu):
        v_s = max(v_swu - v_wu, 0.0)
        v_w = max(v_swu - v_su, 0.0)
        v_u = max(v_su + v_wu - v_swu, 0.0)
        return v_s * np.sum(per_utt**2) / total**2 + v_w * np.sum(per_listener**2) / total**2 + v_u / total
    if math.isnan(v_su) and not math.isnan(v_wu):
        v_s = max(v_swu - v_wu, 0.0)
        return v_s * np.sum(per_utt**2) / total**2 + max(v_wu, 0.0) / total
    if not math.isnan(v_su):
        v_w = max(v_swu - v_su, 0.0)
        return v_w * np.sum(per_listener**2) / total**2 + max(v_su, 0.0) / total
    return v_swu / total


def crowdmos_interval(scores: np.ndarray, listeners: Sequence[str], utterances: Sequence[str]) -> Tuple[float, float]:
    """crowdMOS 95% interval: ``mean ± t(0.975, min(#listeners, #utterances) - 1) · √Var[mu]``."""
    df = min(len(set(listeners)), len(set(utterances))) - 1
    mean = float(scores.mean())
    if df < 1:
        return (math.nan, math.nan)
    half = float(stats.t.ppf(0.975, df)) * math.sqrt(crowdmos_variance(scores, listeners, utterances))
    return mean - half, mean + half


def cluster_bootstrap_interval(
    scores: np.ndarray, listeners: Sequence[str], utterances: Sequence[str], replications: int = 2000, seed: int = 1
) -> Tuple[float, float]:
    """Two-way (listener × utterance) cluster bootstrap, 2.5/97.5 percentile interval of the mean."""
    li, n_l = _codes(listeners)
    ui, n_u = _codes(utterances)
    rng = np.random.default_rng(seed)
    means: List[np.ndarray] = []
    for start in range(0, replications, 250):
        size = min(250, replications - start)
        wl = rng.multinomial(n_l, np.full(n_l, 1.0 / n_l), size=size).astype(np.float64)
        wu = rng.multinomial(n_u, np.full(n_u, 1.0 / n_u), size=size).astype(np.float64)
        weight = wl[:, li] * wu[:, ui]
        total = weight.sum(axis=1)
        ok = total > 0
        means.append((weight[ok] @ scores) / total[ok])
    values = np.concatenate(means)
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


@dataclass
class SystemScore:
    """One system's summary; ``p_value`` is the CMOS Wilcoxon signed-rank test against 0.

    An interval that cannot be estimated has NaN bounds and ``ci_undefined`` says why.
    """

    mean: float
    ci_low: float
    ci_high: float
    n_ratings: int
    n_listeners: int
    n_utterances: int
    p_value: Optional[float] = None
    ci_undefined: Optional[str] = None

    def to_dict(self) -> Dict[str, object]:
        """Mapping for JSON (``p_wilcoxon`` only for CMOS); an undefined interval has NaN bounds (written as null)."""
        out: Dict[str, object] = {
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_ratings": self.n_ratings,
            "n_listeners": self.n_listeners,
            "n_utterances": self.n_utterances,
        }
        if self.p_value is not None:
            out["p_wilcoxon"] = self.p_value
        return out


def wilcoxon_p(scores: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of CMOS ratings against 0 (Pratt's zero handling)."""
    if np.all(scores == 0):
        return 1.0
    return float(stats.wilcoxon(scores, zero_method="pratt").pvalue)


def undefined_interval(method: str, scores: np.ndarray, listeners: Sequence[str], utterances: Sequence[str]) -> Optional[str]:
    """Why ``method`` cannot give a 95% interval of the mean of ``scores``, or ``None`` when it can.

    One rating has no spread to estimate; ratings that are all equal give a zero-width interval
    that claims certainty the test does not have; crowdMOS needs two listeners and two utterances.
    """
    if len(scores) < 2:
        return "only one rating"
    if np.all(scores == scores[0]):
        return f"all {len(scores)} ratings are {scores[0]:g} (zero variance)"
    if method == "crowdmos" and min(len(set(listeners)), len(set(utterances))) < 2:
        return "crowdmos needs at least 2 listeners and 2 utterances (use --ci t)"
    return None


def interval(method: str, scores: np.ndarray, listeners: Sequence[str], utterances: Sequence[str],
             replications: int = 2000, seed: int = 1) -> Tuple[float, float]:
    """95% interval of the mean by ``method`` (see module docstring)."""
    if method == "t":
        return t_interval(scores)
    if method == "normal":
        return normal_interval(scores)
    if method == "crowdmos":
        return crowdmos_interval(scores, listeners, utterances)
    if method == "bootstrap":
        return cluster_bootstrap_interval(scores, listeners, utterances, replications, seed)
    raise UserError(f"unknown --ci {method!r} (expected {', '.join(CI_METHODS)})")


def summarize(ratings: Ratings, scale: str, method: str = "crowdmos", replications: int = 2000,
              seed: int = 1) -> Dict[str, SystemScore]:
    """Per-system mean, 95% interval and counts (plus the Wilcoxon p-value for CMOS).

    A system whose interval is undefined (:func:`undefined_interval`) gets NaN bounds and the reason.
    """
    out: Dict[str, SystemScore] = {}
    systems = np.asarray(ratings.system, dtype=object)
    for name in sorted(set(ratings.system)):
        mask = systems == name
        sub = ratings.subset(mask)
        why = undefined_interval(method, sub.score, sub.listener, sub.utterance)
        low, high = (math.nan, math.nan) if why else interval(method, sub.score, sub.listener, sub.utterance, replications, seed)
        out[name] = SystemScore(
            mean=float(sub.score.mean()),
            ci_low=low,
            ci_high=high,
            n_ratings=len(sub.score),
            n_listeners=len(set(sub.listener)),
            n_utterances=len(set(sub.utterance)),
            p_value=wilcoxon_p(sub.score) if scale == "cmos" else None,
            ci_undefined=why,
        )
    return out


_RULE = re.compile(r"^\s*(hidden-reference|ratings|corr)\s*<\s*(-?[0-9]+(?:\.[0-9]*)?)\s*$")


@dataclass
class Dropped:
    """A listener removed by screening and why."""

    listener: str
    reason: str


@dataclass
class ScreeningRule:
    """``hidden-reference<X``: mean rating of the hidden reference system below X;
    ``ratings<N``: fewer than N ratings; ``corr<X``: Pearson correlation between the
    listener's per-system means and all listeners' per-system means below X."""

    kind: str
    threshold: float
    text: str = field(default="")


def parse_rule(text: str) -> ScreeningRule:
    """Parse ``NAME<THRESHOLD`` for NAME in hidden-reference, ratings, corr."""
    match = _RULE.match(text)
    if match is None:
        raise UserError(f"--drop-listeners rule {text!r} not understood (expected hidden-reference<X, ratings<N or corr<X)")
    return ScreeningRule(match.group(1), float(match.group(2)), text.strip())


def screen_listeners(ratings: Ratings, rules: Sequence[ScreeningRule],
                     reference_system: Optional[str] = None) -> Tuple[Ratings, List[Dropped]]:
    """Drop listeners failing any rule; each rule is evaluated on the original ratings.

    Raises:
        UserError: ``hidden-reference`` without a reference system present in the sheets.
    """
    listeners = np.asarray(ratings.listener, dtype=object)
    systems = np.asarray(ratings.system, dtype=object)
    dropped: Dict[str, str] = {}
    system_means = {s: float(ratings.score[systems == s].mean()) for s in set(ratings.system)}
    for rule in rules:
        for name in sorted(set(ratings.listener)):
            mine = listeners == name
            reason = None
            if rule.kind == "hidden-reference":
                if reference_system is None or reference_system not in system_means:
                    raise UserError(f"--drop-listeners {rule.text} needs --reference-system naming a system in the sheets"
                                    f" (got {reference_system!r})")
                ref_scores = ratings.score[mine & (systems == reference_system)]
                if len(ref_scores) and ref_scores.mean() < rule.threshold:
                    reason = f"mean rating of hidden reference {reference_system!r} {ref_scores.mean():.2f} < {rule.threshold:g}"
            elif rule.kind == "ratings":
                if mine.sum() < rule.threshold:
                    reason = f"{int(mine.sum())} ratings < {rule.threshold:g}"
            else:
                rated = sorted(set(systems[mine]))
                if len(rated) >= 2:
                    own = np.array([ratings.score[mine & (systems == s)].mean() for s in rated])
                    overall = np.array([system_means[s] for s in rated])
                    if own.std() > 0 and overall.std() > 0:
                        r = float(np.corrcoef(own, overall)[0, 1])
                        if r < rule.threshold:
                            reason = f"correlation with system means {r:.2f} < {rule.threshold:g}"
            if reason is not None and name not in dropped:
                dropped[name] = f"{rule.text}: {reason}"
    keep = np.array([name not in dropped for name in ratings.listener], dtype=bool)
    kept = ratings.subset(keep)
    lost = sorted(set(ratings.system) - set(kept.system))
    if lost:
        raise UserError(f"screening left system(s) {', '.join(lost)} without ratings")
    return kept, [Dropped(name, why) for name, why in sorted(dropped.items())]


def markdown(summary: Dict[str, SystemScore], scale: str) -> str:
    """Markdown table sorted by mean (best first): ``3.45 ± 0.11`` (± half the interval width; ``undefined`` when it is)."""
    label = scale.upper()
    cmos = scale == "cmos"
    headers = ["system", label, "95% CI", "ratings", "listeners", "utterances"] + (["p (Wilcoxon)"] if cmos else [])
    lines = ["|" + "|".join(headers) + "|", "|---|" + "|".join("---:" for _ in headers[1:]) + "|"]
    for name, s in sorted(summary.items(), key=lambda kv: (-kv[1].mean, kv[0])):
        if s.ci_undefined:
            mean, bounds = f"{s.mean:.2f}", "undefined"
        else:
            mean, bounds = f"{s.mean:.2f} ± {(s.ci_high - s.ci_low) / 2:.2f}", f"[{s.ci_low:.2f}, {s.ci_high:.2f}]"
        row = [name, mean, bounds, str(s.n_ratings), str(s.n_listeners), str(s.n_utterances)]
        if cmos:
            row.append(f"{s.p_value:.3g}")
        lines.append("|" + "|".join(row) + "|")
    return "\n".join(lines)
