"""Text-to-speech task for autoregressive acoustic models (Transformer TTS, FastSpeech's teacher).

Same data, assets and model directory as ``task: tts`` (:mod:`speechtools.tasks.tts`): a Kaldi
data directory with ``text``, a feature store with ``mel``, ``tokens.txt``, ``stats.npz`` and the
feature YAML; but no durations, pitch or energy are read: the model learns its own alignment
(encoder-decoder attention) from teacher-forced decoding, and the loss is the model's
``loss(out, mel, mel_lengths, token_lengths)`` (mel L1+L2 before/after the post-net, stop token,
optional guided attention).

:func:`teacher_alignments` runs a trained teacher over a set, teacher-forced or free-running,
and reads FastSpeech's durations from its encoder-decoder attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional

import numpy as np
import torch
from tqdm import tqdm

from speechtools.align.attention_durations import attention_durations
from speechtools.tasks import TASKS
from speechtools.datasets.tts import TTSDataset, collate_tts
from speechtools.tasks.tts import TTSTask, TTSTaskConfig


@TASKS.register("tts_ar", config=TTSTaskConfig)
class TTSARTask(TTSTask):
    """Teacher-forced training of an autoregressive TTS model on (text, mel) pairs."""

    config_class = TTSTaskConfig

    def dataset(self, data_dir: str, feats_dir: str) -> TTSDataset:
        """Items ``{uttid, tokens, mel, speaker}`` of any set (no durations needed)."""
        return TTSDataset(data_dir, feats_dir, self.tokens, self.stats, self.frontend, "token", self.speaker_ids, need_durations=False)


@dataclass
class TeacherAlignment:
    """One utterance decoded by the teacher: tokens, durations read from its attention, the chosen head."""

    uttid: str
    tokens: List[str]
    durations: List[int]
    focus_rate: float
    layer: int
    head: int
    attention: np.ndarray  # (frames, tokens) of the chosen head
    mel: Optional[np.ndarray] = None  # de-normalised log-mel (frames, n_mels); generated mels only


def teacher_alignments(
    task: TTSARTask, model: torch.nn.Module, device: torch.device, data_dir: str, feats_dir: str,
    batch_size: int = 16, generate: bool = False, stop_threshold: float = 0.5, max_ratio: float = 10.0,
    progress: bool = True,
) -> Iterator[TeacherAlignment]:
    """Decode a set with the teacher and read FastSpeech durations from its attention (Sec. 3.3).

    ``generate=False``: teacher forcing on the set's real mels (durations sum to their frame
    counts). ``generate=True``: free-running generation (sequence-level knowledge distillation,
    FastSpeech Sec. 3.3/4.2): the teacher's mels and the durations of its own generation.
    Batches are length-sorted; runs under ``torch.inference_mode()``.
    """
    dataset = task.dataset(data_dir, feats_dir)
    order = sorted(range(len(dataset)), key=lambda i: dataset.items[i]["frames"])
    mel_mean = torch.as_tensor(np.asarray(task.stats.mean["mel"], dtype=np.float32))
    mel_std = torch.as_tensor(np.asarray(task.stats.std["mel"], dtype=np.float32))
    desc = "teacher generate" if generate else "teacher forcing"
    with torch.inference_mode(), tqdm(total=len(order), desc=desc, unit="utt", disable=not progress) as bar:
        for start in range(0, len(order), batch_size):
            items = [dataset[i] for i in order[start:start + batch_size]]
            batch = collate_tts(items)
            tokens, tl = batch["tokens"].to(device), batch["token_lengths"].to(device)
            speakers = batch["speakers"].to(device)
            if generate:
                out = model.generate(tokens, tl, speakers, stop_threshold=stop_threshold, max_ratio=max_ratio, need_attention=True)
                frames = out["frame_lengths"]
            else:
                frames = batch["mel_lengths"].to(device)
                out = model(tokens, tl, batch["mel"].to(device), frames, speakers, need_attention=True)
            durations, choice = attention_durations(out["attention"], frames, tl)
            index = torch.arange(len(items), device=device)
            chosen = out["attention"][index, choice.layer, choice.head].float().cpu()
            mels = out["mel_post"].float().cpu() * mel_std + mel_mean if generate else None
            for b, item in enumerate(items):
                n, t = int(tl[b]), int(frames[b])
                yield TeacherAlignment(
                    uttid=item["uttid"],
                    tokens=task.tokens.decode(item["tokens"].tolist()),
                    durations=durations[b, :n].tolist(),
                    focus_rate=float(choice.focus_rate[b]),
                    layer=int(choice.layer[b]),
                    head=int(choice.head[b]),
                    attention=chosen[b, :t, :n].numpy(),
                    mel=mels[b, :t].numpy() if mels is not None else None,
                )
            bar.update(len(items))
