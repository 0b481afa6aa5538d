"""What a model's ``build_model(conf, task)`` may read from the task, one protocol per family.

A task satisfies a protocol by having the attributes (plain attributes or properties); models
type their ``task`` argument with the protocol they need and never import a task module, so
the layering stays ``tasks`` → ``models``. A new family adds its protocol here and the task
that feeds it implements it; ``tests/models/test_build_all.py`` builds every registered model
through :meth:`speechtools.models.ModelRegistry.build` from a stub that implements them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Protocol, Sequence, Tuple

import torch


class VarianceStats(NamedTuple):
    """Training-set mean and standard deviation of the (log-)pitch and energy targets."""

    pitch_mean: float
    pitch_std: float
    energy_mean: float
    energy_std: float


class TextToMelInfo(Protocol):
    """Token-to-mel tasks (``tts``, ``tts_ar``, ``alignment``): sizes the data decides."""

    @property
    def vocab_size(self) -> int:
        """Number of entries of ``tokens.txt`` (id 0 is padding)."""

    @property
    def n_mels(self) -> int:
        """Mel bins of the feature configuration."""

    @property
    def n_speakers(self) -> int:
        """Speakers of the speaker-ID embedding (1 = single-speaker: no embedding)."""


class VarianceTTSInfo(TextToMelInfo, Protocol):
    """Non-autoregressive TTS: also the pitch/energy statistics the variance adaptor de-normalises with."""

    def variance_stats(self) -> VarianceStats:
        """Pitch and energy mean/std of the training set (``stats.npz``)."""


class MelPrior(NamedTuple):
    """Per-token-class mel statistics of the training set, in normalised mel units (``stats.npz`` z-scores).

    ``mean`` and ``std`` are ``(vocab_size, n_mels)`` float32: row ``i`` holds the mean and
    standard deviation of the mel frames that the durations assign to token id ``i``; tokens
    never seen in training hold the global statistics of all training frames. Unfloored: the
    model applies its own floor (PriorGrad's acoustic prior ``N(μ, diag σ²)``).
    """

    mean: torch.Tensor
    std: torch.Tensor


class MelPriorTTSInfo(VarianceTTSInfo, Protocol):
    """Diffusion acoustic models with a data-dependent prior (PriorGrad): also the per-token mel prior."""

    def mel_prior(self) -> MelPrior:
        """Per-token-class mel mean/std of the training set (the task's ``mel_prior.npz``)."""


class VocabularyInfo(Protocol):
    """Token-to-token tasks (``correction``): vocabulary size and the special ids."""

    @property
    def vocab_size(self) -> int:
        """Number of tokens."""

    @property
    def pad_id(self) -> int:
        """Padding id."""

    @property
    def bos_id(self) -> int:
        """Beginning-of-sentence id."""

    @property
    def eos_id(self) -> int:
        """End-of-sentence id."""


class LanguageModelInfo(Protocol):
    """Language models over a recogniser's output units (``lm``): its vocabulary and special ids."""

    @property
    def vocab_size(self) -> int:
        """Number of tokens of the recogniser's ``tokens.txt`` (blank and ``<sos/eos>`` included)."""

    @property
    def sos_eos_id(self) -> int:
        """The shared start/end-of-sentence id (the last token)."""

    @property
    def blank_id(self) -> int:
        """CTC blank id (0): never predicted by the language model."""


class RecognizerInfo(LanguageModelInfo, Protocol):
    """Speech recognition (``asr``): the output vocabulary and special ids of :class:`LanguageModelInfo`, plus the mel bins."""

    @property
    def n_mels(self) -> int:
        """Mel bins of the input features."""


class FilledPauseInfo(Protocol):
    """Word-level filled-pause prediction (``filled_pause``): the word vocabulary and the filler classes."""

    @property
    def vocab_size(self) -> int:
        """Entries of ``words.txt`` (id 0 is padding)."""

    @property
    def n_fillers(self) -> int:
        """Filler classes (``um``, ``uh``: 2); the model predicts ``n_fillers + 1`` classes with "none"."""


class LyricsModelInfo(Protocol):
    """Lyrics language models (``deeprapper``): the token vocabulary, its padding id and the rhyme classes."""

    @property
    def vocab_size(self) -> int:
        """Entries of the lyrics ``tokens.txt`` (specials first)."""

    @property
    def pad_id(self) -> int:
        """Padding id."""

    @property
    def rhyme_count(self) -> int:
        """Rows of the rhyme embedding: "cannot rhyme" (0), UNK (1) and one per rhyme class."""


class SongInfo(Protocol):
    """Lyric/melody generation (``songmass``): the two vocabulary sizes (the special ids are fixed by
    :mod:`speechtools.music.song_vocab`)."""

    @property
    def lyric_vocab_size(self) -> int:
        """Entries of the lyric token list (specials, then syllables)."""

    @property
    def melody_vocab_size(self) -> int:
        """Entries of the melody token list (specials, pitches, durations)."""


@dataclass(frozen=True)
class EnergyRange:
    """Training-set minimum and maximum of the mel frame energy ``sqrt(Σ_k exp(log-mel_k))`` (PriorGrad's σ normalisation).

    ``frames``: how many frames they were taken over (0 when given by hand).
    """

    energy_min: float
    energy_max: float
    frames: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.energy_min) and math.isfinite(self.energy_max) and 0.0 <= self.energy_min < self.energy_max):
            raise ValueError(f"need 0 <= energy_min < energy_max, got {self.energy_min}, {self.energy_max}")


class VocoderInfo(Protocol):
    """Mel-to-waveform tasks (``vocoder``): the feature grid and the training set's mel statistics."""

    @property
    def n_mels(self) -> int:
        """Mel bins of the feature configuration."""

    @property
    def hop_length(self) -> int:
        """Waveform samples per mel frame."""

    def mel_mean_std(self) -> Tuple[Sequence[float], Sequence[float]]:
        """Per-bin mean and standard deviation of the training set's log-mel (``stats.npz``)."""

    def energy_range(self) -> EnergyRange:
        """Minimum and maximum mel frame energy over the training set."""


@dataclass(frozen=True)
class FixedSizes:
    """Sizes given by hand instead of by a task's data: every protocol above at once.

    For building a model without data through the one construction rule (benchmarks, size
    reports, tests): ``MODELS.build(name, conf, FixedSizes(vocab_size=76, n_mels=80))``.
    """

    vocab_size: int
    n_mels: int = 80
    n_speakers: int = 1
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    stats: VarianceStats = VarianceStats(0.0, 1.0, 0.0, 1.0)
    hop_length: int = 256
    energy: EnergyRange = EnergyRange(0.1, 4.0)
    n_fillers: int = 2
    blank_id: int = 0
    rhyme_count: int = 18

    @property
    def sos_eos_id(self) -> int:
        """The last token, as in ESPnet's token lists."""
        return self.vocab_size - 1

    def variance_stats(self) -> VarianceStats:
        return self.stats

    @property
    def lyric_vocab_size(self) -> int:
        """``vocab_size`` (SongMASS's lyric vocabulary)."""
        return self.vocab_size

    @property
    def melody_vocab_size(self) -> int:
        """``vocab_size`` (SongMASS's melody vocabulary)."""
        return self.vocab_size

    def mel_mean_std(self) -> Tuple[Sequence[float], Sequence[float]]:
        return [0.0] * self.n_mels, [1.0] * self.n_mels

    def energy_range(self) -> EnergyRange:
        return self.energy

    def mel_prior(self) -> MelPrior:
        """The standard prior N(0, I) for every token (no data to compute one from)."""
        return MelPrior(torch.zeros(self.vocab_size, self.n_mels), torch.ones(self.vocab_size, self.n_mels))
