"""Evaluate candidate architectures with a trained supernet's shared weights, without retraining.

One-shot NAS ranks candidates by their loss with weights inherited from the supernet (Bender et
al., ICML 2018; Guo et al., ECCV 2020): for an architecture string the supernet runs that
path (``LightSpeechSupernet.set_arch``) in eval mode over a held-out data directory, and the loss
terms of training (mel L1, log-duration MSE, pitch MSE; teacher-forced durations and pitch, as
the trainer's validation) are averaged weighted by utterances. The model has LayerNorm only, so
no normalisation statistics need recalibrating per path (SPOS recalibrates BatchNorm).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import torch

from speechtools.errors import PathLike, UserError
from speechtools.nn.search_space import canonical_arch
from speechtools.train.model_dir import LoadedModel, load_model_dir


def load_supernet(path: PathLike) -> LoadedModel:
    """A ``lightspeech_supernet`` model directory on the CPU, eval mode (UserError for any other model)."""
    loaded = load_model_dir(path, device="cpu")
    if not callable(getattr(loaded.model, "set_arch", None)):
        raise UserError(f"not a supernet model directory (model: {loaded.config.model}; train one with model: lightspeech_supernet)",
                        Path(path) / "config.yaml")
    return loaded


class SupernetEvaluator:
    """Validation loss of architecture strings on a held-out set with a supernet's shared weights.

    The held-out set (``data_dir`` with durations, ``feats_dir`` its feature store) is read,
    normalised and batched once (``batch_size`` utterances, sorted by length).
    """

    def __init__(self, loaded: LoadedModel, data_dir: PathLike, feats_dir: PathLike, batch_size: int = 16) -> None:
        self.model = loaded.model
        self.task = loaded.task
        dataset = self.task.dataset(str(data_dir), str(feats_dir))
        if len(dataset) == 0:
            raise UserError("the held-out set is empty", Path(data_dir) / "text")
        self.dataset = dataset
        order = sorted(range(len(dataset)), key=lambda i: dataset.items[i]["frames"])
        items = [dataset[i] for i in order]
        self.batches: List[Dict[str, Any]] = [self.task.collate(items[i:i + batch_size]) for i in range(0, len(items), batch_size)]
        self.n_utterances = len(items)

    def evaluate(self, arch: str) -> Dict[str, float]:
        """Utterance-weighted mean of each loss term (``loss``, ``mel_loss``, ``duration_loss``, ...) of ``arch``."""
        self.model.set_arch(canonical_arch(arch))
        self.model.eval()
        sums: Dict[str, float] = {}
        with torch.inference_mode():
            for batch in self.batches:
                n = int(batch["tokens"].size(0))
                for key, value in self.task.validation_stats(self.model, batch).items():
                    sums[key] = sums.get(key, 0.0) + float(value) * n
        return {key: value / self.n_utterances for key, value in sums.items()}
