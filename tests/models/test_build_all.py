"""The construction rule: every registered model builds from its default config through MODELS.build."""

from __future__ import annotations

import pytest
import torch

from speechtools.models import MODELS, ModelRegistry
from speechtools.models.task_info import (EnergyRange, FilledPauseInfo, FixedSizes, LanguageModelInfo, MelPriorTTSInfo, RecognizerInfo,
                                          SongInfo, VarianceStats, VarianceTTSInfo, VocabularyInfo, VocoderInfo)
from speechtools.models.task_info import LyricsModelInfo


def StubTask() -> FixedSizes:  # noqa: N802 (reads like the task it stands for)
    """Every protocol of speechtools.models.task_info (what any model may read from its task)."""
    return FixedSizes(vocab_size=41, n_mels=20, n_speakers=3, stats=VarianceStats(5.0, 0.25, 1.5, 0.5), hop_length=256,
                      energy=EnergyRange(0.25, 6.0))


def test_the_stub_implements_every_task_protocol() -> None:
    for protocol in (VarianceTTSInfo, MelPriorTTSInfo, VocabularyInfo, VocoderInfo, FilledPauseInfo, RecognizerInfo, LanguageModelInfo,
                     LyricsModelInfo, SongInfo):
        members = {n for n in dir(protocol) if not n.startswith("_")}
        assert members <= set(dir(StubTask())), protocol


LIBRARY_MODELS = [n for n in MODELS.names() if MODELS.get(n).cls.__module__.startswith("speechtools.")]  # not test plugins


def test_the_library_has_its_models() -> None:
    assert {"fastspeech", "fastspeech2", "lightspeech", "transformer_tts", "aligner", "fastcorrect",
            "transformer_corrector", "fastcorrect2", "musicbert", "priorgrad_vocoder", "priorgrad_acoustic", "ctc_attention_asr", "lstm_lm",
            "songmass"} <= set(LIBRARY_MODELS)


@pytest.mark.parametrize("name", LIBRARY_MODELS)
def test_every_registered_model_builds_from_its_default_config(name: str) -> None:
    entry = MODELS.get(name)
    assert callable(getattr(entry.cls, "build_model", None)), name
    conf = entry.config() if entry.config is not None else None
    torch.manual_seed(0)
    model = MODELS.build(name, conf, StubTask())
    assert isinstance(model, entry.cls)
    assert sum(p.numel() for p in model.parameters()) > 0
    # a model with a token vocabulary got the task's size (MusicBERT's OctupleMIDI vocabulary is fixed);
    # one without (a vocoder) reads the mel bins
    sizes = {m.num_embeddings for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    if not sizes:
        assert any(isinstance(m, torch.nn.Conv1d) and m.in_channels == StubTask().n_mels for m in model.modules()), name
    elif name != "musicbert":
        assert StubTask().vocab_size in sizes, f"{name}: no embedding of the task's vocabulary size ({sizes})"


def test_nar_tts_models_take_speakers_and_variance_stats_from_the_task() -> None:
    model = MODELS.build("fastspeech2", MODELS.get("fastspeech2").config(), StubTask())
    assert model.speaker_embedding is not None and model.speaker_embedding.num_embeddings == 3
    assert model.mel_head.proj.out_features == 20
    assert model.adaptor.pitch_stats.tolist() == [5.0, 0.25] and model.adaptor.energy_stats.tolist() == [1.5, 0.5]


def test_the_vocoder_takes_the_feature_grid_mel_statistics_and_energy_range_from_the_task() -> None:
    model = MODELS.build("priorgrad_vocoder", MODELS.get("priorgrad_vocoder").config(), StubTask())
    assert model.n_mels == 20 and model.hop_length == 256 and model.energy == EnergyRange(0.25, 6.0)
    assert model.mel_mean.tolist() == [0.0] * 20 and model.mel_std.tolist() == [1.0] * 20
    assert model.net.blocks[0].cond_proj.in_channels == 20


def test_correctors_take_their_special_ids_from_the_task() -> None:
    ar = MODELS.build("transformer_corrector", MODELS.get("transformer_corrector").config(), StubTask())
    assert (ar.conf.vocab_size, ar.conf.pad_id, ar.conf.bos_id, ar.conf.eos_id) == (41, 0, 2, 3)
    fc = MODELS.build("fastcorrect", MODELS.get("fastcorrect").config(), StubTask())
    assert fc.conf.vocab_size == 41 and fc.encoder.embed.padding_idx == 0


def test_a_model_without_build_model_cannot_register() -> None:
    registry = ModelRegistry("model")
    with pytest.raises(TypeError, match="must define the classmethod build_model"):
        registry.register("bare")(torch.nn.Linear)
