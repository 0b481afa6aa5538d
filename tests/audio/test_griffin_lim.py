"""Griffin-Lim: convergence with iterations, frequency preserved, batching."""

import numpy as np
import torch

from speechtools.audio.features import FeatureConfig, log_mel
from speechtools.audio.griffin_lim import griffin_lim, mel_to_linear, spectral_convergence
from speechtools.audio.io import load_audio

from .conftest import tone


def test_spectral_convergence_improves_with_iterations(lj_clip):
    cfg = FeatureConfig()
    mel = log_mel(torch.from_numpy(load_audio(lj_clip, 22050)), cfg)[None]
    target = mel_to_linear(mel, cfg)
    sc = [spectral_convergence(target, griffin_lim(mel, cfg, n_iter=n), cfg).item() for n in (0, 4, 32)]
    assert sc[0] > sc[1] > sc[2]
    assert sc[2] < 0.2  # consistent spectrogram reached to within 20 %


def test_fast_variant_beats_plain_at_equal_iterations(lj_clip):
    cfg = FeatureConfig()
    mel = log_mel(torch.from_numpy(load_audio(lj_clip, 22050)), cfg)[None]
    target = mel_to_linear(mel, cfg)
    fast = spectral_convergence(target, griffin_lim(mel, cfg, n_iter=16, momentum=0.99), cfg)
    plain = spectral_convergence(target, griffin_lim(mel, cfg, n_iter=16, momentum=0.0), cfg)
    assert fast.item() < plain.item()


def test_tone_round_trip_keeps_frequency_and_batches():
    cfg = FeatureConfig()
    tones = torch.from_numpy(np.stack([tone(440.0), tone(1250.0)]))
    wav = griffin_lim(log_mel(tones, cfg), cfg, n_iter=16)
    assert wav.shape == (2, (log_mel(tones, cfg).shape[1] - 1) * 256)
    for out, freq in zip(wav.numpy(), (440.0, 1250.0)):
        spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
        # the mel bands around 1.25 kHz are ~90 Hz apart, so the peak is only defined to a few %
        assert abs(np.argmax(spectrum) * 22050 / out.size - freq) < 0.02 * freq
    single = griffin_lim(log_mel(tones[0], cfg), cfg, n_iter=16)
    torch.testing.assert_close(single, wav[0], rtol=1e-4, atol=1e-4)
