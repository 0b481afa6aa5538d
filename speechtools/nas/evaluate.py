"""Evaluate candidate architectures with a trained supernet's weights: shared as they are, or briefly fine-tuned.

One-shot NAS ranks candidates by their loss with weights inherited from the supernet (Bender et
al., ICML 2018; Guo et al., ECCV 2020): for an architecture string the supernet runs that
path (``LightSpeechSupernet.set_arch``) in eval mode over a held-out data directory, and the loss
terms of training (mel L1, log-duration MSE, pitch MSE; teacher-forced durations and pitch, as
the trainer's validation) are averaged weighted by utterances. The model has LayerNorm only, so
no normalisation statistics need recalibrating per path (SPOS recalibrates BatchNorm).

With :class:`InheritedFinetune` each candidate is instead the standalone LightSpeech of its string
(:func:`build_standalone`, the supernet's weights), trained for a few steps on the training set
with the path fixed, then evaluated the same way: weight inheritance followed by a short
fine-tune, as weight-sharing NAS does before ranking when the shared weights alone rank
candidates poorly (Yu et al., "Evaluating the search phase of NAS", ICLR 2020, measure that
ranking). Every candidate sees the same batches in the same order, the same dropout seed and the
same constant learning rate; the supernet's weights are never changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from speechtools.data.sampler import LengthBucketBatchSampler
from speechtools.errors import PathLike, UserError
from speechtools.models import MODELS
from speechtools.nn.search_space import canonical_arch
from speechtools.train.model_dir import LoadedModel, load_model_dir
from speechtools.train.optim import build_optimizer


def load_supernet(path: PathLike) -> LoadedModel:
    """A ``lightspeech_supernet`` model directory on the CPU, eval mode (UserError for any other model)."""
    loaded = load_model_dir(path, device="cpu")
    if not callable(getattr(loaded.model, "set_arch", None)):
        raise UserError(f"not a supernet model directory (model: {loaded.config.model}; train one with model: lightspeech_supernet)",
                        Path(path) / "config.yaml")
    return loaded


def build_standalone(supernet: torch.nn.Module, task: Any, arch: str) -> torch.nn.Module:
    """The plain LightSpeech of ``arch`` holding the supernet's weights of that path (train mode, as built)."""
    conf, state = supernet.standalone(arch)
    model = MODELS.build("lightspeech", conf, task)
    model.load_state_dict(state)
    return model


def held_out_losses(task: Any, model: torch.nn.Module, batches: List[Dict[str, Any]]) -> Dict[str, float]:
    """Utterance-weighted mean of each validation loss term of ``model`` (eval mode) over ``batches``."""
    model.eval()
    sums: Dict[str, float] = {}
    count = 0
    with torch.inference_mode():
        for batch in batches:
            n = int(batch["tokens"].size(0))
            count += n
            for key, value in task.validation_stats(model, batch).items():
                sums[key] = sums.get(key, 0.0) + float(value) * n
    return {key: value / count for key, value in sums.items()}


@dataclass
class FinetuneSettings:
    """The short fine-tune of :class:`InheritedFinetune` (part of a search's settings).

    Attributes:
        steps: optimiser updates per candidate (0: no fine-tune, the shared weights as they are).
        lr: constant learning rate (the supernet's optimiser otherwise: Adam, betas, eps).
    """

    steps: int = 0
    lr: float = 3e-4

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise UserError(f"--finetune-steps must be >= 0, got {self.steps}")
        if not self.lr > 0:
            raise UserError(f"--finetune-lr must be positive, got {self.lr}")


class InheritedFinetune:
    """Train a candidate's standalone model from the supernet's weights for ``settings.steps`` updates.

    The batches are the supernet's (``trainer.batch_bins``, length-bucketed, shuffled with
    ``seed``) over ``data_dir``/``feats_dir`` (the training set), epoch after epoch; dropout is
    seeded with ``seed`` too, so every candidate sees the same batches and masks. Gradients are
    clipped at the supernet's ``trainer.grad_clip``.
    """

    def __init__(self, loaded: LoadedModel, data_dir: PathLike, feats_dir: PathLike, settings: FinetuneSettings,
                 seed: int = 0) -> None:
        self.supernet = loaded.model
        self.task = loaded.task
        self.settings = settings
        self.seed = seed
        self.optim = dataclasses.replace(loaded.config.optim, lr=settings.lr)
        self.grad_clip = loaded.config.trainer.grad_clip
        self.dataset = self.task.dataset(str(data_dir), str(feats_dir))
        if len(self.dataset) == 0:
            raise UserError("the fine-tuning set is empty", Path(data_dir) / "text")
        sampler = LengthBucketBatchSampler(self.task.lengths(self.dataset), batch_bins=loaded.config.trainer.batch_bins,
                                           shuffle=True, seed=seed)
        self.order: List[List[int]] = []
        epoch = 0
        while len(self.order) < settings.steps:
            self.order.extend(sampler.global_batches(epoch))
            epoch += 1
        del self.order[settings.steps:]

    def train(self, arch: str) -> torch.nn.Module:
        """The standalone model of ``arch`` after the fine-tune (eval mode); the supernet is left as it was."""
        model = build_standalone(self.supernet, self.task, arch)
        model.train()
        optimizer = build_optimizer(model.parameters(), self.optim)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            for indices in self.order:
                loss, _ = self.task.compute_loss(model, self.task.collate([self.dataset[i] for i in indices]))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
                optimizer.step()
        model.eval()
        return model


class SupernetEvaluator:
    """Validation loss of architecture strings on a held-out set with a supernet's weights.

    The held-out set (``data_dir`` with durations, ``feats_dir`` its feature store) is read,
    normalised and batched once (``batch_size`` utterances, sorted by length). With ``finetune``
    each candidate is first fine-tuned (:class:`InheritedFinetune`); without, it runs the
    supernet's shared weights.
    """

    def __init__(self, loaded: LoadedModel, data_dir: PathLike, feats_dir: PathLike, batch_size: int = 16,
                 finetune: Optional[InheritedFinetune] = None) -> None:
        self.model = loaded.model
        self.task = loaded.task
        self.finetune = finetune if finetune is not None and finetune.settings.steps > 0 else None
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
        if self.finetune is not None:
            return held_out_losses(self.task, self.finetune.train(arch), self.batches)
        self.model.set_arch(canonical_arch(arch))
        return held_out_losses(self.task, self.model, self.batches)
