"""Alignment-learning task: trains :class:`speechtools.models.aligner.Aligner` on (text, mel) pairs.

Same data layout as the TTS task but without durations (they are what this task produces):
a Kaldi data directory with ``text`` and a feature store with ``mel``
(:mod:`speechtools.datasets.tts`). The model directory gets ``tokens.txt``, ``stats.npz`` and
``feats.yaml`` so that ``speechtools align durations`` can tokenise and normalise exactly as
in training. The loss is the model's own (forward-sum + bin loss, the bin-loss ramp driven by
the trainer's update count).
"""

from __future__ import annotations

from dataclasses import dataclass

from speechtools.datasets.tts import TTSDataConfig, TTSDataset
from speechtools.tasks import TASKS
from speechtools.tasks.tts import SpeechTask


@dataclass
class AlignmentTaskConfig(TTSDataConfig):
    """``task_conf`` of ``task: alignment``: the data of :class:`speechtools.datasets.tts.TTSDataConfig`."""


@TASKS.register("alignment", config=AlignmentTaskConfig)
class AlignmentTask(SpeechTask):
    """Forward-sum + bin loss training of the aligner (arXiv 2108.10447)."""

    config_class = AlignmentTaskConfig

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Text + normalised mel items of any set (no durations needed)."""
        self._ensure_assets()
        return TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, "token", need_durations=False)
