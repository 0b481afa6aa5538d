"""``music_classification``: fine-tune MusicBERT on sequence or sequence-pair classification.

Covers the paper's understanding tasks (MusicBERT Sec. 4): song classification (genre/style in
the paper; composer or mode on our corpus) and the two ranking tasks, which the reference
trains as binary classification of (query, candidate) pairs and evaluates by ranking the
candidates of a group by P(true) (:mod:`speechtools.scoring.ranking`).

Data: sequence stores from ``speechtools midi prepare`` (``labels`` = class index; ``classes``
= class names, exported to ``classes.txt``). Fine-tuning starts from a pre-trained model with
``trainer.init_from: {path: ..., strict: false}`` (``conf/music/finetune.yaml``): the weights
whose names and shapes match load, the classification head starts fresh. The model is the
one the config names (built through the registry). Loss: cross-entropy, mean over items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from speechtools.errors import ConfigError, UserError
from speechtools.fileio import read_lines, write_lines
from speechtools.music.tasks_data import SequenceStore
from speechtools.tasks import TASKS
from speechtools.tasks.base import LossStats, Task
from speechtools.tasks.musicbert_pretrain import pad_octuples

CLASSES_NAME = "classes.txt"


@dataclass
class MusicClassificationConfig:
    """Data paths (pre-trained initialisation is ``trainer.init_from``)."""

    train: str = "data/prepared/classification/train.npz"
    valid: Optional[str] = None


class LabelledSequences(Dataset):
    """Items ``(ids (T, 8), label)``."""

    def __init__(self, store: SequenceStore) -> None:
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, int]:
        return self.store.sequences[index], self.store.labels[index]


@TASKS.register("music_classification", config=MusicClassificationConfig)
class MusicClassificationTask(Task):
    """Sequence (pair) classification with MusicBERT's ``<s>`` representation."""

    config_class = MusicClassificationConfig

    def __init__(self, conf: Any, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        if getattr(model_conf, "num_classes", 0) < 2:
            raise ConfigError("music_classification needs model_conf.num_classes >= 2")
        self.classes: List[str] = []

    def _store(self, path: str) -> SequenceStore:
        store = SequenceStore.load(path)
        bad = [l for l in store.labels if not 0 <= l < self.model_conf.num_classes]
        if bad:
            raise UserError(f"label {bad[0]} outside 0..{self.model_conf.num_classes - 1} (model_conf.num_classes)", path)
        if store.classes:
            self.classes = list(store.classes)
        return store

    def train_dataset(self) -> Dataset:
        return LabelledSequences(self._store(self.conf.train))

    def valid_dataset(self) -> Optional[Dataset]:
        return LabelledSequences(self._store(self.conf.valid)) if self.conf.valid else None

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [len(s) for s in dataset.store.sequences]  # type: ignore[attr-defined]

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return {"tokens": pad_octuples([s for s, _ in items]), "labels": torch.tensor([l for _, l in items], dtype=torch.long)}

    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, LossStats]:
        """Cross-entropy over the classes; statistic ``accuracy`` (a 0-dim tensor)."""
        logits = model(batch["tokens"], head="classify").float()
        loss = F.cross_entropy(logits, batch["labels"])
        accuracy = (logits.argmax(-1) == batch["labels"]).float().mean()
        return loss, {"accuracy": accuracy.detach()}

    def export_assets(self, model_dir: Path) -> List[str]:
        if not self.classes:
            return []
        write_lines(Path(model_dir) / CLASSES_NAME, self.classes)
        return [CLASSES_NAME]

    def load_assets(self, model_dir: Path) -> None:
        path = Path(model_dir) / CLASSES_NAME
        if path.is_file():
            self.classes = [line for _, line in read_lines(path)]


def predict_probabilities(model: torch.nn.Module, store: SequenceStore, batch_size: int, device: torch.device) -> np.ndarray:
    """Class probabilities (n, C) for every sequence of ``store``, batched by length."""
    order = np.argsort([len(s) for s in store.sequences], kind="stable")
    out = np.zeros((len(store), 0), dtype=np.float32)
    chunks = []
    model.eval()
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), batch_size), desc="predict", unit="batch"):
            idx = order[start : start + batch_size]
            tokens = pad_octuples([store.sequences[i] for i in idx]).to(device)
            chunks.append((idx, torch.softmax(model(tokens, head="classify").float(), dim=-1).cpu().numpy()))
    if chunks:
        out = np.zeros((len(store), chunks[0][1].shape[1]), dtype=np.float32)
        for idx, probs in chunks:
            out[idx] = probs
    return out
