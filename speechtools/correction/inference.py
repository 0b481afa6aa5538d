"""Correct sentences with a trained corrector model directory (FastCorrect or the AR baseline).

Sentences are tokenised, sorted by length and batched; each batch is decoded under
``torch.inference_mode()`` by the model's own ``correct`` method (FastCorrect: one
non-autoregressive pass; the AR model: batched beam search), so any corrector with that
method works here without a branch on its name. Unknown tokens pass through: a FastCorrect output position that is
``<unk>`` (or a special token) takes the source token it was expanded from; the AR model's
k-th ``<unk>`` takes the source's k-th unknown token. With ``copy_oov_words`` (the default)
FastCorrect also copies every word outside its vocabulary (spelled in ``@@`` character
pieces) unchanged, as it does unknown tokens: edits of single pieces otherwise glue or
truncate such words. Empty sentences stay empty.

An n-best corrector (``reads_n_best``, FastCorrect 2) corrects aligned candidate lists
(:meth:`Corrector.correct_nbest`); given single sentences it reads each as ``n`` copies.
``<void>`` never reaches the output.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from tqdm import tqdm

from speechtools.correction.multi_alignment import VOID, PronunciationDistance, align_candidates, fit_to_n
from speechtools.correction.tokenizer import CONT, SPECIALS, Tokenizer
from speechtools.nn.masks import pad_rows


class Corrector:
    """Batched sentence correction with a loaded model (``speechtools.train.model_dir.load_model_dir``)."""

    def __init__(self, model: torch.nn.Module, tokenizer: Tokenizer, device: torch.device,
                 beam_size: int = 5, edit_threshold: float = 0.0, copy_oov_words: bool = True, max_tokens: int = 256) -> None:
        self.model = model.eval()
        self.max_tokens = max_tokens
        self.tokenizer = tokenizer
        self.device = device
        self.beam_size = beam_size
        self.edit_threshold = edit_threshold
        self.copy_oov_words = copy_oov_words
        self.special_ids = {tokenizer.vocab.index[s] for s in SPECIALS}

    @classmethod
    def from_model_dir(cls, path: str, device: str = "auto", beam_size: Optional[int] = None,
                       edit_threshold: Optional[float] = None, copy_oov_words: Optional[bool] = None) -> "Corrector":
        """Load a model directory written by ``speechtools train`` with the ``correction`` task."""
        from speechtools.errors import UserError
        from speechtools.train.model_dir import load_model_dir

        loaded = load_model_dir(path, device, cpu_fast_path=True)
        if loaded.config.task != "correction":
            raise UserError(f"model directory holds a {loaded.config.task!r} model, not a corrector", path)
        conf = loaded.task.conf
        return cls(loaded.model, loaded.task.tokenizer, loaded.device,  # type: ignore[attr-defined]
                   conf.beam_size if beam_size is None else beam_size,
                   conf.edit_threshold if edit_threshold is None else edit_threshold,
                   conf.copy_oov_words if copy_oov_words is None else copy_oov_words, conf.max_len)

    def _restore(self, out_ids: Sequence[int], src_tokens: Sequence[str], src_ids: Sequence[int],
                 source_index: Optional[Sequence[int]]) -> List[str]:
        vocab = self.tokenizer.vocab
        unknown = [tok for tok, i in zip(src_tokens, src_ids) if i == vocab.unk]
        out: List[str] = []
        seen_unknown = 0
        for pos, i in enumerate(out_ids):
            if i not in self.special_ids:
                out.append(vocab.tokens[i])
            elif source_index is not None:
                out.append(src_tokens[source_index[pos]])
            elif i == vocab.unk and unknown:
                out.append(unknown[min(seen_unknown, len(unknown) - 1)])
            seen_unknown += i == vocab.unk
        return out

    @torch.inference_mode()
    def _batch(self, token_lists: List[List[str]]) -> List[List[str]]:
        vocab = self.tokenizer.vocab
        ids = [vocab.ids(t) for t in token_lists]
        lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
        src, lengths = pad_rows(ids, vocab.pad, torch.long).to(self.device), lengths.to(self.device)
        frozen = None
        if self.copy_oov_words and getattr(self.model, "has_edit_gate", False):
            frozen = pad_rows([self.tokenizer.fallback_mask(t) for t in token_lists], False, torch.bool).to(self.device)
        if getattr(self.model, "reads_n_best", False):  # an n-best model reads a single candidate as n copies of it
            src = src[:, None, :].expand(-1, self.n_candidates, -1)
            frozen = None if frozen is None else frozen[:, None, :].expand(-1, self.n_candidates, -1)
        out = self.model.correct(src, lengths, beam_size=self.beam_size,  # type: ignore[operator]
                                 edit_threshold=self.edit_threshold if self.edit_threshold > 0 else None, frozen=frozen)
        index = out.source_index or [None] * len(ids)
        return [self._restore(hyp, token_lists[k], ids[k], index[k]) for k, hyp in enumerate(out.ids)]

    @property
    def n_candidates(self) -> int:
        """Candidates per input the model reads (``n_candidates`` of a ``reads_n_best`` model, else 1)."""
        return int(self.model.conf.n_candidates) if getattr(self.model, "reads_n_best", False) else 1  # type: ignore[union-attr]

    def _frozen_rows(self, rows: List[List[str]]) -> List[List[bool]]:
        """:meth:`Tokenizer.fallback_mask` of each aligned row's tokens, ``False`` at ``<void>``."""
        masks = []
        for row in rows:
            inner = iter(self.tokenizer.fallback_mask([t for t in row if t != VOID]))
            masks.append([False if t == VOID else next(inner) for t in row])
        return masks

    @torch.inference_mode()
    def _nbest_batch(self, aligned: List[List[List[str]]]) -> List[List[str]]:
        vocab = self.tokenizer.vocab
        ids = [[vocab.ids(row) for row in rows] for rows in aligned]
        width = max(len(rows[0]) for rows in aligned)
        n = self.n_candidates
        src = torch.full((len(ids), n, width), vocab.pad, dtype=torch.long)
        frozen = torch.zeros((len(ids), n, width), dtype=torch.bool)
        for k, rows in enumerate(ids):
            src[k, :, : len(rows[0])] = torch.tensor(rows, dtype=torch.long)
            if self.copy_oov_words:
                frozen[k, :, : len(rows[0])] = torch.tensor(self._frozen_rows(aligned[k]), dtype=torch.bool)
        lengths = torch.tensor([len(rows[0]) for rows in ids], dtype=torch.long)
        out = self.model.correct(src.to(self.device), lengths.to(self.device), beam_size=self.beam_size,  # type: ignore[operator]
                                 edit_threshold=self.edit_threshold if self.edit_threshold > 0 else None,
                                 frozen=frozen.to(self.device) if self.copy_oov_words else None)
        results = []
        for k, hyp in enumerate(out.ids):
            c = out.candidate[k]
            tokens = self._restore(hyp, aligned[k][c], ids[k][c], out.source_index[k])
            results.append([t for t in tokens if t != VOID])
        return results

    def correct_nbest(self, candidates: Sequence[Sequence[str]], batch_size: int = 32, progress: bool = True) -> List[str]:
        """One corrected sentence per n-best list (best first), same count and order.

        With an n-best model (FastCorrect 2) the non-empty candidates of a list are brought to the
        model's ``n`` (:func:`~speechtools.correction.multi_alignment.fit_to_n`), aligned
        (:func:`~speechtools.correction.multi_alignment.align_candidates`) and corrected in one
        pass that chooses one candidate. A list with one non-empty candidate, an aligned width
        above ``max_tokens``, or a single-candidate model takes the single-sentence path
        (:meth:`correct`; FastCorrect 2 reads that candidate as ``n`` copies; a long sentence is
        cut in pieces) on the first non-empty candidate. A list without words gives ``""``.
        """
        n = self.n_candidates
        results = [""] * len(candidates)
        single: List[int] = []
        single_text: List[str] = []
        aligned: List[Tuple[int, List[List[str]]]] = []
        distance = PronunciationDistance(self.tokenizer.lang) if n > 1 else None
        for k, cands in enumerate(candidates):
            kept = [(c, toks) for c, toks in ((c, self.tokenizer.tokenize(c)) for c in cands) if toks and VOID not in toks]
            if not kept:
                continue
            if n > 1 and len(kept) > 1:
                alignment = align_candidates(fit_to_n([toks for _, toks in kept], n), distance=distance)
                if alignment.width <= self.max_tokens:
                    aligned.append((k, alignment.rows))
                    continue
            single.append(k)
            single_text.append(kept[0][0])
        for k, text in zip(single, self.correct(single_text, batch_size, progress) if single else []):
            results[k] = text
        order = sorted(range(len(aligned)), key=lambda p: len(aligned[p][1][0]))
        bar = tqdm(total=len(order), desc="correct n-best", unit="sentence", disable=not progress or not order)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for p, tokens in zip(chunk, self._nbest_batch([aligned[p][1] for p in chunk])):
                results[aligned[p][0]] = self.tokenizer.detokenize(tokens)
            bar.update(len(chunk))
        bar.close()
        return results

    def correct(self, sentences: Sequence[str], batch_size: int = 32, progress: bool = True) -> List[str]:
        """Corrected sentences, same count and order as ``sentences`` (blank ones unchanged).

        A sentence longer than ``max_tokens`` tokens (the training ``max_len``) is corrected in
        pieces of at most that many tokens, cut between words, and joined: the cost stays linear
        in its length and the model never sees a length it was not trained on.
        """
        token_lists = [self.tokenizer.tokenize(s) for s in sentences]
        pieces = [(k, piece) for k, tokens in enumerate(token_lists) for piece in self._pieces(tokens)]
        corrected: List[List[str]] = [[] for _ in pieces]
        order = sorted(range(len(pieces)), key=lambda p: len(pieces[p][1]))
        bar = tqdm(total=len(order), desc="correct", unit="piece", disable=not progress)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for p, tokens in zip(chunk, self._batch([pieces[p][1] for p in chunk])):
                corrected[p] = tokens
            bar.update(len(chunk))
        bar.close()
        joined: List[List[str]] = [[] for _ in sentences]
        for (k, _), tokens in zip(pieces, corrected):
            joined[k].extend(tokens)
        return [self.tokenizer.detokenize(joined[k]) if token_lists[k] else s for k, s in enumerate(sentences)]

    def _pieces(self, tokens: List[str]) -> List[List[str]]:
        """``tokens`` cut into runs of at most ``max_tokens``, never inside a word spelled in ``@@`` pieces (when avoidable)."""
        pieces, start = [], 0
        while start < len(tokens):
            end = min(start + self.max_tokens, len(tokens))
            cut = end
            while end < len(tokens) and cut > start + 1 and tokens[cut - 1].endswith(CONT):
                cut -= 1
            end = cut if cut > start + 1 else end
            pieces.append(tokens[start:end])
            start = end
        return pieces
