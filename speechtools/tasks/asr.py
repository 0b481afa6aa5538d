"""Speech recognition task (``task: asr``): log-mel features of the TTS feature store → output units.

Data of one set: a Kaldi data directory (``text``) and its feature store (``dump/<set>``, the
same ``mel`` the TTS models train on: one store serves both), read by
:class:`~speechtools.datasets.tts.TTSDataset` without durations or variances. Transcripts become
the output units of ``task_conf.units`` (:mod:`speechtools.text.asr_units`; ``en_char``,
``zh_char``, or ``en_bpe`` with its SentencePiece model ``task_conf.bpe_model``) against
``tokens.txt`` in ESPnet's layout (``<blank>`` first, ``<sos/eos>`` last, built by
``speechtools make-tokens DATA --units NAME``); a unit outside the list becomes ``<unk>``.
The model (``ctc_attention_asr``) reads vocabulary, mel bins and the special ids through
:class:`~speechtools.models.task_info.RecognizerInfo`; the loss is the model's own (the default
of :class:`~speechtools.tasks.base.Task`). Augmentation (SpecAugment, MixSpeech) is the
model's, applied while training only, so validation always sees clean features.

A model directory gets ``tokens.txt``, ``stats.npz``, ``feats.yaml`` and, for ``en_bpe``, the
SentencePiece model as ``bpe.model``; ``speechtools asr decode`` needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List

from speechtools.datasets.tts import FeatureDataConfig, TTSDataset, export_asset
from speechtools.tasks import TASKS
from speechtools.tasks.tts import SpeechTask
from speechtools.text.asr_units import SOS_EOS, check_asr_token_list, check_units_config, get_asr_units

BPE_MODEL_NAME = "bpe.model"


def export_unit_model(conf: Any, model_dir: Path) -> List[str]:
    """Copy ``task_conf.bpe_model`` (units with a SentencePiece model) into ``model_dir`` as ``bpe.model``; the names copied."""
    return [export_asset(conf.bpe_model, model_dir, BPE_MODEL_NAME)] if conf.bpe_model else []


def point_at_unit_model(conf: Any, model_dir: Path) -> None:
    """Make ``task_conf.bpe_model`` (when set) the model directory's ``bpe.model``."""
    if conf.bpe_model:
        conf.bpe_model = str(Path(model_dir) / BPE_MODEL_NAME)


@dataclass
class ASRTaskConfig(FeatureDataConfig):
    """``task_conf`` of ``task: asr``: the fields of :class:`FeatureDataConfig`, plus

    Attributes:
        token_list: ``tokens.txt`` in ESPnet's layout (``make-tokens --units``).
        units: output units (``en_char``, ``zh_char``, ``en_bpe``).
        bpe_model: the SentencePiece model of ``en_bpe`` (``make-tokens --units en_bpe --bpe-model``);
            empty for the other units.
    """

    token_list: str = ""
    units: str = "en_char"
    bpe_model: str = ""

    def __post_init__(self) -> None:
        check_units_config(self.units, self.bpe_model)


@TASKS.register("asr", config=ASRTaskConfig)
class ASRTask(SpeechTask):
    """Recogniser training on (mel, units) pairs; no speakers."""

    config_class = ASRTaskConfig

    def _build_frontend(self) -> Any:
        check_asr_token_list(self._tokens, self.conf.token_list)
        return get_asr_units(self.conf.units, self.conf.bpe_model)

    def _point_at(self, model_dir: Path) -> None:
        super()._point_at(model_dir)
        point_at_unit_model(self.conf, model_dir)

    def export_assets(self, model_dir: Path) -> List[str]:
        """``tokens.txt``, ``stats.npz``, ``feats.yaml`` and (``en_bpe``) ``bpe.model``."""
        return super().export_assets(model_dir) + export_unit_model(self.conf, Path(model_dir))

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
