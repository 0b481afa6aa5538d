"""Decoding audio with a trained recogniser (a ``task: asr`` model directory).

:class:`Recognizer` loads the model directory (its ``tokens.txt``, ``stats.npz`` and ``feats.yaml``),
turns audio at any sample rate into the model's normalised log-mel features (resampled with soxr
to the feature rate), and decodes under ``torch.inference_mode()``: batched greedy CTC, or the
joint CTC/attention beam search with an optional language model (shallow fusion).
:func:`decode_jobs` decodes a list of utterances (``wav.scp`` entries, optionally ``segments``)
in length-sorted batches, in ``nj`` worker processes when asked, and keeps going past an
unreadable or empty recording: the failure is returned with its one-line reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from speechtools.audio.extract import Job, check_long_enough
from speechtools.audio.features import log_mel
from speechtools.audio.io import load_audio
from speechtools.errors import PathLike, UserError
from speechtools.parallel import process_pool
from speechtools.train.model_dir import LoadedModel, load_model_dir


@dataclass(frozen=True)
class DecodeOptions:
    """Search settings: ``beam_size`` 1 and ``ctc_weight`` 1 is greedy CTC; ``lm_dir`` a language
    model directory (same token list and units, for ``en_bpe`` the same ``bpe.model``) for shallow
    fusion with ``lm_weight``."""

    beam_size: int = 1
    ctc_weight: Optional[float] = None
    lm_dir: Optional[str] = None
    lm_weight: float = 0.0
    length_bonus: float = 0.0
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise UserError(f"beam size must be >= 1, got {self.beam_size}")
        if self.ctc_weight is not None and not 0.0 <= self.ctc_weight <= 1.0:
            raise UserError(f"CTC weight must lie in [0, 1], got {self.ctc_weight}")
        if self.batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {self.batch_size}")


class Recognizer:
    """A recogniser model directory ready to decode waveforms."""

    def __init__(self, model_dir: PathLike, options: DecodeOptions = DecodeOptions(), device: str = "auto") -> None:
        self.loaded: LoadedModel = load_model_dir(model_dir, device=device)
        if not hasattr(self.loaded.model, "recognize"):
            raise UserError(f"not a speech recogniser (model {self.loaded.config.model!r})", model_dir)
        self.options = options
        self.lm: Optional[Any] = None
        if options.lm_dir is not None:
            lm = load_model_dir(options.lm_dir, device=self.loaded.device)
            if lm.config.task != "lm":
                raise UserError(f"not a language model (task {lm.config.task!r})", options.lm_dir)
            if lm.task.tokens.tokens != self.loaded.task.tokens.tokens:
                raise UserError("the language model's tokens.txt differs from the recogniser's", options.lm_dir)
            # The same token list is not the same segmentation: two SentencePiece models with one
            # inventory split text differently, and the LM learned its own model's splits.
            if lm.task.units.identity != self.loaded.task.frontend.identity:
                raise UserError(f"the language model's units ({lm.task.units.name}) are not the recogniser's "
                                f"({self.loaded.task.frontend.name}): train it with the recogniser's units and bpe.model",
                                options.lm_dir)
            self.lm = lm.model

    @property
    def device(self) -> torch.device:
        return self.loaded.device

    @property
    def feature_config(self) -> Any:
        return self.loaded.task.feature_config

    def features(self, wav: np.ndarray) -> torch.Tensor:
        """Normalised log-mel ``(T, n_mels)`` of a waveform at the feature rate (as the training features)."""
        mel = log_mel(torch.from_numpy(wav), self.feature_config).numpy()
        return torch.from_numpy(self.loaded.task.stats.normalize("mel", mel).astype(np.float32))

    def load(self, job: Job) -> torch.Tensor:
        """The features of one utterance; an unreadable, empty or too short recording is a :class:`UserError`."""
        cfg = self.feature_config
        wav = load_audio(job.entry, cfg.sample_rate, job.segment, resample=True, utt_id=job.uttid)
        check_long_enough(wav.size, cfg, job.uttid, job.where)
        mel = self.features(wav)
        if mel.size(0) < 7:
            raise UserError(f"utterance {job.uttid}: too short to recognise ({mel.size(0)} frames; the encoder needs 7)",
                            *(job.where or (None, None)))
        return mel

    def recognize(self, mels: Sequence[torch.Tensor]) -> List[str]:
        """Transcripts of a batch of feature matrices."""
        o = self.options
        lengths = torch.tensor([m.size(0) for m in mels])
        batch = torch.nn.utils.rnn.pad_sequence(list(mels), batch_first=True).to(self.device)
        with torch.inference_mode():
            ids = self.loaded.model.recognize(batch, lengths.to(self.device), beam_size=o.beam_size, ctc_weight=o.ctc_weight,
                                              lm=self.lm, lm_weight=o.lm_weight, length_bonus=o.length_bonus)
        task = self.loaded.task
        specials = {task.blank_id, task.sos_eos_id}
        return [task.frontend.detokenize(task.tokens.decode([i for i in seq if i not in specials])) for seq in ids]


def _batches(recognizer: Recognizer, jobs: Sequence[Job]) -> Iterator[Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]]:
    """Decode ``jobs`` in batches of similar length; yields ``(hypotheses, failures)`` per batch."""
    loaded: List[Tuple[Job, torch.Tensor]] = []
    failures: List[Tuple[str, str]] = []
    for job in jobs:
        try:
            loaded.append((job, recognizer.load(job)))
        except UserError as exc:
            failures.append((job.uttid, str(exc)))
    if failures:
        yield [], failures
    loaded.sort(key=lambda pair: pair[1].size(0))
    size = recognizer.options.batch_size
    for start in range(0, len(loaded), size):
        chunk = loaded[start: start + size]
        texts = recognizer.recognize([mel for _, mel in chunk])
        yield [(job.uttid, text) for (job, _), text in zip(chunk, texts)], []


def _decode_shard(model_dir: str, options: DecodeOptions, device: str, jobs: Sequence[Job]
                  ) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]], int]:
    """One worker's share: load the recogniser (one torch thread) and decode ``jobs``."""
    torch.set_num_threads(1)
    recognizer = Recognizer(model_dir, options, device)
    hyps: List[Tuple[str, str]] = []
    failures: List[Tuple[str, str]] = []
    for h, f in _batches(recognizer, jobs):
        hyps += h
        failures += f
    return hyps, failures, len(jobs)


def decode_jobs(model_dir: PathLike, jobs: Sequence[Job], options: DecodeOptions = DecodeOptions(), device: str = "auto",
                nj: int = 1, progress: bool = True) -> Tuple[Dict[str, str], List[Tuple[str, str]]]:
    """Transcripts of ``jobs`` and the failed utterances ``(uttid, one-line reason)``.

    ``nj > 1`` decodes ``4·nj`` shards in ``nj`` processes on the CPU (one torch thread each,
    each shard loading the model directory once); on a GPU, or with ``nj`` 1, one process
    decodes all.
    """
    hyps: Dict[str, str] = {}
    failures: List[Tuple[str, str]] = []
    recognizer = Recognizer(model_dir, options, device)  # before the bar: a bad model directory is one line
    bar = tqdm(total=len(jobs), desc="asr decode", unit="utt", disable=not progress)
    with bar:
        if nj <= 1 or recognizer.device.type != "cpu" or len(jobs) <= options.batch_size:
            for h, f in _batches(recognizer, jobs):
                hyps.update(h)
                failures += f
                bar.update(len(h) + len(f))
        else:
            del recognizer
            ordered = sorted(jobs, key=lambda j: j.uttid)
            shards = [ordered[i:: 4 * nj] for i in range(min(4 * nj, len(ordered)))]
            work = functools.partial(_decode_shard, str(model_dir), options, device)
            with process_pool(nj) as pool:
                for h, f, n in pool.imap_unordered(work, shards):
                    hyps.update(h)
                    failures += f
                    bar.update(n)
    return hyps, sorted(failures)
