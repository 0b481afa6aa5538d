"""Insert predicted filled pauses into text before synthesis (AdaSpeech 3, arXiv 2107.02530, Sec. 3.1).

``synth --filled-pauses auto --filled-pause-model DIR``: a ``task: filled_pause`` model directory
(:mod:`speechtools.models.filled_pause`) gives, for each slot of a text (before the first word,
after each word; words are whitespace tokens, :mod:`speechtools.text.filled_pauses`), the
probabilities of none and each filler class. :func:`decide_labels` inserts a filler where the
probability of *some* filler, ``1 - P(none)``, reaches ``threshold``, choosing the likeliest
filler class. The result is ordinary text (``um``/``uh`` are words every English front-end reads:
CMUdict ``AH1 M`` / ``AH1``), so any acoustic model speaks it. ``--filled-pauses off`` (the default)
never loads this module's model and leaves the text as it was.
"""

from __future__ import annotations

from typing import List, Sequence

import torch

from speechtools.datasets.filled_pause import collate_filled_pauses, encode_words
from speechtools.errors import PathLike, UserError
from speechtools.text.filled_pauses import FillerSpellings, insert_fillers
from speechtools.train.model_dir import load_model_dir

WINDOW_WORDS = 500
"""Words the predictor reads at once (its positional table has 2048 entries)."""


def decide_labels(probabilities: torch.Tensor, threshold: float = 0.5) -> List[int]:
    """Slot labels from ``(slots, 1 + n_fillers)`` probabilities: the likeliest filler where ``1 - P(none) >= threshold``, else 0."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    fill = 1.0 - probabilities[:, 0]
    best = probabilities[:, 1:].argmax(dim=-1) + 1
    return torch.where(fill >= threshold, best, torch.zeros_like(best)).tolist()


def apply_labels(text: str, labels: Sequence[int], fillers: FillerSpellings) -> str:
    """``text`` with the fillers of ``labels`` inserted at its slots; unchanged (byte for byte) when every label is 0."""
    if not any(labels):
        return text
    return insert_fillers(text.split(), labels, fillers)


class FilledPauseInserter:
    """Load a filled-pause model directory once; insert predicted fillers into many texts.

    Args:
        model_dir: a ``speechtools train`` output of ``task: filled_pause``.
        threshold: in [0, 1]; higher inserts fewer fillers.
    """

    def __init__(self, model_dir: PathLike, device: str = "cpu", threshold: float = 0.5) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise UserError(f"the filled-pause threshold must lie in [0, 1], got {threshold}")
        loaded = load_model_dir(model_dir, device)
        task = loaded.task
        if not (hasattr(task, "words") and hasattr(task, "fillers")):
            raise UserError(f"not a filled-pause model directory (task {loaded.config.task!r})", model_dir)
        self.task = task
        self.model = loaded.model
        self.device = loaded.device
        self.threshold = threshold

    @property
    def fillers(self) -> FillerSpellings:
        return self.task.fillers

    def labels(self, texts: Sequence[str]) -> List[List[int]]:
        """Slot labels of each text (``[]`` for a text without words). A text of more than
        :data:`WINDOW_WORDS` words is read in consecutive windows; where two meet, the shared slot
        takes the first window's filler, else the second's."""
        out: List[List[int]] = [[] for _ in texts]
        windows = [(i, t.split()[s:s + WINDOW_WORDS]) for i, t in enumerate(texts) for s in range(0, len(t.split()), WINDOW_WORDS)]
        if not windows:
            return out
        batch = collate_filled_pauses([
            {"uttid": str(i), "words": torch.tensor(encode_words(words, self.task.words)), "labels": torch.zeros(len(words) + 1, dtype=torch.long)}
            for i, words in windows
        ])
        with torch.inference_mode():
            probs = self.model.probabilities(batch["words"].to(self.device), batch["word_lengths"].to(self.device)).cpu()
        for row, (i, words) in enumerate(windows):
            labels = decide_labels(probs[row, : len(words) + 1], self.threshold)
            if out[i]:
                out[i][-1] = out[i][-1] or labels[0]
                labels = labels[1:]
            out[i] += labels
        return out

    def insert(self, texts: Sequence[str]) -> List[str]:
        """Each text with its predicted fillers inserted."""
        return [apply_labels(text, labels, self.fillers) if labels else text for text, labels in zip(texts, self.labels(texts))]
