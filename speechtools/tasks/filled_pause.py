"""``task: filled_pause``: train AdaSpeech 3's word-level filled-pause predictor (arXiv 2107.02530, Sec. 3.1)
on any Kaldi data directory whose transcripts mark filled pauses as tokens.

Data: ``task_conf.train_data`` (and ``valid_data``): Kaldi data directories; only ``text`` is read
(:mod:`speechtools.datasets.filled_pause`). The filler classes and their spellings are
``task_conf.fillers`` (default ``um`` and ``uh`` with ``<um>``, ``[uh]``... spellings); the word
vocabulary is built from the training transcripts (``min_count``) and exported as ``words.txt``;
the fillers stay in the model directory's ``config.yaml``. The loss is the model's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from torch.utils.data import Dataset

from speechtools.datasets.filled_pause import (
    FilledPauseDataset, build_word_list, collate_filled_pauses, read_filled_pause_labels,
)
from speechtools.errors import UserError
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task
from speechtools.text.filled_pauses import DEFAULT_FILLERS, FillerSpellings
from speechtools.text.tokens import TokenList

WORDS_NAME = "words.txt"


def _default_fillers() -> Dict[str, List[str]]:
    return {name: list(spellings) for name, spellings in DEFAULT_FILLERS.items()}


@dataclass
class FilledPauseTaskConfig:
    """``task_conf`` of ``task: filled_pause``.

    Attributes:
        train_data, valid_data: Kaldi data directories (``text`` with filled pauses as tokens).
        fillers: filler classes in label order and their spellings (case-insensitive; the class
            name is also a spelling and what synthesis inserts).
        min_count: training-set count below which a word is ``<unk>``.
    """

    train_data: str = "data/train"
    valid_data: Optional[str] = None
    fillers: Dict[str, List[str]] = field(default_factory=_default_fillers)
    min_count: int = 1

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")
        FillerSpellings(self.fillers)  # ValueError naming the bad spelling


@TASKS.register("filled_pause", config=FilledPauseTaskConfig)
class FilledPauseTask(Task):
    """Word sequences → per-slot filler classes (``FilledPauseInfo``: vocabulary size, filler classes)."""

    config_class = FilledPauseTaskConfig

    def __init__(self, conf: FilledPauseTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self.fillers = FillerSpellings(conf.fillers)
        self._words: Optional[TokenList] = None

    @property
    def words(self) -> TokenList:
        """The word vocabulary (built from ``train_data`` on first use, or loaded from a model directory)."""
        if self._words is None:
            labelled = list(read_filled_pause_labels(self.conf.train_data, self.fillers).values())
            if not any(any(item.labels) for item in labelled):
                spellings = ", ".join(sorted(self.fillers.spellings))
                raise UserError(f"no filled pause in the transcripts (task_conf.fillers spellings: {spellings})",
                                Path(self.conf.train_data) / "text")
            self._words = build_word_list(labelled, self.conf.min_count)
        return self._words

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def n_fillers(self) -> int:
        return len(self.fillers.names)

    def train_dataset(self) -> Dataset:
        return FilledPauseDataset(self.conf.train_data, self.words, self.fillers)

    def valid_dataset(self) -> Optional[Dataset]:
        return FilledPauseDataset(self.conf.valid_data, self.words, self.fillers) if self.conf.valid_data else None

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [len(it["words"]) for it in dataset.items]  # type: ignore[attr-defined]

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return collate_filled_pauses(items)

    def export_assets(self, model_dir: Path) -> List[str]:
        self.words.save(Path(model_dir) / WORDS_NAME)
        return [WORDS_NAME]

    def load_assets(self, model_dir: Path) -> None:
        self._words = TokenList.load(Path(model_dir) / WORDS_NAME)
