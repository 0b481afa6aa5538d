"""``--pitch-shift ±4`` moves the F0 measured (Praat) on the synthesised audio by 2^(±4/12), in CI.

No trained voice is needed: a module fixture builds a tiny data set of synthetic speech-like
audio — 24 utterances of 4 texts, each a sequence of constant-power harmonic tones, one per token
(6 frames), with the token's F0 drawn at random in 120–300 Hz independently of the token and of
the utterance's text — so the decoder can only predict the mel from its pitch input (with
distinct texts per utterance it memorises the training mels from the tokens instead and follows
its pitch input only partly: ×1.09–1.24 for +4 semitones in our trials).
Features come from the real pipeline (``extract-feats``, ``compute-stats``, ``make-tokens``), a
tiny FastSpeech 2 is trained with the real task and trainer, the real model directory is loaded by
:class:`Synthesizer`, and the output F0 is measured exactly as in ``test_pitch_shift.py``. 300 steps, about 25 s of one CPU core.
Measured: ×1.2454 for +4 and ×0.7929 for -4 semitones (2^(±4/12) = 1.2599 / 0.7937); with data
and training seeds 1 and 2 instead of 0: ×1.2987 / ×0.8249 and ×1.2725 / ×0.7994.
"""

from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtools.audio.features import f0
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer
from tiny_tts import extract_training_assets, train_tiny_fastspeech2

# Each text is spoken several times with different random F0s: the tokens carry no pitch information.
TEXTS = ["see moon leaf", "rain day tree sky", "bay fall sun", "night wind"]
SAMPLE_RATE = 22050
HOP = 256
FRAMES_PER_TOKEN = 6
N_UTTS = 24


def _harmonic_tones(f0_per_frame: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A phase-continuous harmonic tone (1/k amplitudes up to 2 kHz) following a frame-rate F0.

    The power is held constant whatever the F0, so that energy carries no pitch information; a
    white-noise floor 40 dB down gives the mel bins above the harmonics a steady, learnable level.
    """
    frame_pos = np.arange(len(f0_per_frame)) * HOP
    inst_f0 = np.interp(np.arange(n_samples), frame_pos, f0_per_frame)
    phase = 2 * np.pi * np.cumsum(inst_f0) / SAMPLE_RATE
    wav = np.zeros(n_samples)
    power = np.zeros(n_samples)
    for k in range(1, 2000 // 120 + 1):
        audible = (k * inst_f0 < 2000).astype(np.float64)
        wav += audible * np.sin(k * phase) / k
        power += audible / k**2
    return (0.1 * wav / np.sqrt(power) + 0.001 * rng.standard_normal(n_samples)).astype(np.float32)


def _write_corpus(root: Path, rng: np.random.Generator) -> Dict[str, List[int]]:
    """Kaldi data dir of synthetic utterances; returns the per-token durations (frames)."""
    from speechtools.text.frontend import get_frontend

    frontend = get_frontend("en_phone")
    wav_dir = root / "wavs"
    wav_dir.mkdir(parents=True)
    texts, scp, durations = {}, {}, {}
    for i in range(N_UTTS):
        uttid = f"syn{i:03d}"
        text = TEXTS[i % len(TEXTS)]
        n_tokens = len(frontend.tokenize(text))
        token_f0 = np.exp(rng.uniform(np.log(120.0), np.log(300.0), size=n_tokens))
        frames = n_tokens * FRAMES_PER_TOKEN
        # frames = n_samples // hop + 1 (centred frames): the durations sum to the frame count.
        n_samples = (frames - 1) * HOP + HOP // 2
        path = wav_dir / f"{uttid}.wav"
        sf.write(path, _harmonic_tones(np.repeat(token_f0, FRAMES_PER_TOKEN), n_samples, rng), SAMPLE_RATE)
        texts[uttid], scp[uttid] = text, str(path)
        durations[uttid] = [FRAMES_PER_TOKEN] * n_tokens
    for name, table in (("text", texts), ("wav.scp", scp), ("utt2spk", {u: "SYN" for u in texts})):
        (root / name).write_text("".join(f"{k} {table[k]}\n" for k in sorted(table)))
    (root / "spk2utt").write_text("SYN " + " ".join(sorted(texts)) + "\n")
    return durations


@pytest.fixture(scope="module")
def pitch_model_dir(tmp_path_factory) -> Path:
    from speechtools.data.kaldi import write_durations

    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("pitch_tts")
    train = root / "data" / "train"
    durations = _write_corpus(train, np.random.default_rng(0))
    write_durations(train / "durations", durations)
    extract_training_assets(root, train)
    return train_tiny_fastspeech2(
        root, train,
        model_conf="  dim: 64\n"
        "  encoder: {layers: 1, dim: 64, heads: 2, ffn_hidden: 128, dropout: 0.0}\n"
        "  decoder: {layers: 2, dim: 64, heads: 2, ffn_hidden: 256, dropout: 0.0}\n"
        "  adaptor: {duration: {channels: 32, dropout: 0.0}, pitch: {channels: 32, dropout: 0.0},"
        " energy: {channels: 32, dropout: 0.0}}\n",
        trainer="{max_steps: 300, save_interval: 300, valid_interval: 0, log_interval: 50, seed: 0}",
        optim="{lr: 2.0e-3}",
    )


def _f0_ratio(model_dir: Path, semitones: float) -> float:
    synth = Synthesizer(model_dir, device="cpu")
    inputs = [SynthesisInput(f"u{i}", t) for i, t in enumerate(["see moon leaf", "rain day tree sky"])]
    base = list(synth.synthesize(inputs, progress=False))
    shifted = list(synth.synthesize(inputs, pitch_shift=semitones, progress=False))
    ratios = []
    for a, b in zip(base, shifted):
        assert a.durations == b.durations
        fa, _ = f0(a.wav, synth.feature_config)
        fb, _ = f0(b.wav, synth.feature_config)
        n = min(len(fa), len(fb))
        both = (fa[:n] > 0) & (fb[:n] > 0)
        assert both.mean() > 0.5, "output mostly unvoiced"
        ratios.append(fb[:n][both] / fa[:n][both])
    return float(np.median(np.concatenate(ratios)))


@pytest.mark.parametrize("semitones", [4.0, -4.0])
def test_pitch_shift_moves_measured_f0_by_semitone_ratio(pitch_model_dir, semitones):
    measured = _f0_ratio(pitch_model_dir, semitones)
    expected = 2 ** (semitones / 12)
    print(f"pitch shift {semitones:+g}: measured F0 ratio {measured:.4f} (expected {expected:.4f})")
    assert abs(measured / expected - 1) < 0.05, measured
