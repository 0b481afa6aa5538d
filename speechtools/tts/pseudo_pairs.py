"""A TTS model speaks unpaired text into a synthetic data directory: LRSpeech's text → speech half.

Dual transformation (LRSpeech, Xu et al., KDD 2020, Sec. 2.2): the current TTS model speaks
unpaired sentences, and the (synthetic speech, real text) pairs train the recogniser.
Knowledge distillation (Sec. 2.3): the TTS teacher speaks unpaired text and only the pairs whose
attention covered every word and stayed diagonal (WCR ≥ ``min_wcr``, ADR ≥ ``min_adr``,
:mod:`speechtools.scoring.attention`) train the students.

Output: an ordinary Kaldi data directory (``wav/<uttid>.wav`` vocoded by the synthesiser's vocoder,
``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``durations`` read from the model when its tokens
are the front-end's reading of the text, ``attention_scores``, ``synthetic.yaml``, ``dropped``) and
a feature store with the model's own log-mels (what a student trains on, no re-analysis of the
vocoded audio), plus the model's ``stats.npz``.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from speechtools.audio.io import save_audio
from speechtools.audio.store import FeatureStore
from speechtools.data.kaldi import DataDir, write_table
from speechtools.data.outdir import check_replaceable
from speechtools.data.synthetic import ATTENTION_SCORES, SYNTHETIC_DIR_NAMES, WAV_FOLDER, SyntheticMarker, write_marker
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_dir, atomic_path, id_file
from speechtools.scoring.attention import (
    DEFAULT_BAND,
    DEFAULT_MIN_BAND,
    AttentionScore,
    drop_reason,
    mean_score,
    score_attention,
    spans_from_tokens,
)
from speechtools.text.frontend import PAUSE_TOKENS, WORD_BOUNDARY
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer

WORD_SEPARATORS = (WORD_BOUNDARY, *PAUSE_TOKENS)
"""Tokens between words: a word of WCR is a maximal run of other tokens."""

DEFAULT_SPEAKER = "tts"


@dataclass
class AttentionFilter:
    """LRSpeech's distillation filter on the speaking model's attention (0 and 0 keep everything)."""

    min_wcr: float = 0.0
    min_adr: float = 0.0
    band: float = DEFAULT_BAND
    min_band: float = DEFAULT_MIN_BAND
    wcr_reduce: str = "mean"

    @property
    def active(self) -> bool:
        return self.min_wcr > 0 or self.min_adr > 0


@dataclass
class SpeakReport:
    """What :func:`speak_unpaired_text` wrote."""

    kept: List[str]
    dropped: Dict[str, str]
    scores: Dict[str, AttentionScore] = field(default_factory=dict)
    durations_written: bool = True

    def lines(self) -> List[str]:
        out = [f"{len(self.kept)} sentence(s) kept, {len(self.dropped)} dropped"]
        if self.scores:
            mean = mean_score(self.scores)
            out.append(f"mean attention of all {len(self.scores)}: WCR {mean.wcr:.3f}, ADR {mean.adr:.3f}")
        if not self.durations_written:
            out.append("no durations file: some sentences were tokenised in pieces that differ from the front-end's reading")
        return out


def _save_attention(folder: Path, uttid: str, attention: np.ndarray) -> None:
    path = id_file(folder, uttid, ".npy", "utterance id")
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, attention.astype(np.float32), allow_pickle=False)


def speak_unpaired_text(
    synth: Synthesizer, inputs: Sequence[SynthesisInput], out_data: PathLike, out_feats: PathLike,
    speaker: Optional[str] = None, attention_filter: AttentionFilter = AttentionFilter(),
    attention_dir: Optional[PathLike] = None, batch_size: int = 8, source: str = "", progress: bool = True,
) -> SpeakReport:
    """Speak every input with ``synth``; keep the pairs that pass ``attention_filter`` (LRSpeech Sec. 2.2–2.3).

    Raises:
        UserError: no inputs; a filter on a model without attention; bad text (before any audio is
            made, by the synthesiser's checks); every sentence dropped.
    """
    if not inputs:
        raise UserError("no sentences to speak", source or None)
    model_has_attention = bool(getattr(synth.model, "returns_attention", False))
    if attention_filter.active and not model_has_attention:
        raise UserError("--min-wcr/--min-adr need an attention model (Transformer TTS); this model has no attention")
    check_replaceable(out_data, SYNTHETIC_DIR_NAMES)
    with atomic_dir(out_data) as tmp:  # the old directory or the new one, never a mix
        report = _speak(synth, inputs, Path(out_data), tmp, FeatureStore(out_feats), speaker, attention_filter,
                        model_has_attention, attention_dir, batch_size, source, progress)
    return report


def _speak(synth: Synthesizer, inputs: Sequence[SynthesisInput], final: Path, tmp: Path, store: FeatureStore, speaker: Optional[str],
           attention_filter: AttentionFilter, model_has_attention: bool, attention_dir: Optional[PathLike], batch_size: int,
           source: str, progress: bool) -> SpeakReport:
    """The body of :func:`speak_unpaired_text`, writing the data directory into ``tmp`` (it becomes ``final``)."""
    att_dir = Path(attention_dir) if attention_dir is not None else None
    if att_dir is not None:
        att_dir.mkdir(parents=True, exist_ok=True)
    texts = {item.uttid: item.text for item in inputs}
    name = speaker or DEFAULT_SPEAKER
    sample_rate = synth.feature_config.sample_rate
    wav_scp: Dict[str, str] = {}
    durations: Dict[str, List[int]] = {}
    tokens_match = True
    report = SpeakReport(kept=[], dropped={})
    for out in synth.synthesize(inputs, speaker=speaker, batch_size=batch_size, progress=progress):
        if out.attention is not None:
            words = spans_from_tokens(out.tokens, WORD_SEPARATORS)
            score = score_attention(out.attention, words, attention_filter.wcr_reduce, attention_filter.band, attention_filter.min_band)
            report.scores[out.uttid] = score
            if att_dir is not None:
                _save_attention(att_dir, out.uttid, out.attention)
            reason = drop_reason(score, attention_filter.min_wcr, attention_filter.min_adr)
            if reason:
                report.dropped[out.uttid] = reason
                continue
        wav_path = id_file(tmp / WAV_FOLDER, out.uttid, ".wav", "utterance id")
        wav_path.parent.mkdir(exist_ok=True)
        save_audio(wav_path, out.wav, sample_rate)
        store.write("mel", out.uttid, out.mel.astype(np.float32))
        wav_scp[out.uttid] = str(final.resolve() / WAV_FOLDER / wav_path.name)
        durations[out.uttid] = out.durations
        tokens_match = tokens_match and out.tokens == synth.task.frontend.tokenize(texts[out.uttid])
        report.kept.append(out.uttid)
    if not report.kept:
        raise UserError(f"every sentence was dropped by the attention filter ({len(report.dropped)}); lower --min-wcr/--min-adr "
                        "or train the model longer", source or None)
    store.write_index("mel", report.kept)
    stats = synth.loaded.path / "stats.npz"
    if stats.is_file():
        with atomic_path(store.root / "stats.npz") as stats_tmp:
            shutil.copyfile(stats, stats_tmp)
    report.durations_written = tokens_match
    DataDir(wav_scp=wav_scp, text={u: texts[u] for u in report.kept}, utt2spk={u: name for u in report.kept},
            durations=durations if tokens_match else None).save(tmp)
    if report.scores:
        write_table(tmp / ATTENTION_SCORES, {u: f"{s.wcr:.4f} {s.adr:.4f}" for u, s in report.scores.items()})
    write_marker(tmp, SyntheticMarker(
        kind="speech", produced_by=str(synth.loaded.path.resolve()), command="pseudo-pairs speak", source=source,
        kept=len(report.kept), dropped=len(report.dropped),
        settings={"speaker": name, **(asdict(attention_filter) if model_has_attention else {})},
    ), report.dropped)
    return report
