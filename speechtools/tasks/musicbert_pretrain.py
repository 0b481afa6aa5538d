"""``musicbert_pretrain``: masked octuple modelling with bar-level masking (MusicBERT Sec. 3.3).

Data: a sequence store of pre-training windows (``speechtools midi prepare`` writes
``pretrain/{train,valid}.npz``). Each training item is masked afresh every time it is drawn
(:mod:`speechtools.music.masking`, randomness from the trainer-seeded torch generator, so a
resumed run continues identically); validation items use a fixed per-item seed.

Loss: cross-entropy of the 8 field heads over the masked tokens (the reference's
``masked_lm`` criterion), averaged over masked tokens of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from speechtools.models.musicbert import ids_to_head_targets
from speechtools.music import vocab as V
from speechtools.music.masking import apply_mask, mask_decisions
from speechtools.music.tasks_data import SequenceStore
from speechtools.tasks import TASKS
from speechtools.tasks.base import LossStats, Task


@dataclass
class MusicBERTPretrainConfig:
    """Data paths and masking hyper-parameters (defaults = the reference's)."""

    train: str = "data/prepared/pretrain/train.npz"
    valid: Optional[str] = "data/prepared/pretrain/valid.npz"
    mask_strategy: Literal["bar", "element", "compound"] = "bar"
    mask_prob: float = 0.15
    leave_unmasked_prob: float = 0.1
    random_token_prob: float = 0.1

    def __post_init__(self) -> None:
        for name in ("mask_prob", "leave_unmasked_prob", "random_token_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if self.leave_unmasked_prob + self.random_token_prob > 1.0:
            raise ValueError("leave_unmasked_prob + random_token_prob must be <= 1")


class MaskedOctupleDataset(Dataset):
    """Items ``(masked inputs (T, 8), targets (T, 8))``; targets are ``<pad>`` where not predicted."""

    def __init__(self, store: SequenceStore, conf: MusicBERTPretrainConfig, fixed_seed: Optional[int] = None) -> None:
        self.store = store
        self.conf = conf
        self.fixed_seed = fixed_seed

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        if self.fixed_seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        else:
            seed = self.fixed_seed * 1_000_003 + index
        rng = np.random.default_rng(seed)
        ids = self.store.sequences[index]
        c = self.conf
        decisions = mask_decisions(ids, rng, c.mask_strategy, c.mask_prob, c.leave_unmasked_prob, c.random_token_prob)
        return apply_mask(ids, decisions, rng)


def pad_octuples(seqs: Sequence[np.ndarray], value: int = V.PAD_ID) -> torch.Tensor:
    """Stack (T_i, 8) arrays into (B, max T, 8), padding with ``value``."""
    longest = max(len(s) for s in seqs)
    out = np.full((len(seqs), longest, 8), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return torch.from_numpy(out)


@TASKS.register("musicbert_pretrain", config=MusicBERTPretrainConfig)
class MusicBERTPretrainTask(Task):
    """Masked language modelling on OctupleMIDI windows."""

    config_class = MusicBERTPretrainConfig

    def train_dataset(self) -> Dataset:
        return MaskedOctupleDataset(SequenceStore.load(self.conf.train), self.conf)

    def valid_dataset(self) -> Optional[Dataset]:
        if not self.conf.valid:
            return None
        return MaskedOctupleDataset(SequenceStore.load(self.conf.valid), self.conf, fixed_seed=0)

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [len(s) for s in dataset.store.sequences]  # type: ignore[attr-defined]

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return {"inputs": pad_octuples([i for i, _ in items]), "targets": pad_octuples([t for _, t in items])}

    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, LossStats]:
        """Cross-entropy of the 8 field heads over the masked tokens; statistics ``accuracy`` and ``masked`` (0-dim tensors)."""
        logits = model(batch["inputs"], head="mlm")
        targets = ids_to_head_targets(batch["targets"])
        total = torch.zeros((), device=targets.device)
        correct = torch.zeros((), device=targets.device)
        count = targets.ne(V.PAD_ID).sum()
        for j, field_logits in enumerate(logits):
            t = targets[..., j]
            total = total + F.cross_entropy(field_logits.reshape(-1, field_logits.size(-1)).float(), t.reshape(-1), ignore_index=V.PAD_ID, reduction="sum")
            correct = correct + ((field_logits.argmax(-1) == t) & t.ne(V.PAD_ID)).sum()
        n = count.clamp(min=1)
        loss = total / n
        return loss, {"accuracy": (correct / n).detach(), "masked": count.to(loss.dtype)}
