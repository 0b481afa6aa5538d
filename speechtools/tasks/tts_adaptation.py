"""The task ``speechtools adapt`` trains with: ``task: tts`` on a new speaker's clips, one speaker row more.

Not registered: :mod:`speechtools.tts.adapt` builds it and hands it to the
:class:`~speechtools.train.trainer.Trainer` (``Trainer(..., task=...)``); the model directory it
exports is an ordinary ``task: tts`` one (``config.yaml`` says ``task: tts``, ``speakers.txt``
lists the source speakers and then the new one), so ``synth`` and ``load_model_dir`` need nothing
new.

* Speakers: the source model's speaker list (``speaker_names``) plus ``new_speaker``, which is
  row ``len(speaker_names)`` of the speaker embedding; every adaptation utterance is that speaker
  (whatever ``utt2spk`` calls it: the caller has checked that the data has one speaker).
* Transcribed (AdaSpeech): the TTS items of the data directory (``text``, ``durations``, the
  feature store's mel, pitch and energy), normalised with the *source* model's ``stats.npz``.
* Untranscribed (AdaSpeech 2): :class:`UntranscribedMelDataset` (normalised mel of every
  utterance of ``wav.scp``, no text, no durations) and batches ``{mel, mel_lengths, speakers,
  untranscribed: True}``: the model's untranscribed forward (mel encoder → decoder) and its mel
  loss, through the default :meth:`~speechtools.tasks.base.Task.compute_loss`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from speechtools.audio.stats import FeatureStats
from speechtools.audio.store import FeatureStore
from speechtools.data.kaldi import DataDir
from speechtools.datasets.tts import TTSDataset, pad_1d
from speechtools.errors import UserError
from speechtools.tasks.tts import TTSTask, TTSTaskConfig


class UntranscribedMelDataset(Dataset):
    """Items ``{uttid, mel, speaker}`` (mel z-normalised with ``stats``) of every utterance of a data
    directory's ``wav.scp``/``segments``; no ``text`` needed."""

    def __init__(self, data_dir: str, feats_dir: str, stats: FeatureStats, speaker: int) -> None:
        self.store = FeatureStore(feats_dir)
        self.stats = stats
        self.speaker = speaker
        shapes = self.store.shapes("mel")
        self.items: List[Dict[str, Any]] = []
        for uttid in DataDir.load(data_dir, files=("segments",)).utt_ids():
            if uttid not in shapes:
                raise UserError(f"utterance {uttid!r} has no mel features in {feats_dir}", Path(data_dir) / "wav.scp")
            self.items.append({"uttid": uttid, "frames": int(shapes[uttid][0])})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        uttid = self.items[index]["uttid"]
        mel = self.stats.normalize("mel", self.store.read("mel", uttid).astype(np.float32)).astype(np.float32)
        return {"uttid": uttid, "mel": torch.from_numpy(mel), "speaker": self.speaker}


def collate_untranscribed(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Pad :class:`UntranscribedMelDataset` items into a batch for ``model(untranscribed=True, ...)``."""
    return {
        "uttids": [it["uttid"] for it in items],
        "mel": pad_1d([it["mel"] for it in items]),
        "mel_lengths": torch.tensor([len(it["mel"]) for it in items]),
        "speakers": torch.tensor([it["speaker"] for it in items]),
        "untranscribed": True,
    }


class SpeakerAdaptationTask(TTSTask):
    """``task: tts`` over one new speaker's data, with the source speakers' names kept in front of it."""

    def __init__(self, conf: TTSTaskConfig, model_name: str, model_conf: Any, speaker_names: Sequence[str],
                 new_speaker: str, untranscribed: bool = False) -> None:
        super().__init__(conf, model_name, model_conf)
        self.speaker_names = list(speaker_names) + [new_speaker]
        self.new_speaker_id = len(speaker_names)
        self.untranscribed = untranscribed

    def _after_assets(self) -> None:
        self._speaker_ids = {name: i for i, name in enumerate(self.speaker_names)}

    def dataset(self, data_dir: str, feats_dir: str) -> Dataset:
        self._ensure_assets()
        if self.untranscribed:
            return UntranscribedMelDataset(data_dir, feats_dir, self.stats, self.new_speaker_id)
        data = TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, self.level, None,
                          need_variances=self.need_variances)
        for item in data.items:
            item["speaker"] = self.new_speaker_id
        return data

    def collate(self, items: List[Any]) -> Dict[str, Any]:
        return collate_untranscribed(items) if self.untranscribed else super().collate(items)
