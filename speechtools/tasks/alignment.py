"""Alignment-learning task: trains :class:`speechtools.align.aligner.Aligner` on (text, mel) pairs.

Same data layout as the TTS task but without durations (they are what this task produces):
a Kaldi data directory with ``text`` and a feature store with ``mel``. The model directory
gets ``tokens.txt``, ``stats.npz`` and ``feats.yaml`` so that ``speechtools align durations``
can tokenise and normalise exactly as in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch.utils.data import Dataset

from speechtools.tasks import TASKS
from speechtools.tasks.base import Task
from speechtools.tasks.tts import TTSDataConfig, TTSDataset, _AssetsMixin, collate_tts


@dataclass
class AlignmentTaskConfig(TTSDataConfig):
    """``task_conf`` of ``task: alignment``: the data of :class:`speechtools.tasks.tts.TTSDataConfig`."""


@TASKS.register("alignment", config=AlignmentTaskConfig)
class AlignmentTask(_AssetsMixin, Task):
    """Forward-sum + bin loss training of the aligner (arXiv 2108.10447)."""

    config_class = AlignmentTaskConfig

    def __init__(self, conf: AlignmentTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)

    def load_assets(self, model_dir: Path) -> None:
        self._point_at(Path(model_dir))
        self._load_common(self.conf.token_list, self.conf.stats, self.conf.feats_conf)

    def build_model(self) -> torch.nn.Module:
        from speechtools.models import MODELS

        self._ensure_assets()
        entry = MODELS.get(self.model_name)
        return entry.cls(self.model_conf, vocab_size=len(self.tokens), n_mels=self.feature_config.n_mels)

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Text + normalised mel items of any set (no durations needed)."""
        self._ensure_assets()
        return TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, "token", need_durations=False)

    def train_dataset(self) -> Dataset:
        return self.dataset(self.conf.train_data, self.conf.train_feats)

    def valid_dataset(self) -> Optional[Dataset]:
        if not self.conf.valid_data:
            return None
        return self.dataset(self.conf.valid_data, self.conf.valid_feats or "")

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [it["frames"] for it in dataset.items]  # type: ignore[attr-defined]

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return collate_tts(items)

    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        core = model.module if hasattr(model, "module") else model
        out = model(batch["tokens"], batch["token_lengths"], batch["mel"], batch["mel_lengths"])
        terms = core.loss(out, batch["token_lengths"], batch["mel_lengths"])
        return terms["loss"], {k: float(v.detach()) for k, v in terms.items() if k != "loss"}

    def export_assets(self, model_dir: Path) -> None:
        self._ensure_assets()
        self._export_common(Path(model_dir))
