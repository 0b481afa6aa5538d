"""The marker of a synthetic data directory: which model produced its speech or its text, and how.

LRSpeech's dual transformation and knowledge distillation (Xu et al., KDD 2020, Sec. 2.2–2.3)
train on pairs one model made for another: a TTS model speaks unpaired text (the speech is
synthetic), a recogniser transcribes unpaired speech (the text is synthetic). Such a directory is
an ordinary Kaldi data directory plus ``synthetic.yaml``::

    kind: speech | text          # which half of each pair a model produced
    produced_by: /abs/exp/tts    # the model directory
    command: pseudo-pairs speak  # the speechtools command
    source: /abs/data/unpaired_text
    kept: 412
    dropped: 88                  # listed with their reasons in DIR/dropped
    settings: {min_wcr: 0.7, ...}

and ``dropped`` (``uttid reason``) for every input left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from speechtools.config import load_yaml, save_config
from speechtools.data.kaldi import DATA_FILES, write_table
from speechtools.errors import PathLike, UserError

MARKER = "synthetic.yaml"
DROPPED = "dropped"
ATTENTION_SCORES = "attention_scores"
WAV_FOLDER = "wav"
KINDS = ("speech", "text")
SYNTHETIC_DIR_NAMES = (*DATA_FILES, MARKER, DROPPED, ATTENTION_SCORES, WAV_FOLDER)
"""What a synthetic data directory may hold (so a re-run may replace it: :func:`speechtools.data.outdir.check_replaceable`)."""


@dataclass
class SyntheticMarker:
    """What ``synthetic.yaml`` records (see the module docstring)."""

    kind: str
    produced_by: str
    command: str
    source: str
    kept: int
    dropped: int
    settings: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")


def write_marker(data_dir: PathLike, marker: SyntheticMarker, dropped: Mapping[str, str]) -> None:
    """Write ``synthetic.yaml`` and ``dropped`` (one ``uttid reason`` line each) into ``data_dir``, atomically each."""
    root = Path(data_dir)
    write_table(root / DROPPED, dict(dropped))
    save_config(marker, root / MARKER)


def read_marker(data_dir: PathLike) -> Optional[SyntheticMarker]:
    """The marker of ``data_dir``, or ``None`` for a directory of real pairs."""
    path = Path(data_dir) / MARKER
    if not path.is_file():
        return None
    data = load_yaml(path.read_text(encoding="utf-8"))
    try:
        return SyntheticMarker(**data)
    except (TypeError, ValueError) as exc:
        raise UserError(f"not a synthetic-data marker: {exc}", path) from None
