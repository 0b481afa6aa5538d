"""A small Kaldi data directory built in each test: sine-wave wavs written with soundfile."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import pytest
import soundfile as sf

SAMPLE_RATE = 16000


def write_lines(path: Path, lines: List[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def build_data_dir(
    root: Path,
    n_utts: int = 6,
    n_spk: int = 2,
    durations: bool = True,
    segments: bool = False,
    prefix: str = "utt",
) -> Dict[str, object]:
    """Write ``root/{wav.scp,text,utt2spk,spk2utt,durations}`` and sine wavs under ``root/wavs``.

    Utterance ``k`` says ``k % 3 + 2`` tokens, its durations are ``1, 2, ...`` and its speaker is
    ``spk{k % n_spk}``. With ``segments``, two utterances share each recording.
    """
    root.mkdir(parents=True, exist_ok=True)
    wav_dir = root / "wavs"
    wav_dir.mkdir(exist_ok=True)
    utts = [f"{prefix}{k:02d}" for k in range(n_utts)]
    spk = {u: f"spk{k % n_spk}" for k, u in enumerate(utts)}
    tokens = {u: [f"t{j}" for j in range(k % 3 + 2)] for k, u in enumerate(utts)}
    durs = {u: list(range(1, len(tokens[u]) + 1)) for u in utts}
    recordings = sorted({f"{prefix}rec{k // 2}" for k in range(n_utts)}) if segments else utts
    for k, rec in enumerate(recordings):
        t = np.arange(SAMPLE_RATE // 10) / SAMPLE_RATE
        sf.write(wav_dir / f"{rec}.wav", (0.3 * np.sin(2 * np.pi * (220 + 20 * k) * t)).astype(np.float32), SAMPLE_RATE)
    write_lines(root / "wav.scp", [f"{r} {wav_dir / (r + '.wav')}" for r in recordings])
    write_lines(root / "text", [f"{u} {' '.join(tokens[u])}" for u in utts])
    write_lines(root / "utt2spk", [f"{u} {spk[u]}" for u in utts])
    speakers = sorted(set(spk.values()))
    write_lines(root / "spk2utt", [f"{s} {' '.join(u for u in utts if spk[u] == s)}" for s in speakers])
    if durations:
        write_lines(root / "durations", [f"{u} {' '.join(map(str, durs[u]))}" for u in utts])
    if segments:
        write_lines(
            root / "segments",
            [f"{u} {prefix}rec{k // 2} {0.05 * (k % 2):.2f} {0.05 * (k % 2) + 0.05:.2f}" for k, u in enumerate(utts)],
        )
    return {"utts": utts, "spk": spk, "tokens": tokens, "durations": durs}


@pytest.fixture
def make_data_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_data_dir("name", **options)`` builds a data directory under ``tmp_path``."""

    def make(name: str = "data", **options: object) -> Path:
        root = tmp_path / name
        build_data_dir(root, **options)  # type: ignore[arg-type]
        return root

    return make


@pytest.fixture
def data_dir(make_data_dir: Callable[..., Path]) -> Path:
    return make_data_dir()
