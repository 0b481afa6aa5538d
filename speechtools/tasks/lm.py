"""Language-model task (``task: lm``): text → a recogniser's output units, for shallow fusion.

The LM is trained on text alone, over exactly the recogniser's ``tokens.txt`` (ESPnet's layout:
``<blank>`` = 0, ``<unk>`` = 1, the units, ``<sos/eos>`` last; ``speechtools make-tokens DATA
--units NAME``) and units (:mod:`speechtools.text.asr_units`), so at decoding its
log-probabilities add to the recogniser's token for token (``lm_weight``).

Text (``text_format``):

* ``kaldi``: a Kaldi ``text`` file, ``uttid transcript`` per line (a line with only the id is an
  empty transcript);
* ``plain``: one sentence per line in a ``.txt`` or ``.txt.gz`` file, or in every ``.txt`` and
  ``.txt.gz`` file of a folder (in name order), for large text corpora.

Each sentence is normalised and split by the units (``units.tokenize``); a sentence that
normalises to nothing, or with more than ``max_units`` units, is skipped; units outside the
token list become ``<unk>``; the counts are printed on stderr. Items are compact: all sentences'
ids in one int16 (int32 for a vocabulary over 32,767 tokens) array plus an offset per sentence,
so millions of sentences fit in a few bytes per character. A batch (:meth:`LMTask.collate`):
``prev`` = ``<sos/eos>`` + y (padded with the blank id, which packing keeps out of valid
positions), ``prev_lengths``, ``target`` = y + ``<sos/eos>`` padded with ``-100``. The model
(``lstm_lm``) reads vocabulary size, ``<sos/eos>`` and blank ids through
:class:`~speechtools.models.task_info.LanguageModelInfo`; the loss is the model's own.

A model directory gets ``tokens.txt`` (and, for ``en_bpe``, the SentencePiece model as
``bpe.model``); with ``units`` in its ``config.yaml`` it is all decoding needs.
"""

from __future__ import annotations

import gzip
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Literal, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from speechtools.datasets.tts import export_asset
from speechtools.errors import UserError
from speechtools.tasks import TASKS
from speechtools.tasks.asr import BPE_MODEL_NAME, export_unit_model, point_at_unit_model
from speechtools.tasks.base import Task
from speechtools.text.asr_units import (
    BLANK, SOS_EOS, ASRUnits, EnglishPieceUnits, check_asr_token_list, check_units_config, get_asr_units,
)
from speechtools.text.tokens import TokenList

TOKENS_NAME = "tokens.txt"
IGNORE_ID = -100
PROGRESS_AFTER = 5000
"""Lines read before a progress bar appears (small files read silently)."""


@dataclass
class LMTaskConfig:
    """``task_conf`` of ``task: lm``.

    Attributes:
        train_text: training text (see ``text_format``).
        valid_text: validation text (``None``: no validation).
        text_format: ``kaldi`` (``uttid transcript`` lines) or ``plain`` (one sentence per line;
            a ``.txt``/``.txt.gz`` file or a folder of them).
        valid_text_format: the format of ``valid_text`` (``None``: ``text_format``), e.g. ``kaldi`` for a
            recipe's dev transcripts beside a plain training corpus, whose ids would otherwise be read as words.
        token_list: the recogniser's ``tokens.txt`` (``make-tokens --units``).
        units: output units (``en_char``, ``zh_char``, ``en_bpe``), those of the recogniser.
        bpe_model: the recogniser's SentencePiece model (``en_bpe``; empty for the other units).
        max_units: sentences with more units are skipped (counted).
    """

    train_text: str = ""
    valid_text: Optional[str] = None
    text_format: Literal["kaldi", "plain"] = "kaldi"
    valid_text_format: Optional[Literal["kaldi", "plain"]] = None
    token_list: str = ""
    units: str = "en_char"
    bpe_model: str = ""
    max_units: int = 400

    def __post_init__(self) -> None:
        check_units_config(self.units, self.bpe_model)
        if self.max_units < 1:
            raise ValueError(f"max_units must be >= 1, got {self.max_units}")


class UnitSequences(Dataset):
    """Sentences as unit ids: item ``k`` is ``ids[offsets[k]:offsets[k + 1]]`` (a NumPy view, no copy)."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray) -> None:
        self.ids = ids
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index]: self.offsets[index + 1]]

    def lengths(self) -> np.ndarray:
        """Units per sentence."""
        return np.diff(self.offsets)


def text_files(path: str, text_format: str) -> List[Path]:
    """The files of a ``train_text``/``valid_text`` entry; a missing path or an empty folder is a :class:`UserError`."""
    p = Path(path)
    if not p.exists():
        raise UserError("no such file or folder", p)
    if p.is_dir():
        if text_format != "plain":
            raise UserError("is a folder; a Kaldi text is one file (text_format: plain reads folders of .txt/.txt.gz)", p)
        files = sorted(f for f in p.iterdir() if f.is_file() and (f.name.endswith(".txt") or f.name.endswith(".txt.gz")))
        if not files:
            raise UserError("no .txt or .txt.gz files in this folder", p)
        return files
    return [p]


def _open(path: Path) -> IO[bytes]:
    try:
        return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot open ({exc.strerror or exc})", path) from None


def read_sentences(path: Path, text_format: str) -> Iterator[Tuple[int, str]]:
    """``(line number, sentence)`` of a text file, streamed (gzip by the ``.gz`` suffix).

    Kaldi: the transcript after the id ("" for an id alone); a blank line (no id) or invalid
    UTF-8 is a :class:`UserError` naming file and line.
    """
    number = 0
    try:
        with _open(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise UserError(f"not valid UTF-8 (byte {exc.start})", path, number) from None
                if text_format == "kaldi":
                    fields = line.split(maxsplit=1)
                    if not fields:
                        raise UserError("empty line: a Kaldi text line is 'uttid transcript'", path, number)
                    yield number, fields[1] if len(fields) > 1 else ""
                else:
                    yield number, line
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UserError(f"cannot read ({exc}): truncated or not a gzip file?", path, number + 1) from None


@dataclass
class ReadCounts:
    """What reading a text kept and skipped."""

    kept: int = 0
    empty: int = 0
    too_long: int = 0
    unknown_units: int = 0


def read_unit_sequences(paths: Sequence[Path], text_format: str, units: Any, tokens: TokenList, max_units: int,
                        progress: bool = True) -> Tuple[UnitSequences, ReadCounts]:
    """Tokenise every sentence of ``paths`` into ids of ``tokens`` (unknown units → ``<unk>``).

    Sentences that normalise to nothing or have more than ``max_units`` units are skipped and
    counted. ``<blank>`` and ``<sos/eos>`` are never targets: a unit spelled like them maps to
    ``<unk>``. A progress bar appears on stderr after :data:`PROGRESS_AFTER` lines.
    """
    from tqdm import tqdm

    unk = tokens.unk_id
    lookup = {t: i for t, i in tokens.index.items() if t not in (BLANK, SOS_EOS)}
    typecode, dtype = ("h", np.int16) if len(tokens) <= np.iinfo(np.int16).max else ("i", np.int32)
    ids = array(typecode)
    offsets = array("q", [0])
    counts = ReadCounts()
    bar = None
    lines = 0
    try:
        for path in paths:
            for _, sentence in read_sentences(path, text_format):
                lines += 1
                if progress and bar is None and lines >= PROGRESS_AFTER:
                    bar = tqdm(desc=f"reading {path.name}", unit=" lines", initial=lines, file=sys.stderr, mininterval=1.0)
                elif bar is not None and lines % 1000 == 0:
                    bar.update(1000)
                seq = units.tokenize(sentence)
                if not seq:
                    counts.empty += 1
                    continue
                if len(seq) > max_units:
                    counts.too_long += 1
                    continue
                row = [lookup.get(u, unk) for u in seq]
                counts.unknown_units += row.count(unk)
                ids.extend(row)
                offsets.append(len(ids))
                counts.kept += 1
    finally:
        if bar is not None:
            bar.close()
    data = np.frombuffer(ids, dtype=dtype).copy() if len(ids) else np.zeros(0, dtype=dtype)
    return UnitSequences(data, np.frombuffer(offsets, dtype=np.int64).copy()), counts


@TASKS.register("lm", config=LMTaskConfig)
class LMTask(Task):
    """Language model over a recogniser's units and ``tokens.txt`` (teacher-forced next-unit cross-entropy)."""

    config_class = LMTaskConfig

    def __init__(self, conf: LMTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self._tokens: Optional[TokenList] = None
        self._units: Optional[ASRUnits] = None

    @property
    def units(self) -> ASRUnits:
        """The recogniser's units (``task_conf.units``, with ``task_conf.bpe_model`` or the model directory's copy)."""
        if self._units is None:
            self._units = get_asr_units(self.conf.units, self.conf.bpe_model)
        return self._units

    @property
    def tokens(self) -> TokenList:
        """The recogniser's token list (``task_conf.token_list``, or the model directory's copy)."""
        if self._tokens is None:
            if not self.conf.token_list:
                raise UserError("task_conf.token_list: no token list given (build it with `speechtools make-tokens DATA --units NAME`)")
            tokens = TokenList.load(self.conf.token_list)
            check_asr_token_list(tokens, self.conf.token_list)
            self._tokens = tokens
        return self._tokens

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def sos_eos_id(self) -> int:
        return self.tokens.index[SOS_EOS]

    @property
    def blank_id(self) -> int:
        return 0

    def check_init_source(self, model_dir: Path) -> None:
        """Fine-tuning must keep the vocabulary and its segmentation: the source's ``tokens.txt`` (and
        ``bpe.model``) must equal ours."""
        theirs = Path(model_dir) / TOKENS_NAME
        if theirs.is_file() and TokenList.load(theirs).tokens != self.tokens.tokens:
            raise UserError("trainer.init_from: its tokens.txt differs from task_conf.token_list", model_dir)
        their_model = Path(model_dir) / BPE_MODEL_NAME
        if their_model.is_file() and EnglishPieceUnits.load(their_model).identity != self.units.identity:
            raise UserError("trainer.init_from: its bpe.model differs from task_conf.bpe_model", model_dir)

    def dataset(self, text: str, text_format: str) -> UnitSequences:
        """The sentences of ``text`` (a file or, for ``plain``, a folder) as unit ids; counts on stderr."""
        data, counts = read_unit_sequences(text_files(text, text_format), text_format, self.units, self.tokens,
                                           self.conf.max_units)
        print(f"lm: {text}: {counts.kept} sentences; skipped {counts.empty} empty and {counts.too_long} longer than "
              f"{self.conf.max_units} units; {counts.unknown_units} units mapped to <unk>", file=sys.stderr)
        if not len(data):
            raise UserError("no usable sentences (all empty or longer than max_units)", text)
        return data

    def train_dataset(self) -> Dataset:
        if not self.conf.train_text:
            raise UserError("task_conf.train_text: no training text given")
        return self.dataset(self.conf.train_text, self.conf.text_format)

    def valid_dataset(self) -> Optional[Dataset]:
        if not self.conf.valid_text:
            return None
        return self.dataset(self.conf.valid_text, self.conf.valid_text_format or self.conf.text_format)

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        """Units + 1 (the ``<sos/eos>`` each of ``prev`` and ``target`` adds)."""
        return dataset.lengths() + 1  # type: ignore[attr-defined, no-any-return]

    def collate(self, items: List[np.ndarray]) -> Dict[str, Any]:
        lengths = torch.tensor([len(y) + 1 for y in items], dtype=torch.long)
        width = int(lengths.max())
        prev = torch.full((len(items), width), self.blank_id, dtype=torch.long)
        target = torch.full((len(items), width), IGNORE_ID, dtype=torch.long)
        sos_eos = self.sos_eos_id
        for k, y in enumerate(items):
            row = torch.from_numpy(y.astype(np.int64))
            n = len(row)
            prev[k, 0] = sos_eos
            prev[k, 1: n + 1] = row
            target[k, :n] = row
            target[k, n] = sos_eos
        return {"prev": prev, "prev_lengths": lengths, "target": target}

    def export_assets(self, model_dir: Path) -> List[str]:
        """Copy the token list into the model directory as ``tokens.txt`` (and the SentencePiece model as ``bpe.model``)."""
        _ = self.tokens  # loads and checks the list before it is copied
        _ = self.units  # and the SentencePiece model
        return [export_asset(self.conf.token_list, model_dir, TOKENS_NAME)] + export_unit_model(self.conf, Path(model_dir))

    def load_assets(self, model_dir: Path) -> None:
        """Use the model directory's ``tokens.txt`` (and ``bpe.model``)."""
        self.conf.token_list = str(Path(model_dir) / TOKENS_NAME)
        point_at_unit_model(self.conf, model_dir)
        self._tokens = None
        self._units = None
        _ = self.tokens  # load and check them now, not at the first use
        _ = self.units
