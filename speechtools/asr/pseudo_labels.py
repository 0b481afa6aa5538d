"""A recogniser transcribes unpaired speech into a synthetic data directory: LRSpeech's speech → text half.

Dual transformation (LRSpeech, Xu et al., KDD 2020, Sec. 2.2): the current recogniser
transcribes unpaired speech, and the (real speech, synthetic text) pairs train the TTS model.
Knowledge distillation (Sec. 2.3): the recogniser teacher transcribes unpaired speech for the
student recogniser. Output: the input data directory restricted to the utterances transcribed
(``wav.scp``, ``segments``, ``utt2spk``, ``spk2utt``; any ``durations`` left out, they belong to the
old text) with ``text`` = the hypotheses, ``synthetic.yaml`` and ``dropped`` (unreadable audio,
empty hypotheses).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List

from speechtools.asr.recognizer import DecodeOptions, decode_jobs
from speechtools.audio.extract import plan_jobs
from speechtools.data.kaldi import DataDir
from speechtools.data.outdir import check_replaceable
from speechtools.data.synthetic import SYNTHETIC_DIR_NAMES, SyntheticMarker, write_marker
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_dir

EMPTY_HYPOTHESIS = "empty hypothesis"


@dataclass
class TranscribeReport:
    """What :func:`transcribe_unpaired_speech` wrote."""

    kept: List[str]
    dropped: Dict[str, str]

    def lines(self) -> List[str]:
        return [f"{len(self.kept)} utterance(s) transcribed, {len(self.dropped)} dropped"]


def transcribe_unpaired_speech(model_dir: PathLike, data_dir: PathLike, out_data: PathLike,
                               options: DecodeOptions = DecodeOptions(), device: str = "auto", nj: int = 1,
                               progress: bool = True) -> TranscribeReport:
    """Transcribe every utterance of ``data_dir`` with the recogniser ``model_dir``; write the pairs to ``out_data``.

    An utterance that cannot be decoded (unreadable, empty or too short audio) or whose
    hypothesis is empty is dropped with its reason; the others are written (possibly none: a
    recogniser that hears nothing yet gives an empty set of pairs and every reason).

    Raises:
        UserError: no utterance could be decoded at all (after every utterance was tried).
    """
    check_replaceable(out_data, SYNTHETIC_DIR_NAMES)
    source = DataDir.load(data_dir)
    jobs = plan_jobs(source)
    if not jobs:
        raise UserError("no utterances to transcribe", data_dir)
    hyps, failures = decode_jobs(model_dir, jobs, options, device=device, nj=nj, progress=progress)
    dropped = dict(failures)
    dropped.update({u: EMPTY_HYPOTHESIS for u, h in hyps.items() if not h.strip()})
    kept = sorted(u for u, h in hyps.items() if h.strip())
    if not hyps:
        raise UserError(f"no utterance could be decoded ({len(dropped)} dropped)", data_dir)
    out = source.select(kept)
    out.text = {u: hyps[u] for u in kept}
    out.durations = None
    with atomic_dir(out_data) as tmp:  # the old directory or the new one, never a mix
        out.save(tmp)
        write_marker(tmp, SyntheticMarker(
            kind="text", produced_by=str(Path(model_dir).resolve()), command="pseudo-pairs transcribe",
            source=str(Path(data_dir).resolve()), kept=len(kept), dropped=len(dropped), settings=asdict(options),
        ), dropped)
    return TranscribeReport(kept, dropped)
