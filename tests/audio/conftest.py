"""Shared fixtures for the audio tests: the stored librosa reference and the real LJSpeech clip."""

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


@pytest.fixture(scope="session")
def reference() -> dict:
    """Values computed once with librosa 0.11 by ``tests/fixtures/audio/make_reference.py``."""
    with np.load(FIXTURES / "librosa_reference.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="session")
def lj_clip() -> Path:
    """LJ001-0008 (1.78 s, 22.05 kHz, public domain), the one real recording the tests use."""
    return FIXTURES / "LJ001-0008.flac"


def tone(freq: float, seconds: float = 1.0, sample_rate: int = 22050, amplitude: float = 0.5) -> np.ndarray:
    """A pure sine of ``freq`` Hz as float32."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
