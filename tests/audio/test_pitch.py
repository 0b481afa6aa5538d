"""F0 on tones of known pitch and on a real LJSpeech clip; continuous log-F0 interpolation."""

import numpy as np
import pytest
import torch

from speechtools.audio.features import FeatureConfig, continuous_log_f0, f0, log_mel, num_frames
from speechtools.audio.io import load_audio

from .conftest import tone


@pytest.mark.parametrize("freq", [85.0, 110.0, 196.0, 261.63, 387.0])
def test_f0_of_pure_tones_within_one_percent(freq):
    cfg = FeatureConfig()
    wav = tone(freq, seconds=0.8)
    hz, voiced = f0(wav, cfg)
    assert hz.shape == voiced.shape == (num_frames(wav.size, cfg),)
    assert voiced.mean() > 0.9
    assert np.all(np.abs(hz[voiced] - freq) / freq < 0.01)


def test_f0_of_harmonic_tone_follows_fundamental_not_harmonics():
    cfg = FeatureConfig()
    t = np.arange(22050) / 22050
    wav = sum(0.3 / k * np.sin(2 * np.pi * 140.0 * k * t) for k in (1, 2, 3, 4)).astype(np.float32)
    hz, voiced = f0(wav, cfg)
    assert abs(np.median(hz[voiced]) - 140.0) / 140.0 < 0.01


def test_f0_follows_a_pitch_step_on_the_frame_grid():
    cfg = FeatureConfig()
    wav = np.concatenate([tone(120, 0.5), tone(240, 0.5)])
    hz, voiced = f0(wav, cfg)
    boundary = 0.5 * 22050 / 256  # frame index of the step
    low = np.arange(hz.size) < boundary - 4
    high = np.arange(hz.size) > boundary + 4
    assert np.all(np.abs(hz[low & voiced] - 120) < 1.2)
    assert np.all(np.abs(hz[high & voiced] - 240) < 2.4)


def test_silence_and_noise_are_unvoiced():
    cfg = FeatureConfig()
    hz, voiced = f0(np.zeros(22050, dtype=np.float32), cfg)
    assert not voiced.any() and not hz.any()
    noise = np.random.default_rng(0).normal(0, 0.1, 22050).astype(np.float32)
    assert f0(noise, cfg)[1].mean() < 0.1


def test_too_short_signal_is_all_unvoiced():
    cfg = FeatureConfig()
    hz, voiced = f0(tone(200, 0.02), cfg)
    assert hz.shape == (num_frames(441, cfg),) and not voiced.any()


def test_real_clip_plausible_female_pitch(lj_clip):
    cfg = FeatureConfig()
    wav = load_audio(lj_clip, 22050)
    hz, voiced = f0(torch.from_numpy(wav), cfg)
    assert hz.shape[0] == log_mel(torch.from_numpy(wav), cfg).shape[0]
    assert 160 < np.median(hz[voiced]) < 260  # LJSpeech's reader: adult female
    assert 0.4 < voiced.mean() < 0.85  # read speech with pauses and unvoiced consonants


def test_continuous_log_f0_interpolates_and_pads_ends():
    hz = np.array([0, 0, 100, 0, 0, 400, 0], dtype=np.float32)
    voiced = hz > 0
    out = continuous_log_f0(hz, voiced)
    expected_mid = np.log(100) + np.array([1, 2]) / 3 * (np.log(400) - np.log(100))
    np.testing.assert_allclose(out[:3], np.log(100), rtol=1e-6)
    np.testing.assert_allclose(out[3:5], expected_mid, rtol=1e-6)
    np.testing.assert_allclose(out[5:], np.log(400), rtol=1e-6)


def test_continuous_log_f0_without_voicing_is_zero():
    out = continuous_log_f0(np.zeros(5), np.zeros(5, dtype=bool))
    assert out.shape == (5,) and not out.any()
