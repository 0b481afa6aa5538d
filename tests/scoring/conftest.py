"""Helpers for scoring tests: run the CLI in-process and capture its output and exit code."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest
import soundfile as sf

from speechtools.cli.main import main


@pytest.fixture
def run_cli(capsys):
    """Run ``speechtools ARGS``; returns ``(exit_code, stdout, stderr)``."""

    def run(args: List[str]) -> Tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(args)
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err

    return run


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
