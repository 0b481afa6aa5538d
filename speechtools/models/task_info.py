"""What a model's ``build_model(conf, task)`` may read from the task, one protocol per family.

A task satisfies a protocol by having the attributes (plain attributes or properties); models
type their ``task`` argument with the protocol they need and never import a task module, so
the layering stays ``tasks`` → ``models``. A new family adds its protocol here and the task
that feeds it implements it; ``tests/models/test_build_all.py`` builds every registered model
through :meth:`speechtools.models.ModelRegistry.build` from a stub that implements them all.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


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
