"""``songmass``: MASS pre-training and supervised lyric<->melody training in one round-robin mix
(Sheng et al. 2021, Sec. 3; the reference trains all four at once, ``train.sh``).

Data: a folder written by ``speechtools music lyrics-melody`` (``mono/``, ``para/``). The lyric
vocabulary is built from the training lyrics (``mono/train.lyric`` and ``para/train.lyric``) and
saved in the model directory as ``lyric_tokens.txt``; the melody vocabulary is fixed
(:mod:`speechtools.music.song_vocab`).

Items of the kinds in ``task_conf.kinds`` are drawn together; a batch holds one *part* per kind
present (the model runs each part through its encoder/decoder pair). MASS items are masked
afresh each time they are drawn (randomness from the trainer-seeded torch generator);
validation items use a fixed per-item seed. Supervised items follow the reference's
``MusicMtDataset``: ``[align]`` removed, ``[sep]`` kept at each sentence end, ``</s>`` last (its own
sentence and word, so it attends to the source's ``</s>``); decoder input = ``</s>`` + target[:-1].
Sequences are cut at ``max_tokens`` (whole sentences kept where possible).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from speechtools.errors import UserError
from speechtools.fileio import read_lines
from speechtools.models.songmass import KINDS
from speechtools.music.mass_masking import mass_example
from speechtools.music.song_vocab import (EOS_ID, PAD_ID, SEP_ID, SongVocab, lyric_vocab, melody_vocab, sentence_ids,
                                          token_ranges)
from speechtools.nn.masks import pad_rows
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task

LYRIC_TOKENS = "lyric_tokens.txt"


@dataclass
class SongMASSTaskConfig:
    """Data folder, the kinds of items to train on, MASS masking and length limits."""

    data_dir: str = "data/songs"
    kinds: List[str] = field(default_factory=lambda: list(KINDS))
    mask_ratio: float = 0.25
    source_probs: List[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    decoder_probs: List[float] = field(default_factory=lambda: [0.1, 0.1, 0.8])
    max_tokens: int = 1000

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"kinds: {unknown or 'empty'}; choose from {', '.join(KINDS)}")
        for name in ("source_probs", "decoder_probs"):
            probs = getattr(self, name)
            if len(probs) != 3 or min(probs) < 0 or abs(sum(probs) - 1) > 1e-6:
                raise ValueError(f"{name} must be three probabilities (mask, random, keep) summing to 1")
        if not 0 < self.mask_ratio <= 1:
            raise ValueError("mask_ratio must lie in (0, 1]")
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")


Item = Dict[str, Any]


def read_token_file(path: Path) -> List[List[str]]:
    """Token lines of a data file (an empty file gives no lines; a missing one is a :class:`UserError`)."""
    if not path.is_file():
        raise UserError("no such data file (write the folder with `speechtools music lyrics-melody`)", path)
    return [line.split() for _, line in read_lines(path) if line.strip()]


def cut(ids: List[int], limit: int) -> List[int]:
    """At most ``limit`` ids, ending after the last ``[sep]`` that fits when there is one."""
    if len(ids) <= limit:
        return ids
    head = ids[:limit]
    ends = [k for k, t in enumerate(head) if t == SEP_ID]
    return head[: ends[-1] + 1] if ends else head


def with_eos(ids: List[int]) -> Tuple[List[int], List[int], List[int]]:
    """``(ids, sentence index, word index)`` of one side of a pair: ``[align]`` dropped, ``[sep]`` kept,
    ``</s>`` appended as a sentence and word of its own (index = number of ``[sep]``; one past the last word)."""
    marked = sentence_ids(ids)
    return (marked.ids + [EOS_ID], marked.sentences + [ids.count(SEP_ID)],
            marked.words + [(marked.words[-1] + 1) if marked.words else 0])


def supervised_item(kind: str, src: List[int], tgt: List[int]) -> Item:
    """A lyric<->melody pair as the reference's ``MusicMtDataset`` builds it (module docstring)."""
    source, source_sentences, source_words = with_eos(src)
    target, target_sentences, target_words = with_eos(tgt)
    return {"kind": kind, "source": source, "source_sentences": source_sentences, "source_words": source_words,
            "prev": [EOS_ID] + target[:-1], "target": target, "target_sentences": target_sentences,
            "target_words": target_words, "target_positions": list(range(len(target)))}


class SongMASSDataset(Dataset):
    """Items of every configured kind; MASS items are masked when drawn."""

    def __init__(self, entries: List[Tuple[str, List[int], Optional[List[int]]]], conf: SongMASSTaskConfig, lyric_size: int,
                 fixed_seed: Optional[int] = None) -> None:
        self.entries = entries
        self.conf = conf
        self.lyric_size = lyric_size
        self.fixed_seed = fixed_seed

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Item:
        kind, src, tgt = self.entries[index]
        if tgt is not None:
            return supervised_item(kind, src, tgt)
        seed = int(torch.randint(0, 2**31 - 1, ()).item()) if self.fixed_seed is None else self.fixed_seed * 1_000_003 + index
        melody = kind == "melody_mass"
        plain = sentence_ids(src, keep_sep=False)
        c = self.conf
        ex = mass_example(plain.ids, plain.sentences, token_ranges(melody, self.lyric_size), np.random.default_rng(seed),
                          c.mask_ratio, melody, c.source_probs, c.decoder_probs)
        return {"kind": kind, "source": ex.source, "source_sentences": ex.source_sentences, "prev": ex.prev, "target": ex.target,
                "target_sentences": ex.target_sentences, "target_positions": ex.target_positions}


PAD_VALUES = {"source": PAD_ID, "prev": PAD_ID, "target": PAD_ID, "source_sentences": -1, "target_sentences": -2,
              "source_words": -1, "target_words": -2, "target_positions": 0}


def collate_items(items: Sequence[Item]) -> Dict[str, Any]:
    """``{"parts": {kind: padded tensors}}``: items grouped by kind, each key right-padded (:data:`PAD_VALUES`)."""
    parts: Dict[str, Dict[str, torch.Tensor]] = {}
    for kind in KINDS:
        group = [i for i in items if i["kind"] == kind]
        if not group:
            continue
        part = {key: pad_rows([g[key] for g in group], value, torch.long) for key, value in PAD_VALUES.items() if key in group[0]}
        part["source_lengths"] = torch.tensor([len(g["source"]) for g in group])
        parts[kind] = part
    return {"parts": parts}


@TASKS.register("songmass", config=SongMASSTaskConfig)
class SongMASSTask(Task):
    """Lyric-to-melody and melody-to-lyric generation with MASS pre-training (SongMASS)."""

    config_class = SongMASSTaskConfig

    def __init__(self, conf: SongMASSTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self._lyric: Optional[SongVocab] = None
        self.melody = melody_vocab()

    @property
    def lyric(self) -> SongVocab:
        """The lyric vocabulary (built from the training lyrics, or the model directory's)."""
        if self._lyric is None:
            root = Path(self.conf.data_dir)
            self._lyric = lyric_vocab(read_token_file(root / "mono" / "train.lyric") + read_token_file(root / "para" / "train.lyric"))
        return self._lyric

    @property
    def lyric_vocab_size(self) -> int:
        return len(self.lyric)

    @property
    def melody_vocab_size(self) -> int:
        return len(self.melody)

    def vocab(self, modality: str) -> SongVocab:
        """The ``lyric`` or ``melody`` vocabulary."""
        return self.lyric if modality == "lyric" else self.melody

    def _entries(self, split: str, required: bool = True) -> List[Tuple[str, List[int], Optional[List[int]]]]:
        root = Path(self.conf.data_dir)
        limit = self.conf.max_tokens
        entries: List[Tuple[str, List[int], Optional[List[int]]]] = []
        for kind in self.conf.kinds:
            source, target = KINDS[kind]
            if source == target:
                lines = read_token_file(root / "mono" / f"{split}.{source}")
                entries += [(kind, cut(self.vocab(source).ids(line), limit), None) for line in lines]
            else:
                src_lines = read_token_file(root / "para" / f"{split}.{source}")
                tgt_lines = read_token_file(root / "para" / f"{split}.{target}")
                if len(src_lines) != len(tgt_lines):
                    raise UserError(f"{len(src_lines)} {source} lines but {len(tgt_lines)} {target} lines", root / "para")
                for s, t in zip(src_lines, tgt_lines):
                    entries.append((kind, *aligned_cut(self.vocab(source).ids(s), self.vocab(target).ids(t), limit)))
        if not entries and required:
            raise UserError(f"no {split} items for kinds {', '.join(self.conf.kinds)}", root)
        return entries

    def train_dataset(self) -> Dataset:
        return SongMASSDataset(self._entries("train"), self.conf, self.lyric_vocab_size)

    def valid_dataset(self) -> Optional[Dataset]:
        """The valid split's items (``None`` when a small corpus put no song there)."""
        entries = self._entries("valid", required=False)
        return SongMASSDataset(entries, self.conf, self.lyric_vocab_size, fixed_seed=0) if entries else None

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [max(len(s), len(t) if t is not None else 0) for _, s, t in dataset.entries]  # type: ignore[attr-defined]

    def collate(self, items: List[Item]) -> Dict[str, Any]:
        return collate_items(items)

    def export_assets(self, model_dir: Path) -> List[str]:
        """``lyric_tokens.txt`` (the melody list is fixed)."""
        self.lyric.save(model_dir / LYRIC_TOKENS)
        return [LYRIC_TOKENS]

    def load_assets(self, model_dir: Path) -> None:
        """Use the model directory's ``lyric_tokens.txt``."""
        self._lyric = SongVocab.load(model_dir / LYRIC_TOKENS)

    def check_init_source(self, model_dir: Path) -> None:
        """Supervised training from a pre-trained directory must keep its lyric vocabulary."""
        theirs = model_dir / LYRIC_TOKENS
        if theirs.is_file() and SongVocab.load(theirs).tokens != self.lyric.tokens:
            raise UserError("trainer.init_from: its lyric_tokens.txt differs from this data's lyric vocabulary", model_dir)


def aligned_cut(src: List[int], tgt: List[int], limit: int) -> Tuple[List[int], List[int]]:
    """Both sides cut to the same number of whole sentences, each within ``limit`` ids."""
    if len(src) <= limit and len(tgt) <= limit:
        return src, tgt
    a, b = cut(src, limit), cut(tgt, limit)
    n = min(a.count(SEP_ID), b.count(SEP_ID))
    if n == 0:
        return a, b
    def first(ids: List[int]) -> List[int]:
        ends = [k for k, t in enumerate(ids) if t == SEP_ID]
        return ids[: ends[n - 1] + 1]
    return first(a), first(b)
