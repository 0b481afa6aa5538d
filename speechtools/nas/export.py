"""The training config of a found architecture: a LightSpeech experiment that ``egs/TEMPLATE/tts.sh`` trains."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from speechtools.config import load_config, save_config
from speechtools.errors import PathLike
from speechtools.models.lightspeech import LightSpeechConfig
from speechtools.nn.search_space import canonical_arch
from speechtools.train.experiment import experiment_from_config


def write_train_config(source: PathLike, arch: str, encoder_layers: int, out: PathLike) -> Path:
    """Write ``source`` (any LightSpeech or supernet experiment config) as ``model: lightspeech`` with ``arch``.

    The model settings that only a supernet has (path sampling) are dropped; ``arch`` and
    ``encoder_layers`` are set; everything else (task, optimiser, schedule, trainer) is kept. The
    result is validated as an experiment before it is written (atomically). Raises ConfigError
    for a source that is not a valid config.
    """
    config = load_config(source)
    names = {f.name for f in dataclasses.fields(LightSpeechConfig)}
    model_conf = {k: v for k, v in dict(config.get("model_conf") or {}).items() if k in names}
    model_conf.update(arch=canonical_arch(arch), encoder_layers=encoder_layers)
    config["model"] = "lightspeech"
    config["model_conf"] = model_conf
    experiment = experiment_from_config(config)
    save_config(experiment.to_dict(), out)
    return Path(out)
