"""The utterances an audio scorer reads: a data directory or a ``wav.scp`` file, and which pairs of two sets to score.

``score tts``, ``score vocoder`` and ``score naturalness`` read their audio through
:func:`read_audio_set` and pair references with hypotheses through :func:`pair_ids`, which
applies the ``--mode`` rule of ``score wer`` (:func:`speechtools.scoring.wer.match_hypotheses`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from speechtools.audio.extract import Job, plan_jobs
from speechtools.data.kaldi import DataDir, read_records
from speechtools.errors import PathLike, UserError
from speechtools.scoring.wer import match_hypotheses

SCORED_MODES = ("strict", "present")  # there is no "all": a missing waveform has nothing to score


@dataclass
class AudioSet:
    """The utterances of a data directory (or of a bare ``wav.scp``) as extraction jobs.

    ``listing`` is the file that lists them (``wav.scp``, or ``segments`` when there is one),
    named in messages about the set; ``text`` the directory's transcripts when they were asked for.
    """

    jobs: Dict[str, Job]
    listing: Path
    text: Optional[Dict[str, str]] = None


def read_audio_set(path: PathLike, segments: bool = True, text: bool = False) -> AudioSet:
    """Read ``path``: a data directory (``wav.scp``, and ``segments`` unless ``segments=False``) or a ``wav.scp`` file.

    Args:
        text: also read the directory's ``text`` (``None`` in :attr:`AudioSet.text` when it has none,
            and always for a bare ``wav.scp``).

    Raises:
        UserError: a missing path, a malformed listing (naming its line), an unsafe id. An empty
            listing is not an error here: :func:`pair_ids` names it as the reference or hypothesis set.
    """
    root = Path(path)
    if root.is_dir():
        files = tuple(name for name, wanted in (("segments", segments), ("text", text)) if wanted)
        data = DataDir.load(root, files=files)
        jobs = {job.uttid: job for job in plan_jobs(data)}
        return AudioSet(jobs, root / ("segments" if data.segments is not None else "wav.scp"), data.text)
    if not root.exists():
        raise UserError("no such data directory or wav.scp file", root)
    records = sorted(read_records(root), key=lambda r: r.key)
    return AudioSet({r.key: Job(r.key, r.value, where=(str(root), r.line)) for r in records}, root)


@dataclass
class Pairing:
    """Reference ids to score (in order), those skipped without a hypothesis, and the number of hypotheses without a reference."""

    ids: List[str]
    missing: List[str]
    extra: int

    def skipped_lines(self) -> List[str]:
        """The report lines about skipped utterances (none when nothing was skipped)."""
        lines = []
        if self.missing:
            lines.append(f"{len(self.missing)} reference utterance(s) without a hypothesis were skipped (--mode present)")
        if self.extra:
            lines.append(f"{self.extra} hypothesis utterance(s) without a reference were skipped")
        return lines


def pair_ids(ref: AudioSet, hyp: AudioSet, mode: str, modes: Sequence[str] = SCORED_MODES) -> Pairing:
    """Which utterances of ``ref`` and ``hyp`` to score: :func:`~speechtools.scoring.wer.match_hypotheses`'s rule.

    Raises:
        UserError: a reference utterance without a hypothesis in ``strict`` mode (naming the
            hypotheses' listing), or no utterance in common.
    """
    ids, missing = match_hypotheses(list(ref.jobs), hyp.jobs, mode, ref.listing, hyp.listing, modes)
    return Pairing(ids, missing, len(set(hyp.jobs) - set(ref.jobs)))
