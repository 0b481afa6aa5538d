"""Mel cepstral distortion of the output against the real recording, on re-analysed log-mels (``score tts``'s MCD).

Both waveforms are analysed with the same :class:`~speechtools.audio.features.FeatureConfig`
(resampled to its rate) and compared by :func:`speechtools.scoring.tts_metrics.mcd_dtw`:
mel-cepstra c1..c\\ *order* of the log-mel frames, averaged over the DTW path.
"""

from __future__ import annotations

from typing import Dict

from speechtools.audio.extract import check_long_enough
from speechtools.audio.features import FeatureConfig, log_mel
from speechtools.scoring.judges.base import Judge, Utterance
from speechtools.scoring.judges.metrics import MCD
from speechtools.scoring.tts_metrics import mcd_dtw


class MelCepstralDistortion(Judge):
    """MCD in dB (lower is better)."""

    needs_reference = True

    def __init__(self, cfg: FeatureConfig, order: int = 24) -> None:
        self.cfg, self.order = cfg, order
        self.metrics = (MCD,)

    def score(self, utt: Utterance) -> Dict[str, float]:
        assert utt.ref is not None
        mels = []
        for audio in (utt.ref, utt.hyp):
            wav = audio.at(self.cfg.sample_rate)
            check_long_enough(wav.size, self.cfg, audio.job.uttid, audio.job.where)
            mels.append(log_mel(wav, self.cfg).numpy())
        return {"mcd_db": mcd_dtw(mels[0], mels[1], self.order)[0]}
