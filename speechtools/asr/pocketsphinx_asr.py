"""Off-the-shelf English ASR with pocketsphinx (CMU Sphinx 5) for intelligibility scoring.

pocketsphinx ships its own US-English acoustic model, dictionary and language model, so no
download is needed; it is an optional extra (``pip install 'speechtools[asr]'``). Audio is
converted to 16 kHz mono 16-bit PCM, the rate of that model, and decoded as one utterance.
"""

from __future__ import annotations

from typing import Any, List

import numpy as np

from speechtools.errors import UserError

SAMPLE_RATE = 16000


def _import_pocketsphinx() -> Any:
    try:
        import pocketsphinx
    except ImportError:
        raise UserError("pocketsphinx is not installed: pip install 'speechtools[asr]' (or pip install pocketsphinx)") from None
    return pocketsphinx


class PocketsphinxRecognizer:
    """One decoder, reused across utterances (loading the model takes about a second)."""

    def __init__(self) -> None:
        ps = _import_pocketsphinx()
        self.decoder = ps.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def recognize(self, wav_16k: np.ndarray) -> str:
        """1-best word sequence (lower case, no fillers) of a 16 kHz float waveform in [-1, 1]."""
        return self.recognize_nbest(wav_16k, 0)[0]

    def recognize_nbest(self, wav_16k: np.ndarray, n: int) -> List[str]:
        """The 1-best followed by the first ``n`` entries of the decoder's n-best list (lattice
        A* search; entries may repeat the 1-best or each other, as in the corpus provider's
        ``asr_hyp.tsv``), each lower case; an entry without a hypothesis (no speech found) is
        empty."""
        pcm = (np.clip(np.asarray(wav_16k, dtype=np.float32), -1.0, 1.0) * 32767.0).astype(np.int16)
        self.decoder.start_utt()
        self.decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
        self.decoder.end_utt()
        entries = [h for _, h in zip(range(n), self.decoder.nbest())] if n > 0 else []
        return [_words(h) for h in [self.decoder.hyp()] + entries]


def _words(hyp: Any) -> str:
    """A pocketsphinx hypothesis (or None) as lower-case words."""
    return " ".join(w.lower() for w in hyp.hypstr.split()) if hyp is not None else ""
