"""Predictor-based architecture search under a size or CPU-latency constraint (GBDT-NAS over a supernet).

The loop (GBDT-NAS, Luo et al. 2020, with the supernet's shared-weight loss as the
evaluation, as one-shot NAS does):

0. evaluate the architectures given in ``include`` (e.g. a published one), if any: they join
   the predictor's training set and may win, but are not part of the random sample;
1. draw random architectures (each layer's operation uniform over the twelve), keep those that
   meet the constraint, and evaluate ``initial`` of them on the held-out set with the supernet
   (its shared weights, or with ``finetune`` those weights after a short fine-tune of the
   candidate, :mod:`speechtools.nas.evaluate`);
2. fit the gradient-boosted-tree predictor of validation loss on every evaluated candidate;
3. draw a pool of ``pool`` new random architectures, rank them by predicted loss, and evaluate
   the best-ranked ones that meet the constraint (``per_round`` per round);
4. repeat 2-3 until ``budget`` candidates are evaluated; the answer is the evaluated candidate
   with the lowest loss (all evaluated candidates meet the constraint). "Loss" is ``objective``:
   the total training loss (default) or one of its terms, e.g. the mel loss alone.

Constraints: ``max_params`` (exact count of the standalone model) and/or ``max_latency_ms``
(measured on this machine, :mod:`speechtools.nas.cost`, cached per architecture and thread
count). Most random architectures are far slower than a tight limit (on the development CPU none
of 16 was as fast as the authors' architecture, ``bench/nas_cost.py``), so random and pool
candidates are first screened without measuring: by their exact parameter count and by an
additive latency estimate (:class:`~speechtools.nas.cost.AdditiveEstimate`, from 23 measured
architectures) within ``latency_slack`` of the limit; only those are measured, and only the
measured latency decides. The all-identity architecture is the smallest and fastest of the space: if it fails the
constraint no architecture can meet it and the search stops at once with one line.

Resumable and deterministic: the run is a function of the seed and of the evaluations, so a
re-run with the same settings replays the same trajectory, taking every evaluation already in
``search.json`` (written after each one) and every latency already in the cache instead of
recomputing it. With ``max_latency_ms`` two fresh runs agree only as far as their latency
measurements fall on the same side of the limit (the cache makes a resumed run agree exactly).

The predictor's quality is logged as Kendall's tau between predicted and evaluated loss on
held-out candidates: out-of-fold predictions over the random initial sample (5-fold), and the
predictions made for the proposed candidates before they were evaluated.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import numpy as np
from tqdm import tqdm

from speechtools.errors import UserError
from speechtools.fileio import atomic_write
from speechtools.nas.cost import AdditiveEstimate, Cost, CostMeter
from speechtools.nas.evaluate import FinetuneSettings, SupernetEvaluator
from speechtools.nas.predictor import cross_validated_predictions, fit_predictor, kendall_tau, predict
from speechtools.nn.search_space import OPERATIONS, arch_from_ids, canonical_arch

LOG_NAME = "search.json"
IDENTITY = max(OPERATIONS)  # op 12
OBJECTIVES = ("loss", "mel_loss", "duration_loss", "pitch_loss")
ESTIMATE_DRAWS = 200_000  # random draws in a row that may be estimated over the limit (cheap: no model is built)


@dataclass
class SearchSettings:
    """What decides a search's trajectory (a resumed run must have the same).

    Attributes:
        budget: candidates evaluated with the supernet, in all.
        max_latency_ms: latency limit (ms per sentence, batch 1, ``threads`` threads), or None.
        max_params: parameter limit, or None. At least one of the two is required.
        seed: seed of the random draws and of the predictor.
        initial: random candidates evaluated before the first fit (0: half the budget, at least 2).
        per_round: candidates proposed by the predictor and evaluated per round.
        pool: random candidates the predictor ranks per round.
        max_draws: random draws that may fail the constraint before the search gives up.
        threads, latency_sentences, repeats: the latency measurement (:class:`CostMeter`).
        latency_slack: random candidates whose additive latency estimate (:class:`AdditiveEstimate`)
            exceeds ``max_latency_ms × (1 + latency_slack)`` are skipped without being measured.
    """

    budget: int
    max_latency_ms: Optional[float] = None
    max_params: Optional[int] = None
    seed: int = 0
    initial: int = 0
    per_round: int = 4
    pool: int = 1000
    max_draws: int = 500
    threads: int = 1
    latency_sentences: int = 20
    repeats: int = 3
    latency_slack: float = 0.1
    finetune: FinetuneSettings = field(default_factory=FinetuneSettings)
    objective: str = "loss"
    include: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            self.include = list(dict.fromkeys(canonical_arch(arch) for arch in self.include))
        except ValueError as exc:
            raise UserError(f"--include-arch: {exc}") from None
        if self.max_latency_ms is None and self.max_params is None:
            raise UserError("give a constraint: --max-latency-ms or --max-params")
        for name in ("budget", "per_round", "pool", "max_draws", "threads", "latency_sentences", "repeats"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.objective not in OBJECTIVES:
            raise UserError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if not 0 <= self.latency_slack:
            raise UserError(f"--latency-slack must be >= 0, got {self.latency_slack}")
        if self.budget < 2:
            raise UserError(f"--budget must be >= 2 (a predictor needs evaluated candidates), got {self.budget}")
        if self.initial == 0:
            self.initial = max(2, self.budget // 2)
        if not 2 <= self.initial <= self.budget:
            raise UserError(f"--initial must be between 2 and --budget ({self.budget}), got {self.initial}")
        if self.initial + len(self.include) > self.budget:
            raise UserError(f"--budget {self.budget} is less than --initial ({self.initial}) plus {len(self.include)} --include-arch")


@dataclass
class SearchResult:
    """The best architecture, every evaluated candidate and the predictor's rank correlations."""

    best: Dict[str, Any]
    evaluated: List[Dict[str, Any]]
    summary: Dict[str, Any] = field(default_factory=dict)


class _Log:
    """``search.json``: settings, every evaluated candidate (rewritten after each), the summary.

    ``context`` names the inputs the evaluations depend on (supernet, held-out and fine-tune data,
    CPU); a log is resumed only with the same settings and the same context.
    """

    def __init__(self, path: Path, settings: SearchSettings, context: Dict[str, Any]) -> None:
        self.path = path
        stored_settings = asdict(settings)
        # a log with the default evaluation and objective reads as before these settings existed
        if not settings.finetune.steps:
            del stored_settings["finetune"]
        if settings.objective == "loss":
            del stored_settings["objective"]
        if not settings.include:
            del stored_settings["include"]
        self.head = {"settings": stored_settings, **context}
        self.memo: Dict[str, Dict[str, Any]] = {}
        if path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserError(f"unreadable search log ({exc}); remove it to start afresh", path) from None
            changed = sorted(key for key in set(stored) | set(self.head)
                             if key not in ("evaluated", "summary") and stored.get(key) != self.head.get(key))
            if changed:
                raise UserError(f"this search log was written with other settings ({', '.join(changed)}); "
                                "use another --out-dir or the same options and inputs", path)
            self.memo = {e["arch"]: e for e in stored.get("evaluated", [])}
        self.entries: List[Dict[str, Any]] = []

    def save(self, summary: Optional[Dict[str, Any]] = None) -> None:
        """Rewrite the log (atomically) with the entries so far and, at the end, the summary."""
        data = {**self.head, "evaluated": self.entries, **({"summary": summary} if summary else {})}
        with atomic_write(self.path) as handle:
            json.dump(data, handle, indent=1, allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(type(value).__name__)


def _finite(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


class Search:
    """One search (module docstring): ``run()`` returns the :class:`SearchResult` and writes ``out_dir``."""

    def __init__(self, evaluator: SupernetEvaluator, meter: CostMeter, settings: SearchSettings, out_dir: Path,
                 context: Optional[Dict[str, Any]] = None, progress: bool = True) -> None:
        self.evaluator = evaluator
        self.meter = meter
        self.settings = settings
        self.out_dir = Path(out_dir)
        self.n_layers = evaluator.model.n_layers
        self.progress = progress
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log = _Log(self.out_dir / LOG_NAME, settings, context or {})
        self.rng = np.random.default_rng(settings.seed)
        self.seen: Set[str] = set()
        self.draws_failed = 0
        self.draws_skipped = 0
        self.latency_estimate: Optional[AdditiveEstimate] = None

    def feasible(self, arch: str) -> Tuple[bool, Cost]:
        """Whether ``arch`` meets the constraint, and its cost (latency only measured under a latency limit)."""
        s = self.settings
        params, macs = self.meter.size(arch)
        cost = Cost(params, macs)
        if s.max_params is not None and params > s.max_params:
            return False, cost
        if s.max_latency_ms is not None:
            cost.latency_ms = self.meter.latency_ms(arch)
            if cost.latency_ms > s.max_latency_ms:
                return False, cost
        return True, cost

    def plausible(self, arch: str) -> bool:
        """Whether ``arch`` may meet the limit: exact parameter count, latency estimate within the slack (no measurement)."""
        s = self.settings
        if s.max_params is not None and self.meter.param_count(arch) > s.max_params:
            return False
        if self.latency_estimate is not None and s.max_latency_ms is not None:
            return self.latency_estimate(arch) <= s.max_latency_ms * (1.0 + s.latency_slack)
        return True

    def check_possible(self) -> None:
        """One line if the smallest, fastest architecture (all identity) fails the constraint."""
        arch = arch_from_ids([IDENTITY] * self.n_layers)
        ok, cost = self.feasible(arch)
        if ok:
            return
        s = self.settings
        if s.max_params is not None and cost.params > s.max_params:
            raise UserError(f"no architecture has at most --max-params {s.max_params} parameters: the smallest "
                            f"(all identity) has {cost.params}")
        raise UserError(f"no architecture runs within --max-latency-ms {s.max_latency_ms:g}: the fastest (all identity) takes "
                        f"{cost.latency_ms:.2f} ms per sentence here at {s.threads} thread(s)")

    def random_arch(self) -> str:
        """An architecture drawn uniformly (each layer's operation uniform over the twelve)."""
        return arch_from_ids(self.rng.integers(1, len(OPERATIONS) + 1, size=self.n_layers).tolist())

    def evaluate(self, arch: str, cost: Cost, source: str, round_: int, predicted: Optional[float]) -> Dict[str, Any]:
        """Evaluate ``arch`` with the supernet (or take it from a resumed log) and append it to the log."""
        entry = self.log.memo.get(arch)
        if entry is None:
            start = time.perf_counter()
            losses = self.evaluator.evaluate(arch)
            entry = {"arch": arch, **losses, "params": cost.params, "macs": cost.macs, "latency_ms": cost.latency_ms,
                     "eval_seconds": round(time.perf_counter() - start, 3)}
        entry.update(index=len(self.log.entries), round=round_, source=source, predicted_loss=predicted)
        self.log.entries.append(entry)
        self.log.save()
        return entry

    def _given_cost(self, arch: str) -> Cost:
        """The cost of an ``include`` architecture; one line if it has the wrong length or fails the constraint."""
        try:
            self.evaluator.model.split(arch)
        except ValueError as exc:
            raise UserError(f"--include-arch: {exc}") from None
        self.seen.add(arch)
        ok, cost = self.feasible(arch)
        if not ok:
            s = self.settings
            over = (f"{cost.params} parameters, over --max-params {s.max_params}" if cost.latency_ms is None
                    else f"{cost.latency_ms:.3f} ms per sentence here, over --max-latency-ms {s.max_latency_ms:g}")
            raise UserError(f"--include-arch {arch!r} fails the constraint: {over}")
        return cost

    def _draw_feasible(self) -> Tuple[str, Cost]:
        skipped = 0
        while True:
            arch = self.random_arch()
            if arch in self.seen:
                continue
            self.seen.add(arch)
            if not self.plausible(arch):
                self.draws_skipped += 1
                skipped += 1
                if skipped >= ESTIMATE_DRAWS:
                    raise UserError(f"{skipped} random architectures in a row are over the limit (parameters, or the latency "
                                    "estimate with --latency-slack): it is too tight to search")
                continue
            ok, cost = self.feasible(arch)
            if ok:
                return arch, cost
            self.draws_failed += 1
            if self.draws_failed >= self.settings.max_draws:
                raise UserError(f"{self.draws_failed} random architectures failed the constraint: it is too tight to "
                                "search (loosen it, or raise --max-draws)")

    def run(self) -> SearchResult:
        """Search until ``budget`` candidates are evaluated (module docstring); write the log's summary."""
        s = self.settings
        self.check_possible()
        if s.max_latency_ms is not None:
            enc = len(self.evaluator.model.encoder.layers)
            self.latency_estimate = AdditiveEstimate(self.meter.latency_ms, enc, self.n_layers - enc)
        bar = tqdm(total=s.budget, desc="nas search", unit="arch", disable=not self.progress, dynamic_ncols=True)
        try:
            for arch in s.include:
                self.evaluate(arch, self._given_cost(arch), "given", 0, None)
                bar.update(1)
            while len(self.log.entries) < s.initial + len(s.include):
                arch, cost = self._draw_feasible()
                self.evaluate(arch, cost, "random", 0, None)
                bar.update(1)
            round_ = 1
            while len(self.log.entries) < s.budget:
                taken = self._propose(round_, bar)
                if taken == 0:
                    break
                round_ += 1
        finally:
            bar.close()
        return self._finish()

    def _propose(self, round_: int, bar: tqdm) -> int:
        """One round: fit, rank a fresh pool, evaluate the best-ranked feasible candidates; how many were evaluated."""
        s = self.settings
        entries = self.log.entries
        model = fit_predictor([e["arch"] for e in entries], [e[s.objective] for e in entries], s.seed)
        pool: List[str] = []
        draws = 0
        while len(pool) < s.pool and draws < 100 * s.pool:
            draws += 1
            arch = self.random_arch()
            if arch not in self.seen:
                self.seen.add(arch)
                if self.plausible(arch):
                    pool.append(arch)
        if not pool:
            return 0
        scores = predict(model, pool)
        taken = 0
        for i in np.argsort(scores, kind="stable"):
            arch = pool[i]
            ok, cost = self.feasible(arch)
            if not ok:
                continue
            self.evaluate(arch, cost, "predictor", round_, float(scores[i]))
            bar.update(1)
            taken += 1
            if taken == s.per_round or len(entries) == s.budget:
                break
        return taken

    def _finish(self) -> SearchResult:
        entries = self.log.entries
        key = self.settings.objective
        best = min(entries, key=lambda e: (e[key], e["index"]))
        initial = [e for e in entries if e["source"] == "random"]
        oof = cross_validated_predictions([e["arch"] for e in initial], [e[key] for e in initial], self.settings.seed)
        proposed = [e for e in entries if e["source"] == "predictor"]
        summary = {
            "best_arch": best["arch"],
            "objective": key,
            "best_loss": best[key],
            "evaluated": len(entries),
            "random_draws_failing_constraint": self.draws_failed,
            "random_draws_skipped_by_estimate": self.draws_skipped,
            "latency_estimate_ms": self.latency_estimate.to_dict() if self.latency_estimate is not None else None,
            "kendall_tau_initial_cross_validated": _finite(kendall_tau(oof.tolist(), [e[key] for e in initial])),
            "kendall_tau_proposed": _finite(kendall_tau([e["predicted_loss"] for e in proposed], [e[key] for e in proposed])),
            "proposed": len(proposed),
        }
        self.log.save(summary)
        return SearchResult(best=best, evaluated=list(entries), summary=summary)
