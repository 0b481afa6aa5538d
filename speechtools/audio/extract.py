"""Feature extraction of a Kaldi data directory into a :class:`~speechtools.audio.store.FeatureStore`.

Requested features and what is stored (all float32, ``(frames, dim)``, one frame grid):

=========  =====================  =====================================================
request    stored names           content
=========  =====================  =====================================================
mel        ``mel`` (T, n_mels)    natural-log Slaney mel spectrogram
energy     ``energy`` (T, 1)      L2 norm of each STFT magnitude frame
pitch      ``pitch`` (T, 1)       continuous log-F0 (log Hz, unvoiced frames interpolated)
           ``voiced`` (T, 1)      1.0 where Praat found voicing, else 0.0
=========  =====================  =====================================================

Extraction is resumable: an utterance whose stored arrays all exist and are complete is
skipped, and each array is written atomically. The configuration used is saved as
``feats_config.yaml`` in the store; extracting into the same store with a different
configuration is an error rather than a silent mix.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import yaml
from tqdm import tqdm

from speechtools.audio.features import FeatureConfig, continuous_log_f0, f0, log_mel_and_energy, num_frames
from speechtools.audio.io import Span, load_audio
from speechtools.parallel import process_pool
from speechtools.audio.stats import FeatureStats, RunningMoments
from speechtools.audio.store import FeatureStore
from speechtools.config import from_dict, load_config, save_config, to_dict
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError

STORED_NAMES: Dict[str, Tuple[str, ...]] = {"mel": ("mel",), "energy": ("energy",), "pitch": ("pitch", "voiced")}
CONFIG_FILE = "feats_config.yaml"


@dataclass(frozen=True)
class Job:
    """One utterance to extract: its id, ``wav.scp`` entry, optional span in seconds, and the
    ``segments`` (or ``wav.scp``) file and line that define it, for messages."""

    uttid: str
    entry: str
    segment: Optional[Span] = None
    where: Optional[Tuple[str, Optional[int]]] = None


@dataclass(frozen=True)
class ExtractSummary:
    """What :func:`extract_to_store` did."""

    extracted: int
    skipped: int
    names: Tuple[str, ...]

    def line(self) -> str:
        """One-line report for the command line."""
        return f"extracted {self.extracted} utterances, skipped {self.skipped} already done; features: {', '.join(self.names)}"


def parse_features(spec: str) -> Tuple[str, ...]:
    """``"mel,energy,pitch"`` → ``("mel", "energy", "pitch")``, checking each name."""
    names = tuple(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    unknown = [n for n in names if n not in STORED_NAMES]
    if unknown or not names:
        raise UserError(f"unknown feature(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(STORED_NAMES)}")
    return names


def stored_names(features: Sequence[str]) -> Tuple[str, ...]:
    """The store entries written for the requested features."""
    return tuple(name for feature in features for name in STORED_NAMES[feature])


def plan_jobs(data: DataDir) -> List[Job]:
    """One :class:`Job` per utterance (sorted), resolving ``segments`` to their recordings."""

    def where(name: str, key: str) -> Optional[Tuple[str, Optional[int]]]:
        return None if data.path is None else (str(data.path / name), data.lines.get(name, {}).get(key))

    if data.segments is None:
        return [Job(u, data.wav_scp[u], where=where("wav.scp", u)) for u in sorted(data.wav_scp)]
    jobs = []
    for uttid, seg in sorted(data.segments.items()):
        place = where("segments", uttid)
        if seg.wav_id not in data.wav_scp:
            raise UserError(f"utterance {uttid}: recording {seg.wav_id!r} is not in wav.scp", *(place or (None, None)))
        jobs.append(Job(uttid, data.wav_scp[seg.wav_id], (seg.start, seg.end), place))
    return jobs


def check_long_enough(n_samples: int, cfg: FeatureConfig, uttid: Optional[str] = None,
                      where: Optional[Tuple[str, Optional[int]]] = None) -> None:
    """Raise unless ``n_samples`` make at least one analysis frame (more than ``n_fft / 2`` samples).

    Raises:
        UserError: naming the utterance, its length in samples and seconds, and ``where`` (file, line).
    """
    need = cfg.n_fft // 2
    if n_samples <= need:
        label = f"utterance {uttid}: " if uttid else ""
        raise UserError(
            f"{label}audio too short for one analysis frame: {n_samples} samples ({n_samples / cfg.sample_rate:.3f} s), "
            f"need more than n_fft/2 = {need} ({need / cfg.sample_rate:.3f} s)",
            *(where or (None, None)),
        )


def extract_utterance(job: Job, cfg: FeatureConfig, features: Sequence[str]) -> Dict[str, np.ndarray]:
    """Load one utterance and compute the requested features, all with ``num_frames(len(wav))`` rows."""
    wav = load_audio(job.entry, cfg.sample_rate, job.segment, cfg.resample, job.uttid)
    check_long_enough(wav.size, cfg, job.uttid, job.where)
    out: Dict[str, np.ndarray] = {}
    if "mel" in features or "energy" in features:
        with torch.inference_mode():
            mel, power = log_mel_and_energy(torch.from_numpy(wav), cfg)
        if "mel" in features:
            out["mel"] = mel.numpy().astype(np.float32)
        if "energy" in features:
            out["energy"] = power.numpy().astype(np.float32)[:, None]
    if "pitch" in features:
        hz, voiced = f0(wav, cfg)
        out["pitch"] = continuous_log_f0(hz, voiced)[:, None]
        out["voiced"] = voiced.astype(np.float32)[:, None]
    frames = num_frames(wav.size, cfg)
    mismatched = {k: v.shape[0] for k, v in out.items() if v.shape[0] != frames}
    if mismatched:
        raise AssertionError(f"frame counts differ from {frames}: {mismatched}")
    return out


def _extract_and_write(job: Job, cfg: FeatureConfig, features: Tuple[str, ...], root: str, threads: int) -> Tuple[str, Optional[Tuple[str, Optional[str], Optional[int]]]]:
    """Worker: extract one utterance into the store; return ``(uttid, error)`` (errors cross processes as tuples)."""
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        arrays = extract_utterance(job, cfg, features)
    except UserError as exc:
        return job.uttid, (exc.message, exc.path, exc.line)
    store = FeatureStore(root)
    for name, array in arrays.items():
        store.write(name, job.uttid, array)
    return job.uttid, None


def stored_feature_config(root: PathLike) -> Optional[FeatureConfig]:
    """The configuration the store ``root`` was extracted with (its ``feats_config.yaml``), ``None`` if it has none.

    Raises:
        UserError: the file does not parse or validate (naming it).
    """
    path = Path(root) / CONFIG_FILE
    if not path.is_file():
        return None
    return from_dict(FeatureConfig, load_config(path))


def _check_store_config(root: Path, cfg: FeatureConfig) -> None:
    path = root / CONFIG_FILE
    if not path.is_file():
        save_config(cfg, path)
        return
    try:
        previous = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise UserError("cannot parse the saved feature config; delete it or use another output directory", path) from None
    current = to_dict(cfg)
    changed = sorted(k for k in set(current) | set(previous) if previous.get(k) != current.get(k) and k != "resample")
    if changed:
        diffs = ", ".join(f"{k}: {previous.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise UserError(f"features here were extracted with another config ({diffs}); use a new output directory or delete this one", path)


def extract_to_store(
    data_dir: PathLike,
    dump_dir: PathLike,
    cfg: FeatureConfig,
    features: Sequence[str] = ("mel", "energy", "pitch"),
    nj: int = 1,
    progress: bool = True,
) -> ExtractSummary:
    """Extract ``features`` for every utterance of ``data_dir`` into the store ``dump_dir``.

    Utterances already complete are skipped; ``nj > 1`` runs that many worker processes
    (one torch thread each). On the first user error the pool stops and the error is raised;
    finished utterances stay, so a rerun resumes. The ``.scp``/``_shape`` indexes are written
    at the end.
    """
    data = DataDir.load(data_dir)
    jobs = plan_jobs(data)
    if not jobs:
        raise UserError("no utterances in wav.scp", Path(data_dir) / "wav.scp")
    root = Path(dump_dir)
    root.mkdir(parents=True, exist_ok=True)
    _check_store_config(root, cfg)
    store = FeatureStore(root)
    names = stored_names(features)
    todo = [job for job in jobs if not all(store.is_complete(name, job.uttid) for name in names)]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="extract-feats", unit="utt", disable=not progress)
    with bar:
        if nj <= 1 or len(todo) <= 1:
            for job in todo:
                _raise_if_failed(_extract_and_write(job, cfg, tuple(features), str(root), 0))
                bar.update()
        else:
            work = functools.partial(_extract_and_write, cfg=cfg, features=tuple(features), root=str(root), threads=1)
            with process_pool(min(nj, len(todo))) as pool:
                for result in pool.imap_unordered(work, todo, chunksize=1):
                    _raise_if_failed(result)
                    bar.update()
    for name in names:
        store.write_index(name, [job.uttid for job in jobs])
    return ExtractSummary(extracted=len(todo), skipped=len(jobs) - len(todo), names=names)


def _raise_if_failed(result: Tuple[str, Optional[Tuple[str, Optional[str], Optional[int]]]]) -> None:
    _, error = result
    if error is not None:
        message, path, line = error
        raise UserError(message, path, line)


def compute_store_stats(dump_dir: PathLike, progress: bool = True) -> FeatureStats:
    """Global mean/std of the store's ``mel`` (per bin), ``energy`` and ``pitch`` (voiced frames only).

    Raises:
        UserError: the store has none of these features, or ``pitch`` without ``voiced``.
    """
    store = FeatureStore(dump_dir)
    available = set(store.names())
    names = [n for n in ("mel", "energy", "pitch") if n in available]
    if not names:
        raise UserError("no mel, energy or pitch features (no mel.scp/energy.scp/pitch.scp); run extract-feats first", Path(dump_dir))
    if "pitch" in names and "voiced" not in available:
        raise UserError("pitch features without voiced flags (voiced.scp)", Path(dump_dir))
    moments = {n: RunningMoments() for n in names}
    utt_ids = store.utt_ids(names[0])
    for uttid in tqdm(utt_ids, desc="compute-stats", unit="utt", disable=not progress):
        for name in names:
            if name == "pitch":
                moments[name].update(store.read("pitch", uttid), store.read("voiced", uttid)[:, 0] > 0.5)
            else:
                moments[name].update(store.read(name, uttid))
    empty = [n for n, m in moments.items() if m.count == 0]
    if empty:
        raise UserError(f"no frames to compute statistics of {', '.join(empty)} (pitch: no voiced frame at all)", Path(dump_dir))
    return FeatureStats.from_moments(moments)
