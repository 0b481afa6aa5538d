"""FastSpeech 2 model: shapes, padding invariance, controls, both variance variants, overfitting."""

import pytest
import torch

from speechtools.models.fastspeech2 import FastSpeech2, FastSpeech2Config
from speechtools.nn.fft_block import FFTStackConfig
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig


def tiny_conf(level: str = "token", postnet: bool = False, dropout: float = 0.0) -> FastSpeech2Config:
    stack = FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[3, 1], dropout=dropout, attention_dropout=0.0)
    pred = PredictorConfig(layers=2, channels=32, kernel_size=3, dropout=dropout)
    adaptor = VarianceAdaptorConfig(level=level, bins=16, duration=pred, pitch=pred, energy=pred)
    return FastSpeech2Config(dim=32, encoder=stack, decoder=FFTStackConfig(**{**stack.__dict__}), adaptor=adaptor, postnet=postnet)


def make_batch(level: str, gen: torch.Generator):
    lengths = torch.tensor([6, 3, 4])
    tokens = torch.randint(1, 20, (3, 6), generator=gen) * (torch.arange(6) < lengths[:, None])
    durations = torch.randint(1, 4, (3, 6), generator=gen) * (torch.arange(6) < lengths[:, None])
    frames = durations.sum(1)
    t_max = int(frames.max())
    mel = torch.randn(3, t_max, 10, generator=gen) * (torch.arange(t_max) < frames[:, None])[..., None]
    width = 6 if level == "token" else t_max
    valid = (torch.arange(width) < (lengths if level == "token" else frames)[:, None]).float()
    pitch = torch.randn(3, width, generator=gen) * valid
    energy = torch.randn(3, width, generator=gen) * valid
    return tokens, lengths, durations, frames, mel, pitch, energy


@pytest.mark.parametrize("level,postnet", [("token", False), ("frame", True)])
def test_padded_batch_equals_each_item_alone(level, postnet):
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = FastSpeech2(tiny_conf(level, postnet), vocab_size=20, n_mels=10, n_speakers=3).eval()
    tokens, lengths, durations, frames, mel, pitch, energy = make_batch(level, gen)
    speakers = torch.tensor([0, 2, 1])
    with torch.inference_mode():
        batch_out = model(tokens, lengths, durations=durations, pitch=pitch, energy=energy, speakers=speakers, max_frames=mel.size(1))
        free_out = model(tokens, lengths, speakers=speakers)
        for b in range(3):
            n, t = int(lengths[b]), int(frames[b])
            w = n if level == "token" else t
            alone = model(tokens[b:b + 1, :n], lengths[b:b + 1], durations=durations[b:b + 1, :n], pitch=pitch[b:b + 1, :w], energy=energy[b:b + 1, :w], speakers=speakers[b:b + 1], max_frames=t)
            assert alone["mel_post"].shape == (1, t, 10)
            torch.testing.assert_close(batch_out["mel_post"][b, :t], alone["mel_post"][0], atol=1e-5, rtol=1e-4)
            assert batch_out["mel_post"][b, t:].abs().sum() == 0
            free_alone = model(tokens[b:b + 1, :n], lengths[b:b + 1], speakers=speakers[b:b + 1])
            torch.testing.assert_close(free_out["durations"][b, :n], free_alone["durations"][0])
            tf = int(free_alone["frame_lengths"][0])
            torch.testing.assert_close(free_out["mel_post"][b, :tf], free_alone["mel_post"][0], atol=1e-5, rtol=1e-4)


def test_speed_and_pitch_controls():
    torch.manual_seed(0)
    model = FastSpeech2(tiny_conf(), vocab_size=20, n_mels=10).eval()
    model.adaptor.set_stats(pitch_mean=5.0, pitch_std=0.2, energy_mean=1.0, energy_std=0.5)
    tokens = torch.tensor([[3, 4, 5, 6]])
    lengths = torch.tensor([4])
    durations = torch.tensor([[2, 2, 3, 1]])
    with torch.inference_mode():
        slow = model(tokens, lengths, durations=durations, alpha=2.0)
        base = model(tokens, lengths, durations=durations)
        shifted = model(tokens, lengths, durations=durations, pitch_shift=4.0)
        louder = model(tokens, lengths, durations=durations, energy_scale=2.0)
    assert int(slow["frame_lengths"][0]) == 2 * int(base["frame_lengths"][0]) == 16
    # +4 semitones: log-F0 rises by 4 ln2 / 12; in z-score units divided by the std 0.2.
    delta = shifted["pitch_used"] - base["pitch_used"]
    torch.testing.assert_close(delta, torch.full_like(delta, 4 * 0.6931471805599453 / 12 / 0.2))
    energy = base["energy_used"] * 0.5 + 1.0
    torch.testing.assert_close(louder["energy_used"] * 0.5 + 1.0, 2 * energy)


def test_loss_masks_padding():
    gen = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    model = FastSpeech2(tiny_conf(), vocab_size=20, n_mels=10)
    tokens, lengths, durations, frames, mel, pitch, energy = make_batch("token", gen)
    out = model(tokens, lengths, durations=durations, pitch=pitch, energy=energy, max_frames=mel.size(1))
    loss = model.loss(out, mel, durations, pitch, energy)
    mel_garbage = mel.clone()
    for b in range(3):
        mel_garbage[b, int(frames[b]):] = 1e3
    loss2 = model.loss(out, mel_garbage, durations, pitch, energy)
    torch.testing.assert_close(loss["loss"], loss2["loss"])
    assert set(loss) == {"mel_loss", "duration_loss", "pitch_loss", "energy_loss", "loss"}


def test_overfitting_a_few_utterances_drives_mel_loss_down_10x():
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    model = FastSpeech2(tiny_conf(), vocab_size=20, n_mels=10)
    tokens, lengths, durations, frames, mel, pitch, energy = make_batch("token", gen)
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for step in range(300):
        out = model(tokens, lengths, durations=durations, pitch=pitch, energy=energy, max_frames=mel.size(1))
        terms = model.loss(out, mel, durations, pitch, energy)
        optim.zero_grad()
        terms["loss"].backward()
        optim.step()
        if first is None:
            first = terms["mel_loss"].item()
    assert terms["mel_loss"].item() < first / 10, (first, terms["mel_loss"].item())
