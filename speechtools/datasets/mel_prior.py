"""Per-token-class mel statistics of a training set: the data-dependent prior of PriorGrad's acoustic model.

For every token id ``i`` of ``tokens.txt``: the mean and (population) standard deviation of the
normalised mel frames the durations assign to ``i``, over the whole set, per mel bin
(PriorGrad, arXiv 2106.06406 Sec. 3.3: phoneme-level statistics from forced-alignment
durations). Token ids with no frame in the set get the global mean and standard deviation of
all frames. Units are those the model sees: mels z-normalised with ``stats.npz``.

One pass over the set: each utterance's token ids are repeated by their durations and the
frames are summed per class (``index_add_`` in float64: counts, sums and sums of squares;
normalised values keep ``E[x²] − E[x]²`` well conditioned). Saved as ``mel_prior.npz`` in the
model directory (``mean``, ``std`` ``(vocab, n_mels)`` float32 with unseen rows filled,
``count`` frames per token, ``global_mean``, ``global_std``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Tuple

import numpy as np
import torch
from tqdm import tqdm

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_path, read_npz

MEL_PRIOR_NAME = "mel_prior.npz"
_KEYS = ("mean", "std", "count", "global_mean", "global_std")


@dataclass
class TokenMelPrior:
    """Per-token mel mean/std (``(vocab, n_mels)``, unseen tokens = global), frame counts and the global statistics."""

    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    global_mean: np.ndarray
    global_std: np.ndarray

    def save(self, path: PathLike) -> None:
        """Write ``mel_prior.npz`` atomically."""
        with atomic_path(Path(path)) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **{key: getattr(self, key) for key in _KEYS})

    @classmethod
    def load(cls, path: PathLike) -> "TokenMelPrior":
        """Read a file written by :meth:`save`.

        Raises:
            UserError: missing, unreadable or inconsistent file (named).
        """
        arrays = read_npz(path, "mel prior")
        missing = [key for key in _KEYS if key not in arrays]
        if missing:
            raise UserError(f"mel prior lacks {', '.join(missing)}", path)
        prior = cls(**{key: arrays[key] for key in _KEYS})
        if prior.mean.ndim != 2 or prior.std.shape != prior.mean.shape or prior.count.shape != prior.mean.shape[:1]:
            raise UserError(f"mel prior arrays have inconsistent shapes {prior.mean.shape}, {prior.std.shape}, {prior.count.shape}", path)
        return prior


class TokenMelMoments:
    """Running per-class count, sum and sum of squares of mel frames (float64)."""

    def __init__(self, vocab_size: int, n_mels: int) -> None:
        self.count = torch.zeros(vocab_size, dtype=torch.float64)
        self.sum = torch.zeros(vocab_size, n_mels, dtype=torch.float64)
        self.sum_sq = torch.zeros(vocab_size, n_mels, dtype=torch.float64)

    def update(self, tokens: np.ndarray, durations: np.ndarray, mel: np.ndarray) -> None:
        """Add one utterance: token ids ``(N,)``, durations ``(N,)`` summing to ``len(mel)``, mel ``(T, n_mels)``."""
        classes = torch.from_numpy(np.repeat(np.asarray(tokens, dtype=np.int64), np.asarray(durations, dtype=np.int64)))
        frames = torch.from_numpy(np.asarray(mel, dtype=np.float64))
        if classes.numel() != frames.size(0):
            raise ValueError(f"durations cover {classes.numel()} frames, the mel has {frames.size(0)}")
        self.count.index_add_(0, classes, torch.ones(classes.numel(), dtype=torch.float64))
        self.sum.index_add_(0, classes, frames)
        self.sum_sq.index_add_(0, classes, frames * frames)

    def prior(self) -> TokenMelPrior:
        """Means and population standard deviations; tokens without frames get the global ones."""
        total = float(self.count.sum())
        if total == 0:
            raise ValueError("no frames were added")
        global_mean = self.sum.sum(0) / total
        global_std = (self.sum_sq.sum(0) / total - global_mean**2).clamp(min=0).sqrt()
        seen = self.count > 0
        n = self.count.clamp(min=1).unsqueeze(1)
        mean = self.sum / n
        std = (self.sum_sq / n - mean**2).clamp(min=0).sqrt()
        mean = torch.where(seen.unsqueeze(1), mean, global_mean)
        std = torch.where(seen.unsqueeze(1), std, global_std)
        return TokenMelPrior(mean.float().numpy(), std.float().numpy(), self.count.long().numpy(),
                             global_mean.float().numpy(), global_std.float().numpy())


def compute_token_mel_prior(utterances: Iterable[Tuple[np.ndarray, np.ndarray, np.ndarray]], vocab_size: int, n_mels: int,
                            total: int = 0, progress: bool = True) -> TokenMelPrior:
    """:class:`TokenMelPrior` of ``(token ids, durations, normalised mel)`` triples (one pass, progress bar)."""
    moments = TokenMelMoments(vocab_size, n_mels)
    for tokens, durations, mel in tqdm(utterances, total=total or None, desc="mel prior", unit="utt", leave=False, disable=not progress):
        moments.update(tokens, durations, mel)
    return moments.prior()
