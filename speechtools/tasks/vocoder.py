"""Vocoder task: mel-to-waveform models (the PriorGrad vocoder and its DiffWave baseline).

Data of one set: a Kaldi data directory (``wav.scp``, optional ``segments``) and its feature
store (``mel``, written by ``speechtools extract-feats``), read as random waveform crops of
``segment_frames`` mel frames and the samples they describe
(:class:`speechtools.datasets.waveform.WaveformSegmentDataset`; validation takes each
utterance's first frames). Every item of a batch is one crop, so ``trainer.batch_bins`` is
``batch size × segment_frames`` (and ``trainer.max_batch_size`` the batch size).

The task gives the model what the data decides (:class:`~speechtools.models.task_info.VocoderInfo`):
mel bins and hop length of the feature configuration, the per-bin log-mel mean and standard
deviation of ``stats.npz``, and the minimum and maximum mel frame energy over the training set
(:func:`speechtools.models.priorgrad_vocoder.mel_energy`, PriorGrad's σ normalisation), computed
once from the training feature store. The loss is the model's own.

A model directory gets ``stats.npz``, ``feats_config.yaml`` (the feature configuration, as
``extract-feats`` writes it into a store and accepts with ``--conf``) and ``energy_range.yaml``,
so ``speechtools vocode`` and ``synth --vocoder priorgrad`` need nothing else. A training feature
store whose ``feats_config.yaml`` has other mel settings than ``task_conf.feats_conf`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from speechtools.audio.extract import CONFIG_FILE, stored_feature_config
from speechtools.audio.features import mel_settings_mismatch
from speechtools.config import check_ranges, from_dict, load_config, save_config
from speechtools.datasets.tts import STATS_NAME, FeatureAssets, FeatureDataConfig
from speechtools.datasets.waveform import WaveformSegmentDataset, collate_waveform_segments
from speechtools.errors import UserError
from speechtools.fileio import copy_file
from speechtools.models.priorgrad_vocoder import mel_energy
from speechtools.models.task_info import EnergyRange
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task

FEATS_CONFIG_NAME = CONFIG_FILE
ENERGY_NAME = "energy_range.yaml"


@dataclass
class VocoderTaskConfig(FeatureDataConfig):
    """``task_conf`` of ``task: vocoder``: the data of :class:`~speechtools.datasets.tts.FeatureDataConfig`
    (data directories with ``wav.scp``, their feature stores with ``mel``, ``stats``, ``feats_conf``), plus

    Attributes:
        segment_frames: mel frames per training crop (62 in the reference; the audio is 62 × hop samples).
    """

    segment_frames: int = 62

    def __post_init__(self) -> None:
        check_ranges(self, positive=("segment_frames",))


def store_energy_range(dataset: WaveformSegmentDataset, progress: bool = True) -> EnergyRange:
    """Minimum and maximum :func:`mel_energy` over every frame of the dataset's utterances (their whole stored mels)."""
    low, high, frames = float("inf"), float("-inf"), 0
    for job in tqdm(dataset.jobs, desc="frame energy", unit="utt", disable=not progress or len(dataset.jobs) < 200, leave=False):
        energy = mel_energy(torch.from_numpy(dataset.store.read("mel", job.uttid).astype(np.float64)))
        if energy.numel():
            low, high, frames = min(low, float(energy.min())), max(high, float(energy.max())), frames + energy.numel()
    if frames == 0 or not low < high:
        raise UserError(f"cannot normalise the frame energy: {frames} frames, all of energy {low:.4g}", dataset.store.root)
    return EnergyRange(low, high, frames)


@TASKS.register("vocoder", config=VocoderTaskConfig)
class VocoderTask(FeatureAssets, Task):
    """Waveform crops aligned to mel frames; the model's loss (PriorGrad's Σ⁻¹-weighted noise loss)."""

    config_class = VocoderTaskConfig

    def __init__(self, conf: VocoderTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self._energy: Optional[EnergyRange] = None
        self._train: Optional[WaveformSegmentDataset] = None

    # ------------------------------------------------------------------ VocoderInfo
    @property
    def n_mels(self) -> int:
        return self.feature_config.n_mels

    @property
    def hop_length(self) -> int:
        return self.feature_config.hop_length

    def mel_mean_std(self) -> Tuple[Sequence[float], Sequence[float]]:
        if "mel" not in self.stats.mean:
            raise UserError("stats.npz has no mel statistics (recompute with `speechtools compute-stats`)", self.conf.stats)
        mean = np.asarray(self.stats.mean["mel"], dtype=np.float64).reshape(-1)
        std = np.asarray(self.stats.std["mel"], dtype=np.float64).reshape(-1)
        if mean.size != self.n_mels:
            raise UserError(f"stats.npz has mel statistics of {mean.size} bins, the feature config {self.n_mels}", self.conf.stats)
        return mean.tolist(), std.tolist()

    def energy_range(self) -> EnergyRange:
        """The training set's frame-energy range (computed from the training store once; read back from a model directory)."""
        if self._energy is None:
            self._energy = store_energy_range(self.train_dataset())  # type: ignore[arg-type]
        return self._energy

    # ------------------------------------------------------------------ data
    def dataset(self, data_dir: str, feats_dir: str, random_start: bool) -> WaveformSegmentDataset:
        """Crops of any set (``random_start``: drawn starts for training, first frames for validation)."""
        stored = stored_feature_config(feats_dir)
        mismatch = None if stored is None else mel_settings_mismatch(stored, self.feature_config, "features", "task_conf.feats_conf")
        if mismatch:
            raise UserError(f"these features were extracted with other settings: {mismatch}", Path(feats_dir) / FEATS_CONFIG_NAME)
        return WaveformSegmentDataset(data_dir, feats_dir, self.stats, self.feature_config, self.conf.segment_frames, random_start)

    def train_dataset(self) -> Dataset:
        if self._train is None:
            self._train = self.dataset(self.conf.train_data, self.conf.train_feats, random_start=True)
        return self._train

    def valid_dataset(self) -> Optional[Dataset]:
        if not self.conf.valid_data:
            return None
        return self.dataset(self.conf.valid_data, self.conf.valid_feats or "", random_start=False)

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [self.conf.segment_frames] * len(dataset)  # type: ignore[arg-type]

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return collate_waveform_segments(items)

    # ------------------------------------------------------------------ assets
    def export_assets(self, model_dir: Path) -> List[str]:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        if Path(self.conf.stats).resolve() != (model_dir / STATS_NAME).resolve():
            copy_file(self.conf.stats, model_dir / STATS_NAME)
        save_config(self.feature_config, model_dir / FEATS_CONFIG_NAME)
        save_config(self.energy_range(), model_dir / ENERGY_NAME)
        return [STATS_NAME, FEATS_CONFIG_NAME, ENERGY_NAME]

    def load_assets(self, model_dir: Path) -> None:
        root = Path(model_dir)
        self.conf.stats, self.conf.feats_conf = str(root / STATS_NAME), str(root / FEATS_CONFIG_NAME)
        self._load_features(self.conf.stats, self.conf.feats_conf)
        path = root / ENERGY_NAME
        if not path.is_file():
            raise UserError(f"not a vocoder model directory: {ENERGY_NAME} is missing", path)
        self._energy = from_dict(EnergyRange, load_config(path))
