"""``task: priorgrad_tts``: the TTS task plus the per-token mel prior of PriorGrad's acoustic model.

Everything of ``task: tts`` (data, batches, assets; the loss is the model's), and
:meth:`PriorGradTTSTask.mel_prior` (:class:`~speechtools.models.task_info.MelPriorTTSInfo`): the
mean and standard deviation of the normalised training mels per token class, from the
durations (:mod:`speechtools.datasets.mel_prior`). It is computed in one pass over the training
set the first time a model asks for it (``model_conf.prior: data``), written to the model
directory as ``mel_prior.npz`` (checksummed with the other assets) and read back from there at
inference. A model with ``prior: standard`` never asks, and its directory has no such file.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from speechtools.datasets.mel_prior import MEL_PRIOR_NAME, TokenMelPrior, compute_token_mel_prior
from speechtools.datasets.tts import TTSDataset
from speechtools.errors import UserError
from speechtools.models.task_info import MelPrior
from speechtools.tasks import TASKS
from speechtools.tasks.tts import TTSTask, TTSTaskConfig


@TASKS.register("priorgrad_tts", config=TTSTaskConfig)
class PriorGradTTSTask(TTSTask):
    """``task: tts`` that also provides the per-token mel prior (``MelPriorTTSInfo``)."""

    _prior: Optional[TokenMelPrior] = None
    _model_dir: Optional[Path] = None
    _train_set: Optional[TTSDataset] = None

    def train_dataset(self) -> Dataset:
        return self._training_set()

    def _training_set(self) -> TTSDataset:
        """The training set, built once (the prior and the trainer read the same items)."""
        if self._train_set is None:
            self._train_set = self.dataset(self.conf.train_data, self.conf.train_feats)
        return self._train_set

    def token_mel_prior(self) -> TokenMelPrior:
        """The prior with its counts: read from the model directory, else computed on the training set once."""
        if self._prior is None:
            if self._model_dir is not None:
                raise UserError(f"the model needs the mel prior but the model directory has no {MEL_PRIOR_NAME}",
                                self._model_dir / MEL_PRIOR_NAME)
            data = self._training_set()
            triples = ((np.asarray(it["tokens"]), np.asarray(it["durations"]), data.normalized_mel(it["uttid"])) for it in data.items)
            self._prior = compute_token_mel_prior(triples, self.vocab_size, self.n_mels, total=len(data.items),
                                                  progress=len(data.items) >= 200)
        return self._prior

    def mel_prior(self) -> MelPrior:
        """Per-token mel mean/std ``(vocab_size, n_mels)`` in normalised units, unseen tokens = global (unfloored)."""
        prior = self.token_mel_prior()
        if prior.mean.shape != (self.vocab_size, self.n_mels):
            where = self._model_dir / MEL_PRIOR_NAME if self._model_dir is not None else None
            raise UserError(f"mel prior is {prior.mean.shape}, the token list and features need ({self.vocab_size}, {self.n_mels})", where)
        return MelPrior(torch.from_numpy(prior.mean.astype(np.float32)), torch.from_numpy(prior.std.astype(np.float32)))

    def load_assets(self, model_dir: Path) -> None:
        super().load_assets(model_dir)
        self._model_dir = Path(model_dir)
        path = self._model_dir / MEL_PRIOR_NAME
        self._prior = TokenMelPrior.load(path) if path.exists() else None

    def export_assets(self, model_dir: Path) -> List[str]:
        names = super().export_assets(model_dir)
        if self._prior is not None:
            target = Path(model_dir) / MEL_PRIOR_NAME
            if self._model_dir is None or target.resolve() != (self._model_dir / MEL_PRIOR_NAME).resolve():
                self._prior.save(target)
            names.append(MEL_PRIOR_NAME)
        return names
