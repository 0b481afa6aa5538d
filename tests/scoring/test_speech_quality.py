"""Wide-band PESQ and STOI (speechtools.scoring.judges.speech_quality) against known values on a real recording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from speechtools.audio.extract import Job
from speechtools.scoring.judges.base import Audio, UndefinedMetric, Utterance
from speechtools.scoring.judges.speech_quality import RATE, SpeechQuality, pesq_wb, stoi, time_aligned

from .conftest import LJ_CLIP, add_noise


def test_a_recording_against_itself_scores_the_maxima(real_clip_16k):
    # P.862.2's MOS-LQO mapping tops out at 4.644 (the wide-band maximum); STOI of identical signals is 1
    assert pesq_wb(real_clip_16k, real_clip_16k) == pytest.approx(4.644, abs=0.001)
    assert stoi(real_clip_16k, real_clip_16k) == pytest.approx(1.0, abs=1e-6)


def test_both_fall_monotonically_as_white_noise_rises(real_clip_16k):
    snrs = (40, 30, 20, 10, 0)
    pesq_values = [pesq_wb(real_clip_16k, add_noise(real_clip_16k, snr)) for snr in snrs]
    stoi_values = [stoi(real_clip_16k, add_noise(real_clip_16k, snr)) for snr in snrs]
    assert all(a > b for a, b in zip(pesq_values, pesq_values[1:])), pesq_values
    assert all(a > b for a, b in zip(stoi_values, stoi_values[1:])), stoi_values
    assert 1.0 <= pesq_values[-1] < 1.5 and 4.64 > pesq_values[0] > 3.0  # MOS-LQO floor at 0 dB, near the top at 40 dB
    assert 0.6 < stoi_values[-1] < 0.85 and stoi_values[0] > 0.99


def test_pairs_are_trimmed_to_the_shorter_within_50_ms_and_refused_beyond():
    ref, hyp = np.ones(16000, np.float32), np.ones(16000 + 700, np.float32)
    a, b = time_aligned(ref, hyp)
    assert len(a) == len(b) == 16000
    with pytest.raises(UndefinedMetric, match=r"differ in length by more than 0.05 s"):
        time_aligned(ref, np.ones(16000 + 801, np.float32))


def test_silence_and_too_little_speech_are_undefined_not_numbers(real_clip_16k):
    silent = np.zeros_like(real_clip_16k)
    with pytest.raises(UndefinedMetric, match="the output is silent"):
        pesq_wb(real_clip_16k, silent)
    with pytest.raises(UndefinedMetric, match="the recording is silent"):
        stoi(silent, real_clip_16k)
    short = real_clip_16k[4000:4000 + RATE // 5]  # 0.2 s: under PESQ's 0.25 s and STOI's 30 frames
    with pytest.raises(UndefinedMetric, match="at least 1/4 of a second"):
        pesq_wb(short, short)
    with pytest.raises(UndefinedMetric, match="30 frames"):
        stoi(short, short)


def test_the_judge_resamples_from_the_file_rate_and_warns_for_an_unaligned_pair(tmp_path):
    import soundfile as sf

    from speechtools.audio.io import load_audio

    utt = Utterance("u1", Audio(Job("u1", str(LJ_CLIP))), Audio(Job("u1", str(LJ_CLIP))))
    scores = SpeechQuality().score(utt)  # the 22.05 kHz file, resampled to 16 kHz on both sides
    assert scores["pesq_wb"] == pytest.approx(4.644, abs=0.001) and scores["stoi"] == pytest.approx(1.0, abs=1e-6)
    longer = tmp_path / "longer.wav"
    sf.write(longer, np.concatenate([load_audio(LJ_CLIP, 16000, resample=True), np.zeros(RATE, np.float32)]), RATE)
    utt = Utterance("u1", Audio(Job("u1", str(longer))), Audio(Job("u1", str(LJ_CLIP))))
    scores = SpeechQuality().score(utt)
    assert math.isnan(scores["pesq_wb"]) and math.isnan(scores["stoi"])
    assert utt.warnings == ["utterance u1: PESQ/STOI is undefined: the output (2.783 s) and the recording (1.783 s) "
                            "differ in length by more than 0.05 s: not a time-aligned copy-synthesis pair"]
