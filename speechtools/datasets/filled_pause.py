"""Word sequences and filled-pause slot labels of a Kaldi data directory (AdaSpeech 3's filled-pause
predictor, arXiv 2107.02530, Sec. 3.1).

Any Kaldi data directory whose ``text`` marks filled pauses as tokens (``um``, ``<uh>``, ``[um]``,
the spellings of :class:`~speechtools.text.filled_pauses.FillerSpellings`) is training data: each
line becomes its words without the fillers and one label per slot
(:func:`~speechtools.text.filled_pauses.extract_labels`). Items are ``<s>`` + word ids (vocabulary
entries are :func:`~speechtools.text.filled_pauses.word_key` of the words; unknown words are
``<unk>``) and the labels.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch
from torch.utils.data import Dataset

from speechtools.data.kaldi import read_table
from speechtools.errors import PathLike, UserError
from speechtools.text.filled_pauses import FilledPauseLabels, FillerSpellings, extract_labels, word_key
from speechtools.text.tokens import PAD, UNK, TokenList

BOS = "<s>"
WORD_SPECIALS = (PAD, UNK, BOS)


def read_filled_pause_labels(data_dir: PathLike, fillers: FillerSpellings) -> Dict[str, FilledPauseLabels]:
    """Words and slot labels of every line of ``data_dir/text`` (empty transcripts are skipped)."""
    texts = read_table(Path(data_dir) / "text", allow_empty_value=True)
    return {uttid: extract_labels(text, fillers) for uttid, text in texts.items() if text.strip()}


def build_word_list(labelled: Sequence[FilledPauseLabels], min_count: int = 1) -> TokenList:
    """``<pad> <unk> <s>`` then every word key seen at least ``min_count`` times (most frequent first)."""
    counts = Counter(word_key(w) for item in labelled for w in item.words)
    return TokenList.build((k for k in counts.elements() if counts[k] >= min_count), specials=WORD_SPECIALS)


def encode_words(words: Sequence[str], vocabulary: TokenList) -> List[int]:
    """``<s>`` and the ids of the words' keys (``<unk>`` for unknown ones)."""
    return [vocabulary.index[BOS]] + vocabulary.encode([word_key(w) for w in words], unk="map")


class FilledPauseDataset(Dataset):
    """Items ``{uttid, words (1 + n,), labels (1 + n,)}`` of a data directory (module docstring)."""

    def __init__(self, data_dir: PathLike, vocabulary: TokenList, fillers: FillerSpellings) -> None:
        labelled = read_filled_pause_labels(data_dir, fillers)
        if not labelled:
            raise UserError("no transcripts", Path(data_dir) / "text")
        self.items: List[Dict[str, Any]] = [
            {"uttid": uttid, "words": torch.tensor(encode_words(item.words, vocabulary), dtype=torch.long),
             "labels": torch.tensor(item.labels, dtype=torch.long)}
            for uttid, item in labelled.items()
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        return self.items[index]


def collate_filled_pauses(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Pad items into ``words``, ``word_lengths``, ``labels`` (0 at padding) and ``uttids``."""
    lengths = torch.tensor([len(it["words"]) for it in items], dtype=torch.long)
    width = int(lengths.max()) if len(items) else 0
    words = torch.zeros(len(items), width, dtype=torch.long)
    labels = torch.zeros(len(items), width, dtype=torch.long)
    for b, it in enumerate(items):
        words[b, : len(it["words"])] = it["words"]
        labels[b, : len(it["labels"])] = it["labels"]
    return {"words": words, "word_lengths": lengths, "labels": labels, "uttids": [it["uttid"] for it in items]}
