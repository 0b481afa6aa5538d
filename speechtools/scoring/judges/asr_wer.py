"""Intelligibility by machine: the word error rate of a recogniser's transcript of the output against the reference text.

The recogniser is given (``score vocoder --asr`` passes pocketsphinx's, :mod:`speechtools.asr`);
transcripts are case-folded and stripped of punctuation (``score wer --ignore-case
--remove-punct``, as the TTS recipes score) and aligned by :func:`speechtools.scoring.wer.align`.
Per utterance the WER is its errors over its reference words; the corpus figure pools them
(all errors / all reference words, as ``score wer``) with the Bisani–Ney bootstrap interval of
:func:`speechtools.scoring.bootstrap.bootstrap_wer` (Kaldi ``compute-wer-bootci``). An
utterance whose reference has no word has no WER and is left out of both (``score wer`` would
count its inserted words).

Beside it, the machine-listener **intelligibility rate** (LRSpeech's IR with the recogniser as the
listener): reference words the recogniser got right (alignment hits) over reference words, per
utterance and pooled, with the same bootstrap over utterances.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Sequence, Tuple

import numpy as np

from speechtools.scoring.bootstrap import bootstrap_wer
from speechtools.scoring.judges.base import Judge, Utterance
from speechtools.scoring.judges.metrics import ASR_IR, ASR_WER
from speechtools.scoring.judges.summary import Summary
from speechtools.scoring.normalize import Normalizer
from speechtools.scoring.wer import align

BOOTSTRAP_REPLICATIONS = 10000
TRANSCRIPT_NORMALIZER = Normalizer(ignore_case=True, remove_punct=True)
"""How reference and recognised text are compared (``score wer --ignore-case --remove-punct``)."""


def reference_words(text: str) -> int:
    """Words of a reference transcript as the judge counts them (the weight of its utterance in the pooled WER)."""
    return len(TRANSCRIPT_NORMALIZER(text))


class AsrWer(Judge):
    """WER (%) of ``recognize(output at rate)`` against the utterance's reference text (lower is better), and IR (%)."""

    needs_text = True
    metrics = (ASR_WER, ASR_IR)

    def __init__(self, recognize: Callable[[np.ndarray], str], rate: int,
                 normalizer: Normalizer = TRANSCRIPT_NORMALIZER) -> None:
        self.recognize, self.rate, self.normalizer = recognize, rate, normalizer
        self.counts: Dict[str, Tuple[int, int, int]] = {}  # errors, hits, reference words
        self.transcripts: Dict[str, str] = {}

    def score(self, utt: Utterance) -> Dict[str, float]:
        assert utt.text is not None
        self.transcripts[utt.uttid] = self.recognize(utt.hyp.at(self.rate))
        ref = self.normalizer(utt.text)
        ops = [op for op, _, _ in align(ref, self.normalizer(self.transcripts[utt.uttid]))]
        errors, hits = sum(op != "C" for op in ops), sum(op == "C" for op in ops)
        self.counts[utt.uttid] = (errors, hits, len(ref))
        if not ref:
            reason = "the reference transcript has no words"
            return {"asr_wer": utt.undefined("ASR WER", reason), "asr_ir": utt.undefined("IR", reason)}
        return {"asr_wer": 100.0 * errors / len(ref), "asr_ir": 100.0 * hits / len(ref)}

    def summarize(self, key: str, ids: Sequence[str], values: Sequence[float]) -> Summary:
        """Pooled WER (or IR) and bootstrap interval over the utterances whose reference has words (the others are undefined)."""
        column = 1 if key == ASR_IR.key else 0
        scored = [(self.counts[u][column], self.counts[u][2]) for u in ids if self.counts[u][2] > 0]
        n, undefined = len(scored), len(ids) - len(scored)
        if not scored:
            return Summary(math.nan, math.nan, math.nan, 0, undefined, "pooled", "bootstrap", "the references have no words")
        counted, words = (np.array(values, dtype=np.int64) for values in zip(*scored))
        value = 100.0 * float(counted.sum()) / float(words.sum())
        if n < 2:
            return Summary(value, math.nan, math.nan, n, undefined, "pooled", "bootstrap", "only one utterance has a value")
        ci = bootstrap_wer(counted, words, BOOTSTRAP_REPLICATIONS, seed=1)  # the pooled ratio's bootstrap serves hits as errors
        return Summary(value, ci.low, ci.high, n, undefined, "pooled", "bootstrap")
