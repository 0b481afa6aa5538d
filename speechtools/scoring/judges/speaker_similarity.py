"""Speaker similarity: the cosine of d-vectors of the output and of real speech, by the ``resemblyzer`` encoder.

The encoder is the GE2E speaker encoder (Wan et al., "Generalized end-to-end loss for speaker
verification", ICASSP 2018) that ``resemblyzer`` ships inside its wheel (``pretrained.pt``, no
download): a 3-layer LSTM over 40-band mel frames of 16 kHz audio, whose last hidden state is
projected to a 256-dimensional, ReLU'd and L2-normalised vector. ``embed_utterance`` averages
the vectors of 1.6 s windows (hopped so that 1.3 windows start per second) and L2-normalises the
mean. Before that, ``preprocess_wav`` raises quiet audio to −30 dBFS and cuts long silences
with WebRTC's VAD (30 ms frames, mode 3).

Two references:

* :class:`SpeakerSimilarity`: the recording with the same utterance id (``Utterance.ref``);
* :class:`CentroidSimilarity`: the speaker's centroid, the re-normalised mean of the embeddings of
  every reference utterance (:meth:`CentroidSimilarity.enroll`) except the one with the scored
  utterance's own id, so that a real clip is never compared with itself.

The value is ``a·b / (|a| |b|)``, in [−1, 1]; the encoder's vectors are non-negative, so in
practice in [0, 1], 1 for the same waveform. Audio with less than :data:`MIN_SPEECH_S` of
speech left after the VAD (silence, a click) has no embedding: the value is undefined.
"""

from __future__ import annotations

import warnings
from typing import Callable, Dict, Mapping, Optional

import numpy as np

from speechtools.scoring.judges.base import Audio, Judge, UndefinedMetric, Utterance, require
from speechtools.scoring.judges.metrics import SPEAKER_SIM

RATE = 16000  # resemblyzer's sampling_rate
MIN_SPEECH_S = 0.5  # speech kept by the VAD below which an embedding means little (a window is 1.6 s)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """``a·b / (|a| |b|)`` in float64.

    Raises:
        UndefinedMetric: a zero vector.
    """
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = float(np.linalg.norm(a64) * np.linalg.norm(b64))
    if norms == 0.0:
        raise UndefinedMetric("a speaker embedding is the zero vector")
    return float(np.dot(a64, b64) / norms)


class SpeakerSimilarity(Judge):
    """Cosine of the output's d-vector with the d-vector of the recording of the same utterance (higher is better)."""

    metrics = (SPEAKER_SIM,)
    needs_reference = True

    def __init__(self, min_speech_s: float = MIN_SPEECH_S) -> None:
        self.min_speech_s = min_speech_s
        self._encoder: Optional[Callable[[np.ndarray], np.ndarray]] = None
        self._preprocess: Optional[Callable[[np.ndarray], np.ndarray]] = None

    def load(self) -> None:
        """Import resemblyzer (webrtcvad warns that pkg_resources is deprecated: silenced) and load its encoder on the CPU."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resemblyzer = require("resemblyzer")
        self._encoder = resemblyzer.VoiceEncoder("cpu", verbose=False).embed_utterance
        self._preprocess = resemblyzer.preprocess_wav

    def embed(self, wav_16k: np.ndarray, what: str) -> np.ndarray:
        """The d-vector of a 16 kHz waveform (``what`` names it in the reason it has none).

        Raises:
            UndefinedMetric: less than ``min_speech_s`` of speech after the VAD.
        """
        if self._encoder is None or self._preprocess is None:
            raise RuntimeError("SpeakerSimilarity.load() was not called")
        with np.errstate(divide="ignore", invalid="ignore"):  # silence: log10(0) in the volume normalisation
            speech = self._preprocess(np.asarray(wav_16k, dtype=np.float32))
        if len(speech) < self.min_speech_s * RATE:
            raise UndefinedMetric(f"{what} has {len(speech) / RATE:.2f} s of speech after the VAD "
                                  f"(silent or shorter than {self.min_speech_s:g} s)")
        return np.asarray(self._encoder(speech), dtype=np.float64)

    def similarity(self, utt: Utterance) -> float:
        """The cosine for one utterance (raises :class:`UndefinedMetric`)."""
        if utt.ref is None:
            raise ValueError(f"utterance {utt.uttid}: no reference recording")
        return cosine(self.embed(utt.hyp.at(RATE), "the output"), self.embed(utt.ref.at(RATE), "the recording"))

    def score(self, utt: Utterance) -> Dict[str, float]:
        return {SPEAKER_SIM.key: utt.value(SPEAKER_SIM.label, lambda: self.similarity(utt))}


class CentroidSimilarity(SpeakerSimilarity):
    """Cosine of the output's d-vector with the speaker's centroid, leaving out the reference with the output's id."""

    needs_reference = False

    def __init__(self, min_speech_s: float = MIN_SPEECH_S) -> None:
        super().__init__(min_speech_s)
        self.members: Dict[str, np.ndarray] = {}

    def enroll(self, refs: Mapping[str, Audio], warn: Callable[[str], None] = lambda line: None) -> None:
        """Embed the reference utterances; one without enough speech is left out of the centroid (a line to ``warn``)."""
        for uttid, audio in refs.items():
            try:
                self.members[uttid] = self.embed(audio.at(RATE), "the recording")
            except UndefinedMetric as exc:
                warn(f"reference utterance {uttid}: left out of the centroid: {exc}")
            finally:
                audio.release()

    def centroid(self, leave_out: Optional[str] = None) -> np.ndarray:
        """The re-normalised mean of the members' embeddings, without ``leave_out``'s.

        Raises:
            UndefinedMetric: no member is left.
        """
        vectors = [v for u, v in self.members.items() if u != leave_out]
        if not vectors:
            raise UndefinedMetric("no other reference utterance has an embedding for the centroid")
        mean = np.mean(vectors, axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            raise UndefinedMetric("the centroid is the zero vector")
        return mean / norm

    def similarity(self, utt: Utterance) -> float:
        return cosine(self.embed(utt.hyp.at(RATE), "the output"), self.centroid(leave_out=utt.uttid))
