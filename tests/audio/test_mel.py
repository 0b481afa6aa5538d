"""Mel filterbank and STFT framing against librosa reference values stored once as a fixture."""

import numpy as np
import pytest
import torch

from speechtools.audio.features import FeatureConfig, log_mel, num_frames
from speechtools.audio.mel import hz_to_mel, mel_filterbank, mel_to_hz
from speechtools.audio.stft import stft


def test_slaney_mel_scale_matches_librosa(reference):
    mel = hz_to_mel(torch.from_numpy(reference["mel_hz"])).numpy()
    np.testing.assert_allclose(mel, reference["mel_slaney"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mel_to_hz(torch.from_numpy(mel)).numpy(), reference["mel_hz"], rtol=1e-10, atol=1e-9)


def test_filterbank_rows_match_librosa_22k(reference):
    fb = mel_filterbank(22050, 1024, 80, 0.0, 8000.0, dtype=torch.float64).numpy()
    assert fb.shape == (80, 513)
    np.testing.assert_allclose(fb[reference["fb22k_rows"]], reference["fb22k"], rtol=1e-6, atol=1e-9)


def test_filterbank_rows_match_librosa_16k_with_fmin(reference):
    fb = mel_filterbank(16000, 512, 40, 80.0, 7600.0, dtype=torch.float64).numpy()
    np.testing.assert_allclose(fb[reference["fb16k_rows"]], reference["fb16k"], rtol=1e-6, atol=1e-9)


def test_filterbank_rejects_fmax_above_nyquist():
    with pytest.raises(ValueError, match="fmax"):
        mel_filterbank(16000, 512, 40, 0.0, 9000.0)


def test_stft_framing_matches_librosa(reference):
    signal = torch.from_numpy(reference["signal"]).double()[None]
    spec = stft(signal, 1024, 256, 1024)[0].numpy().T
    assert spec.shape[0] == int(reference["stft_num_frames"]) == num_frames(signal.shape[-1], FeatureConfig())
    np.testing.assert_allclose(spec[reference["stft_frames"]], reference["stft"], rtol=1e-6, atol=1e-6)


def test_stft_short_window_is_centred_like_librosa(reference):
    signal = torch.from_numpy(reference["signal"]).double()[None]
    spec = stft(signal, 1024, 256, 800)[0].numpy().T
    np.testing.assert_allclose(spec[reference["stft_frames"]], reference["stft_win800"], rtol=1e-6, atol=1e-6)


def test_log_mel_matches_librosa_frames(reference):
    cfg = FeatureConfig()
    mel = log_mel(torch.from_numpy(reference["signal"]).double(), cfg).numpy()
    np.testing.assert_allclose(mel[reference["stft_frames"]], reference["logmel"], rtol=1e-6, atol=1e-6)


def test_log_mel_float32_close_to_reference(reference):
    mel = log_mel(torch.from_numpy(reference["signal"]), FeatureConfig()).numpy()
    # float32 rounding is relative in the linear domain; compare amplitudes, not their logs
    np.testing.assert_allclose(np.exp(mel[reference["stft_frames"]]), np.exp(reference["logmel"]), rtol=1e-4, atol=1e-7)


def test_log_floor_applies_to_silence():
    cfg = FeatureConfig()
    mel = log_mel(torch.zeros(4000), cfg)
    assert torch.allclose(mel, torch.full_like(mel, np.log(1e-5)))
