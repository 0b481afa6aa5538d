"""Wide-band PESQ and STOI of the output against the real recording, for time-aligned pairs (a vocoder's copy-synthesis).

* PESQ: ITU-T P.862.2 wide-band MOS-LQO (about 1.0 to 4.64; 4.64 for a signal against itself)
  through the ``pesq`` package, at 16 kHz: both signals are resampled from their files' rate to
  16 kHz (soxr, high quality).
* STOI: short-time objective intelligibility (Taal et al., 2011; 0 to 1) through ``pystoi``, on
  the same 16 kHz signals (``pystoi`` resamples to its 10 kHz itself).

Copy-synthesis gives an output as long as the recording up to a few samples (the vocoder
makes ``frames × hop`` samples from the recording's frames). Both signals are trimmed at the end
to the shorter; when their lengths differ by more than :data:`MAX_LENGTH_DIFF_S` the pair is
not time-aligned (e.g. a TTS model's output of the same text) and both metrics are undefined
for it. No delay is searched: PESQ aligns the signals itself, STOI assumes they are aligned.
"""

from __future__ import annotations

import warnings
from typing import Dict, Tuple

import numpy as np

from speechtools.scoring.judges.base import Judge, UndefinedMetric, Utterance, require
from speechtools.scoring.judges.metrics import PESQ_WB, STOI

RATE = 16000
MAX_LENGTH_DIFF_S = 0.05


def time_aligned(ref: np.ndarray, hyp: np.ndarray, rate: int = RATE,
                 max_diff_s: float = MAX_LENGTH_DIFF_S) -> Tuple[np.ndarray, np.ndarray]:
    """``ref`` and ``hyp`` trimmed at the end to the shorter length.

    Raises:
        UndefinedMetric: the lengths differ by more than ``max_diff_s`` seconds.
    """
    diff = abs(len(ref) - len(hyp))
    if diff > max_diff_s * rate:
        raise UndefinedMetric(f"the output ({len(hyp) / rate:.3f} s) and the recording ({len(ref) / rate:.3f} s) "
                              f"differ in length by more than {max_diff_s:g} s: not a time-aligned copy-synthesis pair")
    n = min(len(ref), len(hyp))
    return ref[:n], hyp[:n]


def _check_not_silent(ref: np.ndarray, hyp: np.ndarray) -> None:
    for name, wav in (("recording", ref), ("output", hyp)):
        if not np.any(wav):
            raise UndefinedMetric(f"the {name} is silent")


def pesq_wb(ref: np.ndarray, hyp: np.ndarray) -> float:
    """Wide-band PESQ (MOS-LQO) of 16 kHz ``hyp`` against 16 kHz ``ref`` of the same length.

    Raises:
        UndefinedMetric: a silent signal, or one PESQ cannot score (shorter than 0.25 s, no speech detected).
    """
    pesq = require("pesq")
    _check_not_silent(ref, hyp)
    try:
        return float(pesq.pesq(RATE, ref.astype(np.float32), hyp.astype(np.float32), "wb"))
    except pesq.PesqError as exc:
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise UndefinedMetric(f"PESQ: {message}") from None


def stoi(ref: np.ndarray, hyp: np.ndarray, rate: int = RATE) -> float:
    """STOI of ``hyp`` against ``ref`` (same length, ``rate`` Hz).

    Raises:
        UndefinedMetric: a silent recording, or fewer than 30 frames (384 ms) of speech once silent frames are removed.
    """
    pystoi = require("pystoi")
    if not np.any(ref):
        raise UndefinedMetric("the recording is silent")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(pystoi.stoi(ref.astype(np.float64), hyp.astype(np.float64), rate))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        raise UndefinedMetric("STOI needs 30 frames (384 ms) of speech after removing silent frames")
    return value


class SpeechQuality(Judge):
    """Wide-band PESQ and STOI against the real recording (higher is better)."""

    needs_reference = True
    metrics = (PESQ_WB, STOI)

    def load(self) -> None:
        require("pesq")
        require("pystoi")

    def score(self, utt: Utterance) -> Dict[str, float]:
        assert utt.ref is not None
        try:
            ref, hyp = time_aligned(utt.ref.at(RATE), utt.hyp.at(RATE))
        except UndefinedMetric as exc:
            return {"pesq_wb": utt.undefined("PESQ/STOI", str(exc)), "stoi": float("nan")}
        return {"pesq_wb": utt.value("PESQ", lambda: pesq_wb(ref, hyp)), "stoi": utt.value("STOI", lambda: stoi(ref, hyp))}
