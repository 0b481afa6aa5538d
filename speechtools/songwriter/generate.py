"""Lyric-to-melody and melody-to-lyric generation with a trained SongMASS model directory.

Both directions run :func:`speechtools.nn.beam_search.beam_search` with the model's sentence-count
rule (the output has as many ``[sep]`` sentences as the input; SongMASS Sec. 3.3), then read the
decoder's cross-attention of the best hypothesis (one teacher-forced pass, averaged over layers and
heads), sum it over each note's pitch and duration tokens, and align syllables to notes sentence by
sentence with the DP of :func:`speechtools.music.syllable_alignment.align_syllables` (one or more
consecutive notes per syllable, monotonic, maximising the summed attention).

Fallbacks (counted in the result): a generated sentence with fewer notes than syllables has its
longest notes halved (down to 1/4 beat), then 1/4-beat notes of its last pitch appended, until
every syllable can have a note; a generated lyric sentence with more syllables than the melody
sentence has notes keeps only its first syllables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

from speechtools.models.songmass import sentence_mask
from speechtools.music.lyric_melody import SEP, Note, Song, Syllable, lyric_tokens, melody_tokens, normalise_notes
from speechtools.music.song_io import parse_melody
from speechtools.music.song_vocab import ALIGN_ID, EOS_ID, N_SPECIALS, SEP_ID, SPECIALS
from speechtools.music.syllable_alignment import align_syllables
from speechtools.nn.beam_search import beam_search
from speechtools.tasks.songmass import with_eos


@dataclass
class Generated:
    """A generated song, its output tokens and how many times a fallback was needed."""

    song: Song
    tokens: List[str]
    fallbacks: int


class _Search:
    """The model as :func:`beam_search` sees it, with the source's sentence indices and length limit."""

    def __init__(self, model: Any, sentences: torch.Tensor, max_lengths: torch.Tensor) -> None:
        self.model, self.sentences, self.max_lengths = model, sentences, max_lengths

    def init_state(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Dict[str, Any]:
        return self.model.init_state(src, src_lengths, self.sentences, self.max_lengths)

    def step(self, tokens: torch.Tensor, state: Dict[str, Any]) -> torch.Tensor:
        return self.model.step(tokens, state)

    def reorder(self, state: Dict[str, Any], index: torch.Tensor) -> None:
        self.model.reorder(state, index)


def translate(model: Any, direction: Tuple[str, str], src_ids: List[int], max_len: int, beam: int,
              device: torch.device) -> Tuple[List[int], np.ndarray, List[int]]:
    """Best output ids, its cross-attention ``(output tokens, source tokens)`` and the source sentence indices."""
    source, sentences, _ = with_eos(src_ids)
    src = torch.tensor([source], device=device)
    sent = torch.tensor([sentences], device=device)
    model.direction = direction
    limit = torch.tensor([max_len], device=device)
    out = beam_search(_Search(model, sent, limit), src, torch.tensor([len(source)], device=device), EOS_ID, EOS_ID, beam, limit)[0]
    out = [t for t in out if t != ALIGN_ID]  # never a training target; dropped so positions match the attention rows
    target, target_sentences, _ = with_eos(out)
    memory, pad = model.memory(direction[0], direction[1], src, torch.tensor([len(source)], device=device))
    mask = sentence_mask(pad, sent if model.conf.sentence_constraint else None,
                         torch.tensor([target_sentences], device=device) if model.conf.sentence_constraint else None)
    prev = torch.tensor([[EOS_ID] + target[:-1]], device=device)
    _, weights = model.decode(direction[1], prev, torch.arange(len(target), device=device)[None], memory, mask)
    attention = torch.stack(weights).mean(0)[0].float().cpu().numpy()
    return out, attention, sentences


def enough_notes(notes: List[Note], needed: int) -> Tuple[List[Note], int]:
    """``notes`` with the longest halved (then 1/4-beat notes appended) until there are ``needed``; and how many changes."""
    notes = list(notes)
    changes = 0
    while len(notes) < needed:
        k = max(range(len(notes)), key=lambda i: notes[i].duration) if notes else -1
        if k >= 0 and notes[k].duration >= 0.5:
            half = notes[k].duration / 2
            notes[k:k + 1] = [Note(notes[k].pitch, half, notes[k].rest), Note(notes[k].pitch, half, 0.0)]
        else:
            notes.append(Note(notes[-1].pitch if notes else 60, 0.25, 0.0))
        changes += 1
    return notes, changes


def grouped(items: Sequence[Any], assignment: np.ndarray, count: int) -> List[List[Any]]:
    """``items`` grouped by their assigned index (0..count-1), order kept."""
    out: List[List[Any]] = [[] for _ in range(count)]
    for item, k in zip(items, assignment):
        out[int(k)].append(item)
    return out


def generate_melody(loaded: Any, lyrics: Song, beam: int = 5) -> Generated:
    """A melody for ``lyrics`` (a song of syllables without notes), notes aligned to syllables by the DP."""
    task, model, device = loaded.task, loaded.model, loaded.device
    src_ids = task.lyric.ids(lyric_tokens(lyrics))
    syllables = len(lyrics.syllables())
    max_len = 8 * syllables + 2 * len(lyrics.sentences) + 10
    with torch.inference_mode():
        out, attention, src_sentences = translate(model, ("lyric", "melody"), src_ids, max_len, beam, device)
    tokens = task.melody.strings(out)
    parsed = parse_melody(tokens)
    source, _, _ = with_eos(src_ids)
    sentences, fallbacks = [], 0
    for k, sentence in enumerate(lyrics.sentences):
        words_syl = [syl for word in sentence for syl in word]
        columns = [j for j, (t, s) in enumerate(zip(source, src_sentences)) if s == k and t not in (SEP_ID, EOS_ID)]  # syllables (<unk> too)
        entries = parsed[k] if k < len(parsed) else []
        notes = [note for note, _ in entries]
        if len(notes) >= len(words_syl):
            scores = np.array([attention[positions][:, columns].sum(axis=0) for _, positions in entries]).reshape(len(notes), len(columns))
        else:
            notes, changes = enough_notes(notes, len(words_syl))
            fallbacks += changes
            scores = np.zeros((len(notes), len(columns)))  # no attention for the invented notes: the DP spreads them in order
        groups = grouped(notes, align_syllables(scores), len(words_syl))
        it = iter(groups)
        sentences.append([[Syllable(syl.text, next(it)) for syl in word] for word in sentence])
    return Generated(Song(lyrics.name, sentences), tokens, fallbacks)


def generate_lyrics(loaded: Any, melody: List[List[Note]], name: str, beam: int = 5) -> Generated:
    """Lyrics for a melody (sentences of notes): syllables aligned to the notes by the DP."""
    task, model, device = loaded.task, loaded.model, loaded.device
    flat = [n for sentence in melody for n in sentence]
    normal = iter(normalise_notes(flat))
    model_input = Song(name, [[[Syllable("", [next(normal)])] for _ in sentence] for sentence in melody])
    src_tokens = melody_tokens(model_input, align=False)
    src_ids = task.melody.ids(src_tokens)
    max_len = len(flat) + len(melody) + 5
    with torch.inference_mode():
        out, attention, src_sentences = translate(model, ("melody", "lyric"), src_ids, max_len, beam, device)
    tokens = task.lyric.strings(out)
    hyp_sentences: List[List[Tuple[str, int]]] = [[]]
    for position, token in enumerate(tokens):
        if token == SEP:
            hyp_sentences.append([])
        elif out[position] >= N_SPECIALS:
            hyp_sentences[-1].append((token, position))
    parsed = parse_melody(src_tokens)
    sentences, fallbacks = [], 0
    for k, notes in enumerate(melody):
        hyp = hyp_sentences[k] if k < len(hyp_sentences) else []
        if len(hyp) > len(notes):
            fallbacks += len(hyp) - len(notes)
            hyp = hyp[: len(notes)]
        if not hyp:
            sentences.append([[Syllable("", list(notes))]])
            continue
        note_positions = [positions for _, positions in parsed[k]]
        scores = np.array([[attention[row, positions].sum() for row in [p for _, p in hyp]] for positions in note_positions])
        groups = grouped(notes, align_syllables(scores), len(hyp))
        sentences.append([[Syllable(text, group)] for (text, _), group in zip(hyp, groups)])
    return Generated(Song(name, sentences), tokens, fallbacks)



def syllable_counts(tokens: Sequence[str]) -> List[int]:
    """Generated syllables (``<unk>`` included, other specials not) per ``[sep]`` sentence of lyric tokens."""
    counts = [0]
    for token in tokens:
        if token == SEP:
            counts.append(0)
        elif token == "<unk>" or token not in SPECIALS:
            counts[-1] += 1
    return counts if counts[-1] else counts[:-1]
