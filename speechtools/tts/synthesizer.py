"""Batch synthesis with a trained TTS model directory (non-autoregressive, or an attention model such as Transformer TTS).

Pipeline per input: split into sentences (and over-long sentences into clauses), normalise
and tokenise with the model's front-end and ``tokens.txt``, run the acoustic model's
``synthesize`` on length-sorted batches under ``torch.inference_mode()``, de-normalise the mel with
``stats.npz``, vocode, and concatenate the pieces of each input in order.

Controls (FastSpeech Sec. 3.2 / FastSpeech 2 Sec. 2.3): ``speed`` S (S = 2 speaks twice as fast;
the length regulator's α = 1/S), ``pitch_shift`` in semitones and ``energy_scale``. Speaker:
a name of a multi-speaker model's ``speakers.txt`` and/or, for models built with
``speaker_vector_dim > 0``, an external speaker vector (``.npy``, e.g. an x-vector of the
target voice) used for every input. A reference recording (``reference_audio``) becomes a
normalised log-mel computed with the model's own feature settings and reaches the model as
``reference_mel``/``reference_mel_lengths`` (models that declare ``accepts_reference_mel``,
such as AdaSpeech's utterance-level acoustic encoder).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from speechtools.errors import PathLike, UserError
from speechtools.audio.features import log_mel
from speechtools.audio.io import load_audio
from speechtools.datasets.tts import load_speaker_vector
from speechtools.train.model_dir import load_model_dir
from speechtools.tts.controls import ENERGY_SCALE_RANGE, PITCH_SHIFT_RANGE, SPEED_RANGE
from speechtools.tts.text_split import split_sentences, split_tokens
from speechtools.tts.vocoders import build_vocoder


# A pause token the model never saw is read as the closest one it knows.
PAUSE_FALLBACK = {"?": ".", "!": ".", ";": ",", ":": ","}


@dataclass
class SynthesisInput:
    """One text to synthesise, with where it came from (for error messages)."""

    uttid: str
    text: str
    path: Optional[str] = None
    line: Optional[int] = None


@dataclass
class SynthesisOutput:
    """Waveform, log-mel (frames, n_mels), per-token durations and tokens of one input."""

    uttid: str
    wav: np.ndarray
    mel: np.ndarray
    durations: List[int] = field(default_factory=list)
    tokens: List[str] = field(default_factory=list)
    attention: Optional[np.ndarray] = None  # (frames, tokens) of an attention model (block-diagonal over its pieces)


class Synthesizer:
    """Load a model directory once; synthesise many texts.

    Args:
        model_dir: a ``speechtools train`` output of ``task: tts``.
        device: ``auto``, ``cpu``, ``cuda[:N]``.
        vocoder: a name in :data:`speechtools.tts.vocoders.VOCODERS`.
        vocoder_model: path of a trained vocoder (neural vocoders only).
        max_tokens: longer sentences are split at pauses/word boundaries.
        vocoder_overrides: ``key=value`` settings of the vocoder's config (validated).
    """

    def __init__(self, model_dir: PathLike, device: str = "auto", vocoder: str = "griffin-lim",
                 vocoder_model: Optional[str] = None, max_tokens: int = 300, vocoder_overrides: Sequence[str] = (),
                 speaker_params: Optional[PathLike] = None) -> None:
        from speechtools.tts.adapt import load_adapted_speakers

        # adapted speakers (`speechtools adapt`): their mean utterance-level vectors, and a speaker_<name>.pt put on top
        self.utterance_vectors: Dict[str, torch.Tensor] = {}
        self.loaded = load_model_dir(model_dir, device, cpu_fast_path=True,
                                     prepare=lambda loaded: self.utterance_vectors.update(load_adapted_speakers(loaded, speaker_params)))
        task = self.loaded.task
        for attr in ("tokens", "frontend", "stats", "feature_config"):
            if not hasattr(task, attr):
                raise UserError(f"not a TTS model directory (task {self.loaded.config.task!r})", model_dir)
        self.task: Any = task
        self.model = self.loaded.model
        self.device = self.loaded.device
        self.feature_config = task.feature_config
        self.vocoder = build_vocoder(vocoder, self.feature_config, vocoder_model, str(self.device), vocoder_overrides)
        self.max_tokens = max_tokens
        self.mel_mean = torch.as_tensor(np.asarray(task.stats.mean["mel"], dtype=np.float32))
        self.mel_std = torch.as_tensor(np.asarray(task.stats.std["mel"], dtype=np.float32))

    def speaker_id(self, speaker: Optional[str]) -> int:
        """Index of ``speaker`` in the model's speakers (0 for single-speaker models)."""
        ids = getattr(self.task, "speaker_ids", None)
        if not ids:
            if speaker is not None:
                raise UserError("this model has no speaker embedding; drop --speaker")
            return 0
        if speaker is None:
            return 0
        if speaker not in ids:
            raise UserError(f"unknown speaker {speaker!r}; choose from: {', '.join(sorted(ids))}")
        return ids[speaker]

    def speaker_vector(self, path: Optional[PathLike]) -> Optional[torch.Tensor]:
        """The external speaker vector in the ``.npy`` file ``path`` as a ``(1, D)`` tensor (``None`` → ``None``).

        Raises:
            UserError: the model takes no speaker vectors, or the file is unreadable or not ``(D,)``.
        """
        if path is None:
            return None
        proj = getattr(self.model, "speaker_vector_proj", None)
        if proj is None:
            raise UserError("this model takes no speaker vectors (trained with speaker_vector_dim: 0); drop --speaker-vector", path)
        vector = load_speaker_vector(path, proj.in_features)
        return torch.from_numpy(vector).unsqueeze(0).to(self.device)

    def reference_mel(self, path: Optional[PathLike]) -> Optional[torch.Tensor]:
        """The normalised log-mel ``(1, T, n_mels)`` of a reference recording (``None`` → ``None``).

        Raises:
            UserError: the model takes no reference audio, or the file is unreadable, at another
                sample rate (unless the feature config resamples) or too short for one frame.
        """
        if path is None:
            return None
        if not getattr(self.model, "accepts_reference_mel", False):
            raise UserError("this model takes no reference audio (no utterance-level acoustic encoder); drop --reference-audio", path)
        cfg = self.feature_config
        wav = load_audio(path, cfg.sample_rate, resample=cfg.resample)
        if wav.size <= cfg.n_fft // 2:
            raise UserError(f"reference audio too short: {wav.size} samples, need more than n_fft/2 = {cfg.n_fft // 2}", path)
        mel = log_mel(torch.from_numpy(wav), cfg).numpy()
        return torch.from_numpy(self.task.stats.normalize("mel", mel).astype(np.float32)).unsqueeze(0).to(self.device)

    def pieces(self, item: SynthesisInput) -> List[List[str]]:
        """Token sequences of the sentences/clauses of one input; user errors for bad text.

        Pause tokens missing from the model's list fall back to a known one (``?``/``!`` → ``.``,
        ``;``/``:`` → ``,``); any other unknown symbol is an error naming it.
        """
        if not item.text.strip():
            raise UserError("empty text", item.path, item.line)
        chunks: List[List[str]] = []
        for sentence in split_sentences(item.text):
            tokens = self.task.frontend.tokenize(sentence)
            if tokens:
                chunks.extend(split_tokens(tokens, self.max_tokens))
        if not chunks:
            raise UserError(f"text normalises to nothing: {item.text!r}", item.path, item.line)
        vocab = self.task.tokens
        chunks = [[t if t in vocab or PAUSE_FALLBACK.get(t) not in vocab else PAUSE_FALLBACK[t] for t in c] for c in chunks]
        unknown = sorted({t for chunk in chunks for t in chunk if t not in vocab})
        if unknown:
            raise UserError(f"symbol(s) not in the model's token list: {' '.join(unknown)}", item.path, item.line)
        return chunks

    def synthesize(
        self, inputs: Sequence[SynthesisInput], speed: float = 1.0, pitch_shift: float = 0.0, energy_scale: float = 1.0,
        speaker: Optional[str] = None, batch_size: int = 8, progress: bool = True,
        speaker_vector: Optional[PathLike] = None, reference_audio: Optional[PathLike] = None,
    ) -> Iterator[SynthesisOutput]:
        """Yield one :class:`SynthesisOutput` per input, in input order.

        ``speaker_vector``: a ``.npy`` external speaker vector used for all inputs (see
        :meth:`speaker_vector`); ``reference_audio``: a recording whose mel conditions every
        input (:meth:`reference_mel`). All inputs are checked (tokenised) before any audio is
        produced, so a bad line fails fast.
        """
        controls = getattr(self.model, "synthesis_controls", ())
        for name, value, (low, high), neutral in (("speed", speed, SPEED_RANGE, 1.0), ("pitch-shift", pitch_shift, PITCH_SHIFT_RANGE, 0.0),
                                                  ("energy-scale", energy_scale, ENERGY_SCALE_RANGE, 1.0)):
            if not (math.isfinite(value) and low <= value <= high):
                raise UserError(f"--{name} must be a number in [{low:g}, {high:g}], got {value}")
            if value != neutral and name.replace("-", "_") not in controls:
                raise UserError(f"this model ({type(self.model).__name__}) has no --{name} control; drop it")
        spk = self.speaker_id(speaker)
        vector = self.speaker_vector(speaker_vector)
        reference = self.reference_mel(reference_audio)
        extra: dict = {}
        units: List[Tuple[int, int, List[str]]] = []
        for i, item in enumerate(inputs):
            for j, chunk in enumerate(self.pieces(item)):
                units.append((i, j, chunk))
        order = sorted(range(len(units)), key=lambda k: len(units[k][2]))
        results: dict = {}
        alpha = 1.0 / speed
        with torch.inference_mode(), tqdm(total=len(units), desc="synth", unit="sent", disable=not progress) as bar:
            for start in range(0, len(order), batch_size):
                chosen = [units[k] for k in order[start:start + batch_size]]
                ids = [torch.tensor(self.task.tokens.encode(c[2]), dtype=torch.long) for c in chosen]
                lengths = torch.tensor([len(x) for x in ids], device=self.device)
                tokens = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True).to(self.device)
                speakers = torch.full((len(ids),), spk, dtype=torch.long, device=self.device)
                vectors = None if vector is None else vector.expand(len(ids), -1)
                if reference is not None:
                    extra = {"reference_mel": reference.expand(len(ids), -1, -1),
                             "reference_mel_lengths": torch.full((len(ids),), reference.size(1), device=self.device)}
                elif speaker in self.utterance_vectors:
                    extra = {"utterance_vector": self.utterance_vectors[speaker].to(self.device)}
                out = self.model.synthesize(tokens, lengths, speakers=speakers, alpha=alpha, pitch_shift=pitch_shift,
                                            energy_scale=energy_scale, speaker_vectors=vectors, **extra)
                mel = out["mel_post"].float().cpu() * self.mel_std + self.mel_mean
                frame_lengths = out["frame_lengths"].cpu()
                wavs = self.vocoder(mel.to(self.device), frame_lengths.to(self.device))
                durations = out["scaled_durations"].cpu()
                attention = out["attention"].float().cpu() if "attention" in out else None
                for b, (i, j, chunk) in enumerate(chosen):
                    t = int(frame_lengths[b])
                    att = attention[b, :t, : len(chunk)].numpy() if attention is not None else None
                    results[(i, j)] = (wavs[b], mel[b, :t].numpy(), durations[b, : len(chunk)].tolist(), chunk, att)
                bar.update(len(chosen))
        for i, item in enumerate(inputs):
            parts = [results[key] for key in sorted(k for k in results if k[0] == i)]
            yield SynthesisOutput(
                uttid=item.uttid,
                wav=np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.float32),
                mel=np.concatenate([p[1] for p in parts]),
                durations=[d for p in parts for d in p[2]],
                tokens=[t for p in parts for t in p[3]],
                attention=block_diagonal([p[4] for p in parts]) if parts and parts[0][4] is not None else None,
            )


def block_diagonal(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """The attention of an input synthesised in pieces: each piece's ``(frames, tokens)`` block on the diagonal."""
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)), dtype=np.float32)
    row = col = 0
    for block in blocks:
        out[row:row + block.shape[0], col:col + block.shape[1]] = block
        row, col = row + block.shape[0], col + block.shape[1]
    return out


def read_text_inputs(path: PathLike, with_ids: bool) -> List[SynthesisInput]:
    """Lines of a text file as inputs: ``uttid text`` (Kaldi ``text``) or plain text lines."""
    from speechtools.fileio import checked_id, read_lines

    p = Path(path)
    inputs: List[SynthesisInput] = []
    seen = set()
    for number, line in read_lines(p):
        if with_ids:
            uttid, _, text = line.strip().partition(" ")
            if not uttid:
                raise UserError("empty line (expected 'uttid text')", p, number)
            checked_id(uttid, "utterance id", p, number)
            if uttid in seen:
                raise UserError(f"duplicate id {uttid!r}", p, number)
            seen.add(uttid)
        else:
            uttid, text = f"{p.stem}_{number:04d}", line
        inputs.append(SynthesisInput(uttid, text, str(p), number))
    if not inputs:
        raise UserError("no lines to synthesise", p)
    return inputs
