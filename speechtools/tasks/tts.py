"""Text-to-speech task for non-autoregressive acoustic models (FastSpeech 2 and its family).

Data of one set: a Kaldi data directory (``text``, ``durations``, optional ``utt2spk`` and
``spk_vectors.scp``) and a feature store (``dump/<set>``: ``mel``, ``pitch``, ``energy``),
read by the data layer :mod:`speechtools.datasets.tts` (items, batches, normalisation,
speaker vectors). With ``model_conf.adaptor.level: token`` pitch and energy targets are
averaged over each token's frames; with ``frame`` they stay per frame.

The task gives the model what the data decides (:class:`~speechtools.models.task_info.VarianceTTSInfo`:
vocabulary size, mel bins, speakers, pitch/energy statistics); the loss is the model's own
(``model(**batch)``, ``model.loss(out, **batch)``, the default of :class:`~speechtools.tasks.base.Task`).

A model directory gets ``tokens.txt``, ``stats.npz``, ``feats.yaml`` and (multi-speaker)
``speakers.txt``, so ``speechtools synth`` needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from torch.utils.data import Dataset

from speechtools.data.kaldi import read_table
from speechtools.datasets.tts import SpeechAssets, TTSDataConfig, TTSDataset, collate_tts, scalar_stats
from speechtools.errors import ConfigError
from speechtools.fileio import read_lines, write_lines
from speechtools.models.task_info import VarianceStats
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task

SPEAKERS_NAME = "speakers.txt"


@dataclass
class TTSTaskConfig(TTSDataConfig):
    """``task_conf`` of ``task: tts`` (and ``tts_ar``): the fields of :class:`TTSDataConfig`, plus

    Attributes:
        speakers: learn a speaker-ID embedding from ``utt2spk`` (multi-speaker data).
        speaker_vectors: feed each utterance's external speaker vector from the data directory's
            ``spk_vectors.scp`` to the model (needs ``model_conf.speaker_vector_dim > 0``).
    """

    speakers: bool = False
    speaker_vectors: bool = False


class SpeechTask(SpeechAssets, Task):
    """What every token-to-mel task gives its model: vocabulary size, mel bins, speakers (``TextToMelInfo``)."""

    _speaker_ids: Optional[Dict[str, int]] = None

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def n_mels(self) -> int:
        return self.feature_config.n_mels

    @property
    def n_speakers(self) -> int:
        return len(self.speaker_ids) if self.speaker_ids else 1

    @property
    def speaker_ids(self) -> Optional[Dict[str, int]]:
        """Speaker name → embedding index (``None`` for single-speaker models)."""
        self._ensure_assets()
        return self._speaker_ids

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [it["frames"] for it in dataset.items]  # type: ignore[attr-defined]

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return collate_tts(items)

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Items of any set, as this task trains on them."""
        raise NotImplementedError

    def train_dataset(self) -> Dataset:
        return self.dataset(self.conf.train_data, self.conf.train_feats)

    def valid_dataset(self) -> Optional[Dataset]:
        if not self.conf.valid_data:
            return None
        return self.dataset(self.conf.valid_data, self.conf.valid_feats or "")

    def load_assets(self, model_dir: Path) -> None:
        """The token list, stats and feature config of a model directory (``export_assets``'s copies)."""
        self._point_at(Path(model_dir))
        self._load_common(self.conf.token_list, self.conf.stats, self.conf.feats_conf)

    def export_assets(self, model_dir: Path) -> List[str]:
        self._ensure_assets()
        return self._export_common(Path(model_dir))


@TASKS.register("tts", config=TTSTaskConfig)
class TTSTask(SpeechTask):
    """FastSpeech-family training: teacher-forced durations, pitch and energy; masked losses."""

    config_class = TTSTaskConfig

    def __init__(self, conf: TTSTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        adaptor = getattr(model_conf, "adaptor", None)
        self.level = getattr(adaptor, "level", "token")
        self.need_variances = bool(getattr(adaptor, "use_pitch", True) or getattr(adaptor, "use_energy", True))
        self.speaker_vector_dim = int(getattr(model_conf, "speaker_vector_dim", 0)) if conf.speaker_vectors else 0
        if conf.speaker_vectors and self.speaker_vector_dim <= 0:
            fix = "set model_conf.speaker_vector_dim to the vectors' size" if hasattr(model_conf, "speaker_vector_dim") else "not supported"
            raise ConfigError(f"task_conf.speaker_vectors is true but model {model_name!r} takes no speaker vectors ({fix})")

    def _after_assets(self) -> None:
        if self.conf.speakers:
            spk = sorted(set(read_table(Path(self.conf.train_data) / "utt2spk").values()))
            self._speaker_ids = {s: i for i, s in enumerate(spk)}

    def variance_stats(self) -> VarianceStats:
        """Pitch and energy mean/std of ``stats.npz`` (``VarianceTTSInfo``); neutral (0, 1) for a model with neither
        predictor (FastSpeech), whose stats.npz may hold only the mel (a teacher's distilled mels)."""
        if not self.need_variances:
            return VarianceStats(0.0, 1.0, 0.0, 1.0)
        return VarianceStats(*scalar_stats(self.stats, "pitch"), *scalar_stats(self.stats, "energy"))

    def load_assets(self, model_dir: Path) -> None:
        super().load_assets(model_dir)
        if self.conf.speakers:
            names = [line for _, line in read_lines(Path(model_dir) / SPEAKERS_NAME)]
            self._speaker_ids = {s: i for i, s in enumerate(names)}

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Items of any set, as this task trains on them."""
        self._ensure_assets()
        return TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, self.level, self.speaker_ids,
                          need_variances=self.need_variances, speaker_vector_dim=self.speaker_vector_dim)

    def export_assets(self, model_dir: Path) -> List[str]:
        names = super().export_assets(model_dir)
        if self.speaker_ids:
            write_lines(Path(model_dir) / SPEAKERS_NAME, sorted(self.speaker_ids, key=self.speaker_ids.__getitem__))
            names.append(SPEAKERS_NAME)
        return names
