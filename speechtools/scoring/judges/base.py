"""What every judge shares: the utterance it scores, the metrics it declares, its optional packages, and the loop over utterances."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from speechtools.audio.extract import Job
from speechtools.audio.io import load_audio
from speechtools.errors import import_optional
from speechtools.scoring.judges.summary import Summary, mean_interval

EXTRA = "eval"


def require(module: str, extra: str = EXTRA) -> ModuleType:
    """Import the optional package ``module`` of the ``eval`` extra (:func:`speechtools.errors.import_optional`).

    Raises:
        UserError: ``speechmos is not installed: pip install 'speechtools[eval]'`` (with the
            import error's own words when the package is there but fails to import).
    """
    return import_optional(module, extra)


class UndefinedMetric(Exception):
    """A metric that has no value for this utterance; the message says why (a judge turns it into NaN and a warning)."""


class Audio:
    """One utterance's waveform (mono float32), loaded at each rate a judge asks for, each rate once."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._at: Dict[int, np.ndarray] = {}

    def at(self, rate: int) -> np.ndarray:
        """The waveform at ``rate`` Hz (resampled with soxr when the file has another rate)."""
        if rate not in self._at:
            self._at[rate] = load_audio(self.job.entry, rate, self.job.segment, resample=True, utt_id=self.job.uttid)
        return self._at[rate]

    def release(self) -> None:
        """Forget the loaded waveforms (the next :meth:`at` reads the file again)."""
        self._at.clear()


@dataclass
class Utterance:
    """What a judge sees of one utterance: the output (``hyp``), the real recording and transcript when there are,
    and the warnings the judges raise about it."""

    uttid: str
    hyp: Audio
    ref: Optional[Audio] = None
    text: Optional[str] = None
    warnings: List[str] = field(default_factory=list)

    def undefined(self, what: str, why: str) -> float:
        """NaN (``null`` in JSON, a dash in tables) for ``what``, with a warning saying ``why``."""
        self.warnings.append(f"utterance {self.uttid}: {what} is undefined: {why}")
        return math.nan

    def value(self, what: str, compute: Callable[[], float]) -> float:
        """``compute()``, or NaN with a warning when it raises :class:`UndefinedMetric`."""
        try:
            return float(compute())
        except UndefinedMetric as exc:
            return self.undefined(what, str(exc))


@dataclass(frozen=True)
class Metric:
    """A metric's column: ``key`` in ``per_utt.tsv`` and JSON, ``label`` in printed tables, decimals printed,
    and which way is better (``score compare`` counts the metrics on which one system is ahead)."""

    key: str
    label: str
    digits: int = 2
    lower_is_better: bool = False


class Judge:
    """One judge. Subclasses declare :attr:`metrics`, import their packages in :meth:`load` and score in :meth:`score`.

    :meth:`summarize` gives a metric's corpus figure; the default is the mean over utterances
    with a Student-t 95% interval (:func:`speechtools.scoring.judges.summary.mean_interval`).
    """

    metrics: Tuple[Metric, ...] = ()
    needs_reference = False  # the real recording (``Utterance.ref``)
    needs_text = False  # the reference transcript (``Utterance.text``)

    def load(self) -> None:
        """Import optional packages and models, before any utterance is read (:func:`require`)."""

    def score(self, utt: Utterance) -> Dict[str, float]:
        """``{metric key: value}`` for one utterance; NaN through :meth:`Utterance.undefined` where a value cannot be had."""
        raise NotImplementedError

    def summarize(self, key: str, ids: Sequence[str], values: Sequence[float]) -> Summary:
        """The corpus figure of metric ``key`` from its per-utterance ``values`` (in the order of ``ids``)."""
        return mean_interval(values)


@dataclass
class JudgedUtterances:
    """Per-utterance values of every metric of the judges, in the order the utterances were scored."""

    judges: Sequence[Judge]
    ids: List[str] = field(default_factory=list)
    values: Dict[str, List[float]] = field(default_factory=dict)

    @property
    def metrics(self) -> List[Metric]:
        """All metrics, judge by judge."""
        return [m for judge in self.judges for m in judge.metrics]

    def add(self, uttid: str, scores: Dict[str, float]) -> None:
        """Record one utterance's values (a metric a judge left out is NaN)."""
        self.ids.append(uttid)
        for metric in self.metrics:
            self.values.setdefault(metric.key, []).append(float(scores.get(metric.key, math.nan)))


def judge_all(judges: Sequence[Judge], utterances: Sequence[Utterance], warn: Callable[[str], None] = lambda line: None,
              progress: Optional[str] = None) -> JudgedUtterances:
    """Score every utterance with every judge, in order.

    Each warning line goes to ``warn`` when its utterance is done, and the utterance's audio is
    let go. ``progress``: the label of a progress bar on stderr (none when ``None``); the bar ends
    its line even when a judge fails, so an error is a line of its own.
    """
    table = JudgedUtterances(judges)
    with tqdm(utterances, desc=progress, unit="utt", disable=True if progress is None else None) as bar:
        for utt in bar:
            scores: Dict[str, float] = {}
            for judge in judges:
                scores.update(judge.score(utt))
            table.add(utt.uttid, scores)
            for audio in (utt.hyp, utt.ref):
                if audio is not None:
                    audio.release()
            for line in utt.warnings:
                warn(line)
    return table
