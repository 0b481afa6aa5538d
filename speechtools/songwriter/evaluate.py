"""Teacher-forced evaluation of a SongMASS model on paired songs (Sheng et al. 2021, Sec. 4.2).

* **Perplexity** of each direction: ``exp`` of the mean negative log-likelihood of the reference
  target tokens (``[sep]`` and ``</s>`` included, as the reference's ``fairseq`` scoring).
* **Alignment accuracy**: the reference melody is fed to the lyric-to-melody decoder; each
  note's attention over its sentence's syllables (summed over the note's tokens, averaged over
  layers and heads) is aligned by the DP (:func:`align_syllables`) and by the per-note argmax
  baseline; accuracy = share of notes given their true syllable.
* **Syllable-count agreement** of generated lyrics (:func:`syllable_agreement`): the share of melody
  sentences whose generated syllables fit their notes (``1 <= syllables <= notes``), and the mean
  relative difference ``|generated - reference| / reference`` of syllables per sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from speechtools.models.songmass import sentence_mask
from speechtools.music.lyric_melody import ALIGN, Song, lyric_tokens, melody_tokens
from speechtools.music.song_io import parse_melody
from speechtools.music.song_vocab import EOS_ID, PAD_ID, SEP_ID
from speechtools.music.syllable_alignment import align_syllables, argmax_alignment
from speechtools.tasks.songmass import with_eos


def teacher_forced(loaded: Any, direction: Tuple[str, str], src_ids: List[int], tgt_ids: List[int]) -> Tuple[float, int, np.ndarray, List[int]]:
    """``(NLL sum, target tokens, cross-attention (target, source), source sentence indices)`` of one pair."""
    model, device = loaded.model, loaded.device
    source, src_sent, _ = with_eos(src_ids)
    target, tgt_sent, _ = with_eos(tgt_ids)
    src = torch.tensor([source], device=device)
    memory, pad = model.memory(direction[0], direction[1], src, torch.tensor([len(source)], device=device))
    constrained = model.conf.sentence_constraint
    mask = sentence_mask(pad, torch.tensor([src_sent], device=device) if constrained else None,
                         torch.tensor([tgt_sent], device=device) if constrained else None)
    prev = torch.tensor([[EOS_ID] + target[:-1]], device=device)
    logits, weights = model.decode(direction[1], prev, torch.arange(len(target), device=device)[None], memory, mask)
    nll = F.cross_entropy(logits[0].float(), torch.tensor(target, device=device), ignore_index=PAD_ID, reduction="sum")
    return float(nll), len(target), torch.stack(weights).mean(0)[0].float().cpu().numpy(), src_sent


@dataclass
class SongEvaluation:
    """Corpus figures of :func:`evaluate_songs` (module docstring)."""

    songs: int = 0
    nll: Dict[str, float] = field(default_factory=lambda: {"lyric_to_melody": 0.0, "melody_to_lyric": 0.0})
    tokens: Dict[str, int] = field(default_factory=lambda: {"lyric_to_melody": 0, "melody_to_lyric": 0})
    notes: int = 0
    dp_correct: int = 0
    argmax_correct: int = 0

    def summary(self) -> Dict[str, float]:
        """Perplexities and alignment accuracies."""
        out = {f"{k}_ppl": float(np.exp(self.nll[k] / max(self.tokens[k], 1))) for k in self.nll}
        out["alignment_accuracy_dp"] = self.dp_correct / max(self.notes, 1)
        out["alignment_accuracy_argmax"] = self.argmax_correct / max(self.notes, 1)
        out["songs"] = self.songs
        out["aligned_notes"] = self.notes
        return out


def evaluate_songs(loaded: Any, songs: Sequence[Song]) -> SongEvaluation:
    """Perplexity both ways and DP / argmax alignment accuracy over ``songs`` (under ``torch.inference_mode``)."""
    task = loaded.task
    result = SongEvaluation()
    with torch.inference_mode():
        for song in songs:
            lyric_ids = task.lyric.ids(lyric_tokens(song))
            melody = [t for t in melody_tokens(song) if t != ALIGN]
            melody_ids = task.melody.ids(melody)
            nll, n, attention, src_sent = teacher_forced(loaded, ("lyric", "melody"), lyric_ids, melody_ids)
            result.nll["lyric_to_melody"] += nll
            result.tokens["lyric_to_melody"] += n
            nll, n, _, _ = teacher_forced(loaded, ("melody", "lyric"), melody_ids, lyric_ids)
            result.nll["melody_to_lyric"] += nll
            result.tokens["melody_to_lyric"] += n
            source, _, _ = with_eos(lyric_ids)
            for k, (sentence, notes) in enumerate(zip(song.sentences, parse_melody(melody))):
                truth = [s for s, syl in enumerate(syl for word in sentence for syl in word) for _ in syl.notes]
                columns = [j for j, (t, s) in enumerate(zip(source, src_sent)) if s == k and t not in (SEP_ID, EOS_ID)]
                scores = np.array([attention[positions][:, columns].sum(axis=0) for _, positions in notes])
                result.notes += len(truth)
                result.dp_correct += int((align_syllables(scores) == np.array(truth)).sum())
                result.argmax_correct += int((argmax_alignment(scores) == np.array(truth)).sum())
            result.songs += 1
    return result


def syllable_agreement(generated: Sequence[Sequence[int]], notes: Sequence[Sequence[int]], reference: Sequence[Sequence[int]]) -> Dict[str, float]:
    """Per song, per sentence counts of generated syllables, melody notes and reference syllables → the two agreement figures."""
    fits, diffs = [], []
    for gen_song, note_song, ref_song in zip(generated, notes, reference):
        for k, (n_notes, n_ref) in enumerate(zip(note_song, ref_song)):
            n_gen = gen_song[k] if k < len(gen_song) else 0
            fits.append(1 <= n_gen <= n_notes)
            diffs.append(abs(n_gen - n_ref) / max(n_ref, 1))
    return {"syllables_fit_notes": float(np.mean(fits)) if fits else float("nan"),
            "syllable_count_rel_diff": float(np.mean(diffs)) if diffs else float("nan")}
