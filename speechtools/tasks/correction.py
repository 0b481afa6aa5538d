"""``correction`` task: train FastCorrect or the AR corrector on ``source<TAB>target`` pairs.

Items are built once: both sides tokenised (:mod:`speechtools.correction.tokenizer`), aligned
with the FastCorrect edit alignment (:mod:`speechtools.correction.edit_alignment`) for the
durations and "is edited" labels. A pair whose source is empty but target is not cannot be
expressed by durations; such pairs are skipped and counted in a warning (never silently).
Each batch carries what both correctors train on; the model takes what it needs
(``model(**batch)``, ``model.loss(out, **batch)``). A model that reads several candidates
(``reads_n_best``, FastCorrect 2) gets n-best items instead: the source field is
``cand1 ||| cand2 ||| ...`` (``speechtools correct noise --n-best N`` writes such pairs), aligned
into rows of equal length with ``<void>`` (appended to the vocabulary when ``tokens.txt`` lacks
it) and one row of durations per candidate (:func:`build_nbest_items`). Fine-tuning after pre-training starts
from ``trainer.init_from`` (a pre-training model directory with the same ``tokens.txt``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from speechtools.correction.edit_alignment import align_durations
from speechtools.correction.multi_alignment import (TSV_SEPARATOR, VOID, MultiAlignment, PronunciationDistance, align_candidates,
                                                   candidate_targets, fit_to_n)
from speechtools.correction.pairs import read_pairs
from speechtools.correction.tokenizer import Tokenizer, Vocabulary, tokens_path
from speechtools.errors import UserError
from speechtools.models import MODELS
from speechtools.nn.masks import pad_rows
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task

Item = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``(source ids, target ids, durations, edited)``; for an n-best model the source, durations and
edited arrays are ``(n, W)`` (aligned candidate rows)."""


@dataclass
class CorrectionTaskConfig:
    """Data and decoding options of the correction task.

    Attributes:
        lang: ``en`` (words, character fallback) or ``zh`` (characters).
        train: ``source<TAB>target`` files to train on (concatenated).
        valid: a validation pair file ("" = none).
        tokens: ``tokens.txt`` built with ``speechtools correct vocab``.
        max_len: pairs with more tokens on either side are skipped (counted in a warning).
        beam_size: AR beam width at inference.
        edit_threshold: FastCorrect only: copy tokens whose edit probability is below this
            (0 disables the gate; the paper decodes without it).
        copy_oov_words: FastCorrect only: copy words outside the vocabulary (spelled in
            character pieces) unchanged, like unknown tokens (not in the paper, whose
            vocabulary has no character fallback; off lets the model edit single pieces).
    """

    lang: str = "en"
    train: List[str] = field(default_factory=list)
    valid: str = ""
    tokens: str = ""
    max_len: int = 256
    beam_size: int = 5
    edit_threshold: float = 0.0
    copy_oov_words: bool = True

    def __post_init__(self) -> None:
        if self.lang not in ("en", "zh"):
            raise ValueError(f"lang must be en or zh, got {self.lang!r}")


class PairDataset(Dataset):
    """Tokenised, aligned pairs: ``(source ids, target ids, durations, edited)``."""

    def __init__(self, items: List[Item]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Item:
        return self.items[index]


def build_items(pairs: Sequence[Tuple[str, str]], tokenizer: Tokenizer, max_len: int, source: str = "") -> List[Item]:
    """Tokenise and align pairs (Sec. 3.1 durations; edited = not mapped to exactly one identical token)."""
    toks = [(tokenizer.tokenize(s), tokenizer.tokenize(t)) for s, t in pairs]
    keep = [k for k, (s, t) in enumerate(toks) if s and t and len(s) <= max_len and len(t) <= max_len]
    skipped = len(toks) - len(keep)
    if skipped:
        warnings.warn(f"{source}: skipped {skipped} of {len(toks)} pairs (empty side or longer than {max_len} tokens)", stacklevel=2)
    kept = [toks[k] for k in keep]
    durations = align_durations(kept)
    items: List[Item] = []
    vocab = tokenizer.vocab
    for (s, t), d in zip(kept, durations):
        pos = np.concatenate([[0], np.cumsum(d)[:-1]]).astype(np.int64)
        same = np.array([dk == 1 and t[p] == tok for tok, dk, p in zip(s, d, pos)], dtype=bool)
        items.append((np.array(vocab.ids(s)), np.array(vocab.ids(t)), np.array(d, dtype=np.int64), (~same).astype(np.float32)))
    return items


def _pad_blocks(blocks: Sequence[np.ndarray], value: float, dtype: torch.dtype) -> torch.Tensor:
    """``(len(blocks), rows, longest)`` tensor of ``(rows, width)`` arrays, right-padded with ``value``."""
    out = torch.full((len(blocks), blocks[0].shape[0], max(b.shape[1] for b in blocks)), value, dtype=dtype)
    for k, block in enumerate(blocks):
        out[k, :, : block.shape[1]] = torch.as_tensor(block, dtype=dtype)
    return out


def split_candidates(source: str) -> List[str]:
    """The non-empty candidates of an n-best source field (``cand1 ||| cand2 ||| ...``)."""
    return [c for c in (" ".join(part.split()) for part in source.split(TSV_SEPARATOR)) if c]


def build_nbest_items(pairs: Sequence[Tuple[str, str]], tokenizer: Tokenizer, max_len: int, n: int, source: str = "") -> List[Item]:
    """Aligned n-best items for FastCorrect 2: ``(rows (n, W), target, durations (n, W), edited (n, W))``.

    The source field holds the candidates joined by ``|||`` (one candidate = a plain pair). They
    are tokenised, brought to ``n`` with :func:`~speechtools.correction.multi_alignment.fit_to_n`
    (repeat the last / truncate), aligned with
    :func:`~speechtools.correction.multi_alignment.align_candidates` and given their durations
    with :func:`~speechtools.correction.multi_alignment.candidate_targets` (``<void>`` → 0);
    ``edited`` is 1 where a cell is not a token mapped to exactly one identical target token
    (``<void>`` included). Empty candidates are dropped; a pair with no candidate left, an empty
    target, a side or an aligned row longer than ``max_len``, or a candidate containing
    ``<void>`` is skipped and counted in a warning.
    """
    distance = PronunciationDistance(tokenizer.lang)
    vocab = tokenizer.vocab
    items: List[Item] = []
    skipped = 0
    aligned: List[Tuple[MultiAlignment, List[str]]] = []
    for src, tgt in tqdm(pairs, desc="align n-best", unit="pair", leave=False, disable=len(pairs) < 1000):
        cands = [tokenizer.tokenize(c) for c in split_candidates(src)]
        cands = [c for c in cands if c]
        target = tokenizer.tokenize(tgt)
        if not cands or not target or len(target) > max_len or any(len(c) > max_len or VOID in c for c in cands):
            skipped += 1
            continue
        alignment = align_candidates(fit_to_n(cands, n), distance=distance)
        if alignment.width > max_len:
            skipped += 1
            continue
        aligned.append((alignment, target))
    # every candidate's edit alignment to its target in one vectorised pass
    plain = align_durations([(alignment.tokens(c), target) for alignment, target in aligned for c in range(len(alignment.rows))])
    offset = 0
    for alignment, target in aligned:
        targets = candidate_targets(alignment, target, tokenizer.lang, plain[offset: offset + len(alignment.rows)])
        offset += len(alignment.rows)
        rows = np.array([vocab.ids(row) for row in alignment.rows], dtype=np.int64)
        edited = (np.array(targets.signed) != 1).astype(np.float32)
        items.append((rows, np.array(vocab.ids(target)), np.array(targets.durations, dtype=np.int64), edited))
    if skipped:
        warnings.warn(f"{source}: skipped {skipped} of {len(pairs)} n-best pairs (no candidate, empty target, "
                      f"longer than {max_len} tokens or containing {VOID})", stacklevel=2)
    return items


@TASKS.register("correction", config=CorrectionTaskConfig)
class CorrectionTask(Task):
    """ASR error correction (FastCorrect, Leng et al. 2021; AR Transformer baseline)."""

    def __init__(self, conf: CorrectionTaskConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self._tokenizer: Optional[Tokenizer] = None

    @property
    def reads_n_best(self) -> bool:
        """Whether the model class declares ``reads_n_best`` (FastCorrect 2; no branch on its name)."""
        return bool(getattr(MODELS.get(self.model_name).cls, "reads_n_best", False))

    @property
    def n_candidates(self) -> int:
        """Candidates per input the model reads: its config's ``n_candidates`` for an n-best model, else 1."""
        return int(self.model_conf.n_candidates) if self.reads_n_best else 1

    def _with_void(self, tokenizer: Tokenizer) -> Tokenizer:
        """An n-best model's vocabulary needs :data:`~speechtools.correction.multi_alignment.VOID`:
        appended when ``tokens.txt`` lacks it (the model directory's copy then has it)."""
        if self.reads_n_best and VOID not in tokenizer.vocab:
            return Tokenizer(Vocabulary(tokenizer.vocab.tokens + [VOID]), tokenizer.lang)
        return tokenizer

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            if not self.conf.tokens:
                raise UserError("task_conf.tokens: no token list given (build one with `speechtools correct vocab`)")
            self._tokenizer = self._with_void(Tokenizer.load(self.conf.tokens, self.conf.lang))
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer.vocab)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.vocab.pad

    @property
    def bos_id(self) -> int:
        return self.tokenizer.vocab.bos

    @property
    def eos_id(self) -> int:
        return self.tokenizer.vocab.eos

    def check_init_source(self, model_dir: Path) -> None:
        """Fine-tuning must keep the pre-training vocabulary: the source's ``tokens.txt`` must equal ours."""
        theirs = tokens_path(model_dir)
        if theirs.is_file() and Vocabulary.load(theirs).tokens != self.tokenizer.vocab.tokens:
            raise UserError("trainer.init_from: its tokens.txt differs from task_conf.tokens (fine-tune with the pre-training vocabulary)", model_dir)

    def _dataset(self, paths: Sequence[str]) -> PairDataset:
        items: List[Item] = []
        n = self.n_candidates
        for path in paths:
            if self.reads_n_best:
                items.extend(build_nbest_items(read_pairs(path), self.tokenizer, self.conf.max_len, n, path))
            else:
                items.extend(build_items(read_pairs(path), self.tokenizer, self.conf.max_len, path))
        if not items:
            raise UserError(f"no usable sentence pairs in {', '.join(paths)}")
        return PairDataset(items)

    def train_dataset(self) -> Dataset:
        if not self.conf.train:
            raise UserError("task_conf.train: no training pair files given")
        return self._dataset(self.conf.train)

    def valid_dataset(self) -> Optional[Dataset]:
        return self._dataset([self.conf.valid]) if self.conf.valid else None

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        # an n-best item (rows, width) costs one decoder pass per row
        return [(max(s.shape[-1], len(t)) + 1) * (s.shape[0] if s.ndim == 2 else 1) for s, t, _, _ in dataset.items]  # type: ignore[attr-defined]

    def collate(self, items: List[Item]) -> Dict[str, Any]:
        """Pad a batch. n-best items give ``src``, ``durations`` and ``edited`` of shape
        ``(B, n, W)`` (``src_lengths`` = the aligned width); single ones ``(B, S)``."""
        vocab = self.tokenizer.vocab
        if items[0][0].ndim == 2:
            return self._collate_nbest(items)
        src = pad_rows([s for s, _, _, _ in items], vocab.pad, torch.long)
        tgt = pad_rows([t for _, t, _, _ in items], vocab.pad, torch.long)
        with_bos = [np.concatenate([[vocab.bos], t]) for _, t, _, _ in items]
        with_eos = [np.concatenate([t, [vocab.eos]]) for _, t, _, _ in items]
        return {
            "src": src,
            "src_lengths": torch.tensor([len(s) for s, _, _, _ in items], dtype=torch.long),
            "target": tgt,
            "durations": pad_rows([d for _, _, d, _ in items], 0, torch.long),
            "edited": pad_rows([e for _, _, _, e in items], 0, torch.float32),
            "prev": pad_rows(with_bos, vocab.pad, torch.long),
            "target_eos": pad_rows(with_eos, vocab.pad, torch.long),
        }

    def _collate_nbest(self, items: List[Item]) -> Dict[str, Any]:
        vocab = self.tokenizer.vocab
        with_bos = [np.concatenate([[vocab.bos], t]) for _, t, _, _ in items]
        with_eos = [np.concatenate([t, [vocab.eos]]) for _, t, _, _ in items]
        return {
            "src": _pad_blocks([s for s, _, _, _ in items], vocab.pad, torch.long),
            "src_lengths": torch.tensor([s.shape[1] for s, _, _, _ in items], dtype=torch.long),
            "target": pad_rows([t for _, t, _, _ in items], vocab.pad, torch.long),
            "durations": _pad_blocks([d for _, _, d, _ in items], 0, torch.long),
            "edited": _pad_blocks([e for _, _, _, e in items], 0, torch.float32),
            "prev": pad_rows(with_bos, vocab.pad, torch.long),
            "target_eos": pad_rows(with_eos, vocab.pad, torch.long),
        }

    def export_assets(self, model_dir: Path) -> List[str]:
        """Copy ``tokens.txt`` into the model directory."""
        self.tokenizer.save(tokens_path(model_dir))
        return [tokens_path(model_dir).name]

    def load_assets(self, model_dir: Path) -> None:
        """Use the model directory's ``tokens.txt``."""
        self._tokenizer = self._with_void(Tokenizer.load(tokens_path(model_dir), self.conf.lang))
