"""Mel spectrograms to waveforms with a neural vocoder: the inputs of ``speechtools vocode`` and the batched loop.

Inputs are natural-log mels ``(frames, n_mels)`` as ``speechtools extract-feats`` writes them:
the ``mel.scp`` of a feature store (``uttid path.npy`` lines, relative paths relative to the
scp's folder; the store's ``feats_config.yaml`` beside it must have the vocoder's mel settings)
or single ``.npy`` files (the utterance id is the file name without ``.npy``). Every input is
read and checked before any audio is produced (:func:`scp_inputs`, :func:`npy_inputs`), so a
bad file fails the run before the first wav is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from speechtools.audio.extract import CONFIG_FILE, stored_feature_config
from speechtools.audio.features import FeatureConfig, mel_settings_mismatch
from speechtools.data.kaldi import read_records
from speechtools.errors import PathLike, UserError
from speechtools.fileio import checked_id, read_npy
from speechtools.tts.vocoders import Vocoder


@dataclass(frozen=True)
class MelInput:
    """One mel to vocode: its id, file, frame count and where it was named (for messages)."""

    uttid: str
    path: Path
    frames: int
    source: Path
    line: Optional[int] = None


def read_mel(path: PathLike, n_mels: int, source: Optional[PathLike] = None, line: Optional[int] = None) -> np.ndarray:
    """A natural-log mel ``(frames, n_mels)`` as float32; errors name ``source``:``line`` (else the file) and the shape.

    Raises:
        UserError: missing, truncated or non-``.npy`` file, not 2-D, another bin count, no frames,
            a non-float dtype or non-finite values.
    """
    where = (source, line) if source is not None else (path, None)
    try:
        mel = read_npy(path, f"mel {str(path)!r}")
    except UserError as exc:
        raise UserError(exc.message, *where) from None
    if mel.ndim != 2 or mel.shape[1] != n_mels or mel.shape[0] == 0:
        raise UserError(f"mel {str(path)!r} has shape {mel.shape}, the vocoder takes (frames, {n_mels}) with frames >= 1 "
                        "(a natural-log mel as extract-feats writes it)", *where)
    if not np.issubdtype(mel.dtype, np.floating):
        raise UserError(f"mel {str(path)!r} has dtype {mel.dtype}, expected float", *where)
    if not np.isfinite(mel).all():
        raise UserError(f"mel {str(path)!r} has non-finite values", *where)
    return mel.astype(np.float32, copy=False)


def check_store_config(folder: Path, cfg: FeatureConfig) -> None:
    """Refuse a feature store whose ``feats_config.yaml`` has other mel settings than the vocoder's (none there: no check)."""
    stored = stored_feature_config(folder)
    mismatch = None if stored is None else mel_settings_mismatch(stored, cfg, "features", "vocoder")
    if mismatch:
        raise UserError(f"these features were extracted with other settings than the vocoder's: {mismatch}", folder / CONFIG_FILE)


def scp_inputs(scp: PathLike, cfg: FeatureConfig) -> List[MelInput]:
    """Every mel of a ``mel.scp`` (``uttid path.npy``), each read and checked against the vocoder's settings ``cfg``."""
    scp = Path(scp)
    records = read_records(scp, layout="uttid path.npy")
    if not records:
        raise UserError("no utterances to vocode (empty feature list)", scp)
    check_store_config(scp.resolve().parent, cfg)
    inputs = []
    for record in records:
        path = Path(record.value)
        path = path if path.is_absolute() else scp.parent / path
        mel = read_mel(path, cfg.n_mels, scp, record.line)
        inputs.append(MelInput(record.key, path, len(mel), scp, record.line))
    return inputs


def npy_inputs(paths: Sequence[PathLike], cfg: FeatureConfig) -> List[MelInput]:
    """Mels given as files; the id of each is its name without ``.npy`` (two files of one name are an error)."""
    inputs: List[MelInput] = []
    seen = set()
    for given in paths:
        path = Path(given)
        uttid = checked_id(path.name[:-4] if path.name.endswith(".npy") else path.name, "utterance id (the file name)", path)
        if uttid in seen:
            raise UserError(f"two mels named {uttid!r}: their wavs would overwrite each other", path)
        seen.add(uttid)
        inputs.append(MelInput(uttid, path, len(read_mel(path, cfg.n_mels)), path))
    if not inputs:
        raise UserError("no mels to vocode")
    return inputs


def vocode_inputs(vocoder: Vocoder, inputs: Sequence[MelInput], batch_size: int = 4,
                  progress: bool = True) -> Iterator[Tuple[MelInput, np.ndarray]]:
    """Yield ``(input, waveform)`` as they are made: length-sorted batches of up to ``batch_size`` mels padded with the log floor."""
    cfg = vocoder.cfg
    floor = math.log(cfg.log_floor)
    order = sorted(range(len(inputs)), key=lambda k: inputs[k].frames)
    with tqdm(total=len(inputs), desc="vocode", unit="utt", disable=not progress) as bar:
        for start in range(0, len(order), batch_size):
            chosen = [inputs[k] for k in order[start:start + batch_size]]
            batch = np.full((len(chosen), max(item.frames for item in chosen), cfg.n_mels), floor, dtype=np.float32)
            for b, item in enumerate(chosen):
                batch[b, : item.frames] = read_mel(item.path, cfg.n_mels, item.source, item.line)
            wavs = vocoder(torch.from_numpy(batch), torch.tensor([item.frames for item in chosen]))
            yield from zip(chosen, wavs)
            bar.update(len(chosen))
