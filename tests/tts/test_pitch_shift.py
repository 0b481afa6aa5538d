"""``--pitch-shift 4`` raises the F0 measured (Praat) on the synthesised audio by 2^(4/12) ≈ 26%.

Needs a trained voice: the decoder must have learnt to follow its pitch input, which the tiny
session fixture (10 steps) has not. Set SPEECHTOOLS_TTS_MODEL_DIR to a trained model directory
(e.g. egs/kathleen/fastspeech2/exp/fastspeech2_small) to run it; it is skipped otherwise. The same
property is checked in CI by ``test_pitch_shift_synthetic.py`` on a tiny model trained on
synthetic harmonic tones.
"""

import os

import numpy as np
import pytest

from speechtools.audio.features import f0
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer

MODEL_DIR = os.environ.get("SPEECHTOOLS_TTS_MODEL_DIR")
TEXTS = ["Author of the danger trail, Philip Steels, etc.", "For the twentieth time that evening the two men shook hands."]


@pytest.mark.skipif(not MODEL_DIR, reason="set SPEECHTOOLS_TTS_MODEL_DIR to a trained TTS model directory")
def test_pitch_shift_four_semitones_raises_measured_f0_by_26_percent():
    synth = Synthesizer(MODEL_DIR, device="cpu")
    inputs = [SynthesisInput(f"u{i}", t) for i, t in enumerate(TEXTS)]
    base = list(synth.synthesize(inputs, progress=False))
    up = list(synth.synthesize(inputs, pitch_shift=4.0, progress=False))
    ratios = []
    for a, b in zip(base, up):
        assert a.durations == b.durations
        fa, _ = f0(a.wav, synth.feature_config)
        fb, _ = f0(b.wav, synth.feature_config)
        n = min(len(fa), len(fb))
        both = (fa[:n] > 0) & (fb[:n] > 0)
        ratios.append(fb[:n][both] / fa[:n][both])
    measured = float(np.median(np.concatenate(ratios)))
    print(f"measured F0 ratio {measured:.4f} (expected {2 ** (4 / 12):.4f})")
    assert abs(measured / 2 ** (4 / 12) - 1) < 0.05, measured
