"""The training config of a found architecture: a LightSpeech experiment that ``egs/TEMPLATE/tts.sh`` trains."""

from __future__ import annotations

from pathlib import Path

from speechtools.config import load_config, save_config, to_dict
from speechtools.errors import PathLike
from speechtools.models.lightspeech import LightSpeechConfig
from speechtools.train.experiment import experiment_from_config


def write_train_config(source: PathLike, model_conf: LightSpeechConfig, out: PathLike) -> Path:
    """Write ``source``'s experiment (task, optimiser, schedule, trainer) with ``model: lightspeech`` and ``model_conf``.

    ``model_conf`` is the standalone model the search measured (the supernet's settings and the
    found ``arch``, :meth:`LightSpeechSupernet.standalone`), so the trained model is the one whose
    size and latency met the limit; ``source`` (any experiment config: the supernet's, or a
    LightSpeech recipe's) gives everything else. Validated as an experiment, then written
    atomically. Raises ConfigError for a source that is not a valid config.
    """
    config = load_config(source)
    config["model"] = "lightspeech"
    config["model_conf"] = to_dict(model_conf)
    experiment = experiment_from_config(config)
    save_config(experiment.to_dict(), out)
    return Path(out)
