"""Helpers for scoring tests: real and noisy clips (the CLI runner ``run_cli`` is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


LJ_CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "LJ001-0008.flac"  # public domain, 22.05 kHz, 1.78 s


@pytest.fixture(scope="session")
def real_clip_16k() -> np.ndarray:
    """LJ001-0008 ("has never been surpassed") at 16 kHz, float32."""
    from speechtools.audio.io import load_audio

    return load_audio(LJ_CLIP, 16000, resample=True)


def add_noise(wav: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``wav`` plus white Gaussian noise at ``snr_db`` (signal power over noise power, in dB)."""
    noise = np.random.default_rng(seed).standard_normal(len(wav))
    return (wav + noise * np.sqrt(np.mean(wav.astype(np.float64) ** 2) / 10 ** (snr_db / 10))).astype(np.float32)


RATE = 22050  # of the data directories the judge tests write


def wav_dir(root: Path, wavs: dict, text: dict | None = None) -> Path:
    """A data directory: one 22.05 kHz wav per utterance, wav.scp (and text)."""
    root.mkdir()
    for uttid, wav in wavs.items():
        sf.write(root / f"{uttid}.wav", wav, RATE, subtype="FLOAT")
    (root / "wav.scp").write_text("".join(f"{u} {root / (u + '.wav')}\n" for u in sorted(wavs)))
    if text is not None:
        (root / "text").write_text("".join(f"{u} {t}\n" for u, t in sorted(text.items())))
    return root


def rows(markdown: str) -> dict:
    """``|name|a|b|`` lines of a Markdown table as ``{name: [a, b]}``."""
    return {cells[0]: cells[1:] for cells in (line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("|"))}
