"""Log-mel and energy: batching, frame counts, energy definition, config validation."""

import numpy as np
import pytest
import torch

from speechtools.audio.features import FeatureConfig, energy, log_mel, log_mel_and_energy, num_frames
from speechtools.config import from_dict
from speechtools.errors import ConfigError

from .conftest import tone


def test_frame_count_is_n_over_hop_plus_one():
    cfg = FeatureConfig()
    for n in (600, 1024, 22050, 22050 + 255, 22050 + 256):
        assert num_frames(n, cfg) == n // 256 + 1
        assert log_mel(torch.zeros(n) + 0.01, cfg).shape == (n // 256 + 1, 80)


def test_batched_equals_one_by_one():
    cfg = FeatureConfig()
    batch = torch.from_numpy(np.stack([tone(220), tone(330, amplitude=0.2), tone(1000, amplitude=0.05)]))
    mel, power = log_mel_and_energy(batch, cfg)
    assert mel.shape == (3, num_frames(22050, cfg), 80) and power.shape == (3, num_frames(22050, cfg))
    for i in range(3):
        torch.testing.assert_close(mel[i], log_mel(batch[i], cfg), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(power[i], energy(batch[i], cfg), rtol=1e-5, atol=1e-5)


def test_energy_is_l2_norm_of_a_frame_magnitude():
    cfg = FeatureConfig()
    wav = np.random.default_rng(1).normal(0, 0.1, 8000)
    e = energy(torch.from_numpy(wav), cfg).numpy()
    i = 10  # an interior frame: samples i*hop - 512 .. i*hop + 511, periodic Hann
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)
    frame = wav[i * 256 - 512 : i * 256 + 512] * window
    np.testing.assert_allclose(e[i], np.linalg.norm(np.abs(np.fft.rfft(frame))), rtol=1e-9)


def test_tone_energy_lands_in_the_right_mel_bin():
    cfg = FeatureConfig()
    mel = log_mel(torch.from_numpy(tone(1000.0)), cfg)
    peak = int(mel[20:-20].mean(0).argmax())
    from speechtools.audio.mel import hz_to_mel, mel_to_hz

    edges = mel_to_hz(torch.linspace(0.0, float(hz_to_mel(torch.tensor(8000.0))), 82))
    assert edges[peak] < 1000.0 < edges[peak + 2]


def test_config_from_yaml_mapping_and_validation():
    cfg = from_dict(FeatureConfig, {"sample_rate": 16000, "fmax": 7600, "n_mels": 40}, source="x.yaml")
    assert cfg.fmax == 7600.0 and cfg.hop_length == 256
    with pytest.raises(ConfigError, match="hop_lenght"):
        from_dict(FeatureConfig, {"hop_lenght": 200}, source="x.yaml")
    with pytest.raises(ConfigError, match="fmax"):
        from_dict(FeatureConfig, {"sample_rate": 16000, "fmax": 8000.5}, source="x.yaml")


def test_too_short_signal_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        log_mel(torch.zeros(300), FeatureConfig())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    from speechtools.audio.griffin_lim import griffin_lim

    cfg = FeatureConfig()
    wav = torch.from_numpy(np.stack([tone(220), tone(440)]))
    cpu = log_mel(wav, cfg)
    gpu = log_mel(wav.cuda(), cfg)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-4)
    assert griffin_lim(gpu, cfg, n_iter=4).device.type == "cuda"
