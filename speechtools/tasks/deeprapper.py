"""DeepRapper lyrics language-model task (``task: deeprapper``).

Reads songs in the lyrics text format (:mod:`speechtools.music.lyrics`; ``music
prepare-lyrics`` writes ``train.txt``/``valid.txt``/``test.txt``, ``tokens.txt`` and
``rhymes.txt``), encodes each as DeepRapper's sequence (``[MASK]``, reversed lines with
``[SEP]``, ``[CLS]``; ``reverse: false`` for a left-to-right baseline) with rhyme, sentence,
intra-sentence position and beat ids under ``beat_mode``, and trains next-token prediction.
A song longer than ``max_length + 1`` tokens is cut into consecutive windows (stride
``max_length``, as the released code's ``stride``). A batch: the id streams of positions
``0..L-2`` (padded with ``<pad>``/0) and ``target`` = tokens ``1..L-1`` (padded ``-100``).
The model directory gets ``tokens.txt`` and ``rhymes.txt``; with ``lang``, ``beat_mode`` and
``reverse`` in its ``config.yaml`` that is all generation and scoring need.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from speechtools.datasets.tts import export_asset
from speechtools.errors import UserError
from speechtools.music.lyrics import BEAT_MODES, BeatMode, LyricsVocab, Song, encode_song, read_lyrics
from speechtools.music.rhyme import LANGUAGES, RhymeScheme, get_rhyme_scheme
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task

TOKENS_NAME = "tokens.txt"
RHYMES_NAME = "rhymes.txt"
IGNORE_ID = -100
STREAMS = ("tokens", "rhymes", "sentences", "positions", "beats")


@dataclass
class DeepRapperTaskConfig:
    """``task_conf`` of ``task: deeprapper``.

    Attributes:
        train_lyrics: training songs (lyrics text format).
        valid_lyrics: validation songs (``None``: no validation).
        token_list: ``tokens.txt`` of ``music prepare-lyrics``.
        rhyme_list: ``rhymes.txt`` of ``music prepare-lyrics``.
        lang: ``zh`` (characters, pinyin finals) or ``en`` (words, CMUdict rhymes).
        beat_mode: ``none``, ``global`` (tempo token) or ``local`` (``[BEAT]`` marks and beat ids).
        reverse: lines right to left (DeepRapper); ``false`` for a left-to-right baseline.
        max_length: tokens per training window (the model's context).
    """

    train_lyrics: str = ""
    valid_lyrics: Optional[str] = None
    token_list: str = ""
    rhyme_list: str = ""
    lang: Literal["zh", "en"] = "zh"
    beat_mode: BeatMode = "none"
    reverse: bool = True
    max_length: int = 1024

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {LANGUAGES}, got {self.lang!r}")
        if self.beat_mode not in BEAT_MODES:
            raise ValueError(f"beat_mode must be one of {BEAT_MODES}, got {self.beat_mode!r}")
        if self.max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {self.max_length}")


class SongWindows(Dataset):
    """Encoded song windows: item ``k`` is a dict of int64 arrays, one per id stream."""

    def __init__(self, items: List[Dict[str, np.ndarray]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        return self.items[index]


@TASKS.register("deeprapper", config=DeepRapperTaskConfig)
class DeepRapperTask(Task):
    """Next-token prediction over DeepRapper's reverse-order lyric sequences."""

    config_class = DeepRapperTaskConfig

    def __init__(self, conf: DeepRapperTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self._vocab: Optional[LyricsVocab] = None
        self._scheme: Optional[RhymeScheme] = None

    @property
    def vocab(self) -> LyricsVocab:
        """``tokens.txt`` and ``rhymes.txt`` (``task_conf`` paths, or the model directory's copies)."""
        if self._vocab is None:
            if not self.conf.token_list or not self.conf.rhyme_list:
                raise UserError("task_conf.token_list and task_conf.rhyme_list: give the files of `speechtools music prepare-lyrics`")
            self._vocab = LyricsVocab.load(self.conf.token_list, self.conf.rhyme_list)
        return self._vocab

    @property
    def scheme(self) -> RhymeScheme:
        """The rhyme classes of ``task_conf.lang``."""
        if self._scheme is None:
            self._scheme = get_rhyme_scheme(self.conf.lang)
        return self._scheme

    @property
    def vocab_size(self) -> int:
        return len(self.vocab.tokens)

    @property
    def pad_id(self) -> int:
        return self.vocab.tokens.pad_id

    @property
    def rhyme_count(self) -> int:
        return self.vocab.rhyme_count

    def encode(self, song: Song) -> Dict[str, List[int]]:
        """A song's id streams under this task's ``beat_mode`` and ``reverse``."""
        return self.vocab.encode(encode_song(song, self.conf.beat_mode, self.conf.reverse), self.scheme)

    def windows(self, songs: Sequence[Song]) -> SongWindows:
        """Every song encoded and cut into windows of at most ``max_length + 1`` tokens."""
        items: List[Dict[str, np.ndarray]] = []
        step = self.conf.max_length
        for song in songs:
            ids = self.encode(song)
            total = len(ids["tokens"])
            for start in range(0, total - 1, step):
                items.append({k: np.asarray(v[start: start + step + 1], dtype=np.int64) for k, v in ids.items()})
        return SongWindows(items)

    def dataset(self, path: str) -> SongWindows:
        """The songs of a lyrics file as windows; counts on stderr."""
        songs = read_lyrics(path, self.conf.lang)
        data = self.windows(songs)
        print(f"deeprapper: {path}: {len(songs)} songs, {len(data)} windows", file=sys.stderr)
        return data

    def train_dataset(self) -> Dataset:
        if not self.conf.train_lyrics:
            raise UserError("task_conf.train_lyrics: no training lyrics given")
        return self.dataset(self.conf.train_lyrics)

    def valid_dataset(self) -> Optional[Dataset]:
        return self.dataset(self.conf.valid_lyrics) if self.conf.valid_lyrics else None

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        """Input positions per window (its tokens minus one)."""
        return [len(item["tokens"]) - 1 for item in dataset.items]  # type: ignore[attr-defined]

    def collate(self, items: List[Dict[str, np.ndarray]]) -> Dict[str, Any]:
        width = max(len(item["tokens"]) for item in items) - 1
        batch = {name: torch.zeros(len(items), width, dtype=torch.long) for name in STREAMS}
        batch["tokens"].fill_(self.pad_id)
        target = torch.full((len(items), width), IGNORE_ID, dtype=torch.long)
        for k, item in enumerate(items):
            n = len(item["tokens"]) - 1
            for name in STREAMS:
                batch[name][k, :n] = torch.from_numpy(item[name][:-1])
            target[k, :n] = torch.from_numpy(item["tokens"][1:])
        batch["target"] = target
        return batch

    def export_assets(self, model_dir: Path) -> List[str]:
        """Copy ``tokens.txt`` and ``rhymes.txt`` into the model directory."""
        _ = self.vocab  # loads and checks them before they are copied
        return [export_asset(self.conf.token_list, model_dir, TOKENS_NAME), export_asset(self.conf.rhyme_list, model_dir, RHYMES_NAME)]

    def load_assets(self, model_dir: Path) -> None:
        """Use the model directory's ``tokens.txt`` and ``rhymes.txt``."""
        self.conf.token_list = str(Path(model_dir) / TOKENS_NAME)
        self.conf.rhyme_list = str(Path(model_dir) / RHYMES_NAME)
        self._vocab = None
        _ = self.vocab


@torch.inference_mode()
def lyrics_perplexity(task: DeepRapperTask, model: torch.nn.Module, songs: Sequence[Song], device: torch.device,
                      batch_size: int = 8) -> float:
    """Per-token perplexity ``exp(−Σ log p / N)`` of the songs' sequences under the model (every
    target token counted: characters or words, ``[SEP]``, ``[BEAT]``, ``[CLS]``)."""
    from tqdm import tqdm

    from speechtools.models.deeprapper import sequence_log_probs

    windows = task.windows(songs).items
    total = torch.zeros(2, dtype=torch.float64)
    starts = range(0, len(windows), batch_size)
    for start in tqdm(starts, desc="perplexity", unit=" batches", disable=len(starts) < 20):
        batch = {k: v.to(device) for k, v in task.collate(windows[start: start + batch_size]).items()}
        part = sequence_log_probs(model, batch)  # type: ignore[arg-type]
        if part is not None:
            total += part.double().cpu()
    if total[1] == 0:
        raise UserError("no tokens to score")
    return float(torch.exp(-total[0] / total[1]))
