"""Waveform segments aligned to mel frames: what a neural vocoder trains on (DiffWave, PriorGrad, HiFi-GAN).

An item is ``segment_frames`` consecutive frames of an utterance's (normalised) log-mel from
the feature store and the ``segment_frames · hop_length`` waveform samples they describe:
frame ``t`` of :func:`speechtools.audio.features.log_mel` (centred STFT) is computed around
sample ``t · hop_length``, and the vocoder's upsampler maps it to samples
``[t · hop_length, (t + 1) · hop_length)``. The audio is read from the data directory's
``wav.scp`` (and ``segments``) exactly as ``speechtools extract-feats`` read it, so the two
stay aligned by construction (``tests/datasets/test_waveform.py`` recomputes the mel of a
segment's samples and finds the stored frames).

Training draws the start frame from the global torch generator, which the trainer seeds and
checkpoints (a resumed run draws the same segments); validation (``random_start=False``)
takes the first frames. An utterance shorter than a segment is padded: mel with the
normalised log floor, audio with zeros; ``frames``/``samples`` give the valid lengths.
Each item carries the stored natural-log mel too (``log_mel``, padded with the log floor):
what a vocoder that normalises its own input, or derives a prior from the frame energy
(PriorGrad), reads.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import torch
from torch.utils.data import Dataset

from speechtools.audio.extract import plan_jobs
from speechtools.audio.features import FeatureConfig
from speechtools.audio.io import load_audio
from speechtools.audio.stats import FeatureStats
from speechtools.audio.store import FeatureStore
from speechtools.data.kaldi import DataDir
from speechtools.errors import UserError


class WaveformSegmentDataset(Dataset):
    """Items ``{uttid, mel, log_mel (segment_frames, n_mels), audio (segment_frames·hop,), frames, samples, start}``.

    ``mel`` is normalised with ``stats``, ``log_mel`` the stored natural-log mel.

    Args:
        data_dir: Kaldi data directory (``wav.scp``, optional ``segments``).
        feats_dir: its feature store (``mel``), written with ``feature_config``.
        stats: ``stats.npz`` of the training set (the mel is normalised with it).
        feature_config: the feature settings (sample rate, hop length, log floor).
        segment_frames: frames per item.
        random_start: draw the start frame (training) or take frame 0 (validation).
    """

    def __init__(self, data_dir: str, feats_dir: str, stats: FeatureStats, feature_config: FeatureConfig,
                 segment_frames: int, random_start: bool = True) -> None:
        if segment_frames < 1:
            raise UserError(f"segment_frames must be >= 1, got {segment_frames}")
        self.cfg = feature_config
        self.stats = stats
        self.segment_frames = segment_frames
        self.random_start = random_start
        self.store = FeatureStore(feats_dir)
        shapes = self.store.shapes("mel")
        self.jobs = plan_jobs(DataDir.load(data_dir))
        missing = [job.uttid for job in self.jobs if job.uttid not in shapes]
        if missing:
            raise UserError(f"utterance {missing[0]!r} ({len(missing)} in all) has no mel features in this store", feats_dir)
        self.frames = [int(shapes[job.uttid][0]) for job in self.jobs]
        self.log_floor = float(np.log(feature_config.log_floor))
        self.pad_value = float(stats.normalize("mel", np.full((1, feature_config.n_mels), self.log_floor))[0, 0])

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        job, total = self.jobs[index], self.frames[index]
        seg, hop = self.segment_frames, self.cfg.hop_length
        last = max(total - seg, 0)
        start = int(torch.randint(0, last + 1, ()).item()) if self.random_start and last > 0 else 0
        frames = min(seg, total - start)
        log_mel = self.store.read("mel", job.uttid)[start:start + frames].astype(np.float32)
        mel = self.stats.normalize("mel", log_mel).astype(np.float32)
        wav = load_audio(job.entry, self.cfg.sample_rate, job.segment, self.cfg.resample, job.uttid)
        audio = wav[start * hop:(start + frames) * hop].astype(np.float32)
        mel_out = np.full((seg, self.cfg.n_mels), self.pad_value, dtype=np.float32)
        mel_out[:frames] = mel
        log_mel_out = np.full((seg, self.cfg.n_mels), self.log_floor, dtype=np.float32)
        log_mel_out[:frames] = log_mel
        audio_out = np.zeros(seg * hop, dtype=np.float32)
        audio_out[: len(audio)] = audio
        return {"uttid": job.uttid, "mel": torch.from_numpy(mel_out), "log_mel": torch.from_numpy(log_mel_out), "audio": torch.from_numpy(audio_out),
                "frames": frames, "samples": len(audio), "start": start}


def collate_waveform_segments(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Stack :class:`WaveformSegmentDataset` items (all one segment long) into a batch."""
    return {
        "uttids": [it["uttid"] for it in items],
        "mel": torch.stack([it["mel"] for it in items]),
        "log_mel": torch.stack([it["log_mel"] for it in items]),
        "audio": torch.stack([it["audio"] for it in items]),
        "frames": torch.tensor([it["frames"] for it in items]),
        "samples": torch.tensor([it["samples"] for it in items]),
        "start": torch.tensor([it["start"] for it in items]),
    }
