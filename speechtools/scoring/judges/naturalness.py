"""DNSMOS: non-intrusive MOS predictions (no reference) with the ONNX models the ``speechmos`` package ships.

Reddy, Gopal & Cutler, "DNSMOS P.835" (ICASSP 2022) and "DNSMOS" (ICASSP 2021): networks trained
on listening tests of the Deep Noise Suppression challenge predict, from a 16 kHz waveform,

* ``p808_mos``: the ITU-T P.808 absolute-category-rating MOS (1–5);
* ``ovrl_mos``, ``sig_mos``, ``bak_mos``: the ITU-T P.835 overall, speech-signal and background
  ratings (1–5), through the polynomial calibration of the non-personalised model.

``speechmos.dnsmos.run`` scores 9.01 s windows hopped by 1 s and averages them; a shorter clip is
repeated (doubled until at least 9.01 s long) first, as Microsoft's ``dnsmos_local.py`` does.
The waveform is resampled to 16 kHz (soxr, high quality) and clipped to [−1, 1] (speechmos
refuses samples outside). Models trained on noisy, reverberant and enhanced speech: the
numbers rank the naturalness of outputs of one corpus; they are not listening-test MOS.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from speechtools.scoring.judges.base import Judge, Utterance, require
from speechtools.scoring.judges.metrics import BAK_MOS, OVRL_MOS, P808_MOS, SIG_MOS

RATE = 16000
KEYS = ("p808_mos", "ovrl_mos", "sig_mos", "bak_mos")


def dnsmos(wav_16k: np.ndarray) -> Dict[str, float]:
    """``{p808_mos, ovrl_mos, sig_mos, bak_mos}`` of a 16 kHz waveform."""
    require("onnxruntime")
    require("librosa")
    model = require("speechmos.dnsmos")
    wav = np.clip(np.asarray(wav_16k, dtype=np.float32), -1.0, 1.0)
    result = model.run(wav, RATE)
    return {key: float(result[key]) for key in KEYS}


class Naturalness(Judge):
    """DNSMOS P.808 and P.835 OVRL/SIG/BAK of the output (higher is better)."""

    metrics = (P808_MOS, OVRL_MOS, SIG_MOS, BAK_MOS)

    def load(self) -> None:
        for module in ("onnxruntime", "librosa", "speechmos.dnsmos"):
            require(module)

    def score(self, utt: Utterance) -> Dict[str, float]:
        return dnsmos(utt.hyp.at(RATE))
