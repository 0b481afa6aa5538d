"""Text-to-speech task for autoregressive acoustic models (Transformer TTS, FastSpeech's teacher).

Same data, assets and model directory as ``task: tts`` (:mod:`speechtools.tasks.tts`): a Kaldi
data directory with ``text``, a feature store with ``mel``, ``tokens.txt``, ``stats.npz`` and the
feature YAML; but no durations, pitch or energy are read: the model learns its own alignment
(encoder-decoder attention) from teacher-forced decoding, and the loss is the model's
``loss(out, mel, mel_lengths, token_lengths)`` (mel L1+L2 before/after the post-net, stop token,
optional guided attention).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
from torch.utils.data import Dataset

from speechtools.tasks import TASKS
from speechtools.tasks.tts import TTSDataset, TTSTask, TTSTaskConfig


@TASKS.register("tts_ar", config=TTSTaskConfig)
class TTSARTask(TTSTask):
    """Teacher-forced training of an autoregressive TTS model on (text, mel) pairs."""

    config_class = TTSTaskConfig

    def build_model(self) -> torch.nn.Module:
        from speechtools.models import MODELS

        entry = MODELS.get(self.model_name)
        n_speakers = len(self.speaker_ids) if self.speaker_ids else 1
        return entry.cls(self.model_conf, vocab_size=len(self.tokens), n_mels=self.feature_config.n_mels, n_speakers=n_speakers)

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Items ``{uttid, tokens, mel, speaker}`` of any set (no durations needed)."""
        return TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, "token", self.speaker_ids, need_durations=False)

    def train_dataset(self) -> Dataset:
        return self.dataset(self.conf.train_data, self.conf.train_feats)

    def valid_dataset(self) -> Optional[Dataset]:
        if not self.conf.valid_data:
            return None
        return self.dataset(self.conf.valid_data, self.conf.valid_feats or "")

    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        out = model(batch["tokens"], batch["token_lengths"], batch["mel"], batch["mel_lengths"], batch["speakers"])
        core = model.module if hasattr(model, "module") else model
        terms = core.loss(out, batch["mel"], batch["mel_lengths"], batch["token_lengths"])
        return terms["loss"], {k: float(v.detach()) for k, v in terms.items() if k != "loss"}
