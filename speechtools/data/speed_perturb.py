"""Speed perturbation of a data directory (Ko et al., Interspeech 2015; Kaldi's ``perturb_data_dir_speed.sh``).

ESPnet2's asr1 recipes train on ``<train>_sp``, the training set at speeds 0.9, 1.0 and 1.1
(``../shared/reference/asr.md`` §1, stage 2). A factor ``f`` plays the recording ``f`` times
faster: ``1/f`` times the duration, every frequency times ``f`` (tempo and pitch together, as sox's
``speed`` effect does). It is a resampling: the samples read at rate ``r·f`` and written at rate
``r`` (soxr, high quality).

The output is one data directory holding every factor, as Kaldi's 3-way script writes it:

* factor 1 keeps the source's utterances as they are (ids, ``wav.scp`` entries, ``segments``);
* every other factor ``f`` gets ids ``sp<f>-<utt>`` and speakers ``sp<f>-<spk>`` (Kaldi's prefix,
  so one speaker's three speeds are three speakers), its audio written once per utterance to
  ``DST/wav/sp<f>-<utt>.wav`` at the source's rate (a ``segments`` span is cut first);
* ``text`` is copied; ``durations`` and ``spk_vectors.scp`` are left out of the perturbed copies
  (frame counts and voices change with the speed), so the output holds them only when every
  factor is 1 (the report says what was left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence

import numpy as np
import soxr
from tqdm import tqdm

from speechtools.audio.io import read_audio, save_audio
from speechtools.data.kaldi import DATA_FILES, DataDir, Segment
from speechtools.data.outdir import check_replaceable
from speechtools.data.synthetic import WAV_FOLDER
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_dir, checked_id, id_file

MIN_FACTOR, MAX_FACTOR = 0.5, 2.0
SPEED_PERTURBED_NAMES = (*DATA_FILES, WAV_FOLDER)
"""What a speed-perturbed data directory may hold (so a re-run may replace it)."""


def speed_perturb(wav: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """``wav`` played ``factor`` times faster at the same ``sample_rate`` (sox ``speed``: tempo and pitch × ``factor``).

    The samples are resampled from ``sample_rate · factor`` to ``sample_rate`` (soxr ``HQ``), so
    the result has ``len(wav) / factor`` samples (rounded) and a tone of frequency ``F`` becomes ``F · factor``.
    """
    if factor == 1.0:
        return np.asarray(wav, dtype=np.float32)
    out = soxr.resample(np.asarray(wav, dtype=np.float32), sample_rate * factor, sample_rate, quality="HQ")
    return np.ascontiguousarray(out, dtype=np.float32)


def parse_factors(spec: str) -> List[float]:
    """``"0.9 1.0 1.1"`` (spaces or commas) → ``[0.9, 1.0, 1.1]``: each in [0.5, 2], none twice."""
    parts = [p for p in spec.replace(",", " ").split() if p]
    if not parts:
        raise UserError("no speed factors given (e.g. --factors '0.9 1.0 1.1')")
    factors: List[float] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise UserError(f"speed factor {part!r} is not a number") from None
        if not MIN_FACTOR <= value <= MAX_FACTOR:
            raise UserError(f"speed factor {part!r} is outside [{MIN_FACTOR}, {MAX_FACTOR}]")
        if value in factors:
            raise UserError(f"speed factor {part!r} is given twice")
        factors.append(value)
    return factors


def perturbed_id(value: str, factor: float) -> str:
    """Kaldi's name of ``value`` (an utterance or speaker) at ``factor``: ``sp0.9-<value>``; unchanged at 1."""
    return value if factor == 1.0 else f"sp{factor:g}-{value}"


@dataclass
class SpeedPerturbReport:
    """What :func:`speed_perturb_data_dir` wrote."""

    path: Path
    factors: List[float]
    n_source: int
    n_written: int
    left_out: List[str] = field(default_factory=list)

    def lines(self) -> List[str]:
        """The command's report."""
        speeds = " ".join(f"{f:g}" for f in self.factors)
        out = [f"{self.path}: {self.n_written} utterances ({self.n_source} at speeds {speeds})"]
        if self.left_out:
            out.append(f"left out of the perturbed copies (they change with the speed): {', '.join(self.left_out)}")
        return out


def speed_perturb_data_dir(src: PathLike, dst: PathLike, factors: Sequence[float], progress: bool = True) -> SpeedPerturbReport:
    """Write ``src`` at every speed of ``factors`` as the one data directory ``dst`` (replaced atomically; module docstring).

    Raises:
        UserError: ``dst`` is ``src`` or holds other files; an unreadable recording (named with its
            utterance); an utterance or speaker id that cannot become a file name.
    """
    source = Path(src)
    out = Path(dst)
    if source.resolve() == out.resolve():
        raise UserError("destination must differ from the source", out)
    data = DataDir.load(source)
    check_replaceable(out, SPEED_PERTURBED_NAMES)
    utts = data.utt_ids()
    key_file = "segments" if data.segments is not None else "wav.scp"
    if not utts:
        raise UserError("no utterances", source / key_file)
    perturbed = [f for f in factors if f != 1.0]
    for uttid in utts if perturbed else ():  # every id must become a file name: fail before any audio is written
        checked_id(uttid, "utterance id", source / key_file, data.lines.get(key_file, {}).get(uttid))
    keep_identity = 1.0 in factors
    merged = DataDir(
        wav_scp=dict(data.wav_scp) if keep_identity else {},
        text={} if data.text is not None else None,
        utt2spk={} if data.utt2spk is not None else None,
        segments=({} if data.segments is not None and keep_identity else None),
        durations=dict(data.durations) if data.durations is not None and not perturbed else None,
        spk_vectors=dict(data.spk_vectors) if data.spk_vectors is not None and not perturbed else None,
    )
    left_out = [name for name, table in (("durations", data.durations), ("spk_vectors.scp", data.spk_vectors))
                if table is not None and perturbed]
    if keep_identity:
        _copy_tables(data, merged, utts, 1.0)
    bar = tqdm(total=len(utts) * len(perturbed), desc="speed perturbation", unit="utt", disable=not progress)
    with atomic_dir(out) as tmp, bar:
        for uttid in utts:
            segment = data.segments[uttid] if data.segments is not None else None
            entry = data.wav_scp[segment.wav_id] if segment is not None else data.wav_scp[uttid]
            if perturbed:
                wav, rate, _ = read_audio(entry, (segment.start, segment.end) if segment is not None else None, uttid)
            for factor in perturbed:
                new_id = perturbed_id(uttid, factor)
                wav_path = id_file(tmp / WAV_FOLDER, new_id, ".wav", "utterance id")
                wav_path.parent.mkdir(exist_ok=True)
                save_audio(wav_path, speed_perturb(wav, factor, rate), rate)
                merged.wav_scp[new_id] = str(out.resolve() / WAV_FOLDER / wav_path.name)
                if merged.segments is not None:
                    merged.segments[new_id] = Segment(new_id, 0.0, -1.0)
                _copy_tables(data, merged, [uttid], factor)
                bar.update()
        merged.save(tmp)
    return SpeedPerturbReport(out, list(factors), len(utts), len(utts) * len(factors), left_out)


def _copy_tables(data: DataDir, merged: DataDir, utts: Sequence[str], factor: float) -> None:
    """``text``, ``utt2spk`` and (kept source) ``segments`` rows of ``utts`` under their names at ``factor``."""
    for uttid in utts:
        new_id = perturbed_id(uttid, factor)
        if merged.text is not None and data.text is not None and uttid in data.text:
            merged.text[new_id] = data.text[uttid]
        if merged.utt2spk is not None and data.utt2spk is not None and uttid in data.utt2spk:
            merged.utt2spk[new_id] = perturbed_id(data.utt2spk[uttid], factor)
        if factor == 1.0 and merged.segments is not None and data.segments is not None:
            merged.segments[uttid] = data.segments[uttid]
