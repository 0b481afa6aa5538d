"""Systems side by side from the JSON reports of the scoring commands, and which of two is ahead on which metric.

Reads the ``{"summary": {metric: {"value", "ci_low", "ci_high", ...}}}`` files that ``score
vocoder``, ``score naturalness`` and ``score tts`` write with ``--json`` (several files of one
system are merged; a metric given twice must agree). Labels, decimals and directions come from
:data:`speechtools.scoring.judges.metrics.METRICS`. A head-to-head compares the two systems' corpus
figures metric by metric: "ahead" means strictly better in the metric's direction (intervals are
printed beside the table; an "ahead" inside overlapping intervals is a ranking, not a significant
difference).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from speechtools.errors import UserError
from speechtools.scoring.judges.base import Metric
from speechtools.scoring.judges.metrics import METRICS
from speechtools.scoring.report import markdown_table

Figure = Dict[str, object]


@dataclass
class System:
    """One row: its name and each metric's corpus figure (the ``summary`` entries of its reports)."""

    name: str
    figures: Dict[str, Figure] = field(default_factory=dict)

    def value(self, key: str) -> float:
        """The metric's corpus figure, NaN when the system has none."""
        v = self.figures.get(key, {}).get("value")
        return float(v) if isinstance(v, (int, float)) else math.nan


@dataclass
class HeadToHead:
    """``a`` against ``b`` on ``metrics``: where ``a`` is strictly better, worse, equal, or one lacks a value."""

    a: str
    b: str
    ahead: List[str]
    behind: List[str]
    tied: List[str]
    undefined: List[str]

    def to_dict(self) -> Dict[str, object]:
        """For JSON: the lists and ``"ahead_count"`` of ``"compared"`` (metrics defined in both)."""
        return {"a": self.a, "b": self.b, "ahead": self.ahead, "behind": self.behind, "tied": self.tied,
                "undefined": self.undefined, "ahead_count": len(self.ahead),
                "compared": len(self.ahead) + len(self.behind) + len(self.tied)}


def load_report(path: Path) -> object:
    """The parsed JSON of a score command's ``--json`` report; one line naming the file when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("no such report (a JSON file written by a score command's --json)", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"not a JSON report: {exc}", path) from None


def read_report(path: Path) -> Dict[str, Figure]:
    """The ``summary`` of one JSON report; one line naming the file when it is missing or not such a report."""
    data = load_report(path)
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict) or not all(isinstance(v, dict) and "value" in v for v in summary.values()):
        raise UserError('not a score report: expected {"summary": {metric: {"value": ...}}}', path)
    return summary


def load_systems(specs: Sequence[Tuple[str, Path]]) -> List[System]:
    """Systems in the order first named; each ``(name, report)`` adds that report's metrics to the system."""
    systems: Dict[str, System] = {}
    for name, path in specs:
        system = systems.setdefault(name, System(name))
        for key, figure in read_report(path).items():
            old = system.figures.get(key)
            if old is not None and old.get("value") != figure.get("value"):
                raise UserError(f"system {name!r} has two values of {key} ({old.get('value')} and {figure.get('value')})", path)
            system.figures[key] = figure
    return list(systems.values())


def metric_of(key: str) -> Metric:
    """The metric's definition; an unknown key gets its key as label, 2 decimals and no direction."""
    return METRICS.get(key, Metric(key, key, 2))


def metric_keys(systems: Sequence[System], only: Optional[Sequence[str]] = None) -> List[str]:
    """The columns: ``only`` if given, else every metric any system has, known ones in :data:`METRICS` order first."""
    if only:
        return list(only)
    present = {k for s in systems for k in s.figures}
    return [k for k in METRICS if k in present] + sorted(present - set(METRICS))


def cell(figure: Optional[Figure], metric: Metric) -> str:
    """``3.45 ± 0.11`` (half the 95% interval), the value alone without an interval, a dash without a value."""
    if figure is None or not isinstance(figure.get("value"), (int, float)):
        return "–"
    value, low, high = figure["value"], figure.get("ci_low"), figure.get("ci_high")
    text = f"{value:.{metric.digits}f}"
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and math.isfinite(low) and math.isfinite(high):
        text += f" ± {(high - low) / 2:.{metric.digits}f}"
    return text


def systems_table(systems: Sequence[System], keys: Sequence[str]) -> str:
    """Markdown: one row per system, one column per metric (with ↑/↓ for its better direction)."""
    metrics = [metric_of(k) for k in keys]
    headers = ["system"] + [f"{m.label} {'↓' if m.lower_is_better else '↑'}" if m.key in METRICS else m.label for m in metrics]
    return markdown_table(headers, [[s.name] + [cell(s.figures.get(m.key), m) for m in metrics] for s in systems])


def head_to_head(a: System, b: System, keys: Sequence[str]) -> HeadToHead:
    """Compare ``a`` with ``b`` metric by metric in each metric's direction (metrics without one count as undefined)."""
    result = HeadToHead(a.name, b.name, [], [], [], [])
    for key in keys:
        va, vb = a.value(key), b.value(key)
        if key not in METRICS or not (math.isfinite(va) and math.isfinite(vb)):
            result.undefined.append(key)
        elif va == vb:
            result.tied.append(key)
        elif (va < vb) == METRICS[key].lower_is_better:
            result.ahead.append(key)
        else:
            result.behind.append(key)
    return result


def head_to_head_table(results: Sequence[HeadToHead]) -> str:
    """Markdown: ``a | b | ahead on | behind on | ahead/compared``."""
    rows = []
    for r in results:
        d = r.to_dict()
        rows.append([r.a, r.b, ", ".join(metric_of(k).label for k in r.ahead) or "–",
                     ", ".join(metric_of(k).label for k in r.behind) or "–", f"{d['ahead_count']}/{d['compared']}"])
    return markdown_table(["system", "versus", "ahead on", "behind on", "ahead"], rows)
