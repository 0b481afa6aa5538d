"""Speech recognition task (``task: asr``): log-mel features of the TTS feature store → output units.

Data of one set: a Kaldi data directory (``text``) and its feature store (``dump/<set>``, the
same ``mel`` the TTS models train on: one store serves both), read by
:class:`~speechtools.datasets.tts.TTSDataset` without durations or variances. Transcripts become
the output units of ``task_conf.units`` (:mod:`speechtools.text.asr_units`; ``en_char`` or
``zh_char``) against ``tokens.txt`` in ESPnet's layout (``<blank>`` first, ``<sos/eos>`` last,
built by ``speechtools make-tokens DATA --units NAME``); a unit outside the list becomes
``<unk>``. The model (``ctc_attention_asr``) reads vocabulary, mel bins and the special ids
through :class:`~speechtools.models.task_info.RecognizerInfo`; the loss is the model's own (the
default of :class:`~speechtools.tasks.base.Task`). Augmentation (SpecAugment, MixSpeech) is the
model's, applied while training only, so validation always sees clean features.

A model directory gets ``tokens.txt``, ``stats.npz``, ``feats.yaml``; ``speechtools asr decode``
needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from speechtools.datasets.tts import FeatureDataConfig, TTSDataset
from speechtools.tasks import TASKS
from speechtools.tasks.tts import SpeechTask
from speechtools.text.asr_units import ASR_UNITS, SOS_EOS, check_asr_token_list, get_asr_units


@dataclass
class ASRTaskConfig(FeatureDataConfig):
    """``task_conf`` of ``task: asr``: the fields of :class:`FeatureDataConfig`, plus

    Attributes:
        token_list: ``tokens.txt`` in ESPnet's layout (``make-tokens --units``).
        units: output units (``en_char``, ``zh_char``).
    """

    token_list: str = ""
    units: str = "en_char"

    def __post_init__(self) -> None:
        if self.units not in ASR_UNITS:
            raise ValueError(f"units {self.units!r} unknown; known: {', '.join(sorted(ASR_UNITS))}")


@TASKS.register("asr", config=ASRTaskConfig)
class ASRTask(SpeechTask):
    """Recogniser training on (mel, units) pairs; no speakers."""

    config_class = ASRTaskConfig

    def _build_frontend(self) -> Any:
        check_asr_token_list(self._tokens, self.conf.token_list)
        return get_asr_units(self.conf.units)

    @property
    def blank_id(self) -> int:
        return 0

    @property
    def sos_eos_id(self) -> int:
        return self.tokens.index[SOS_EOS]

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Items ``{uttid, tokens, mel}`` of any set."""
        self._ensure_assets()
        return TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, "frame", None,
                          need_durations=False, need_variances=False, unknown_tokens="map")
