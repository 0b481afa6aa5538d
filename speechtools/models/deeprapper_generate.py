"""DeepRapper generation: top-k sampling with the rhyme constraint, lines written right to left.

The prompt (lines in reading order) is encoded as in training (``[MASK]``, reversed lines with
``[SEP]``) and the model continues it one token at a time (:meth:`DeepRapper.step`), tracking
each new token's sentence, intra-sentence position and beat ids as :func:`encode_song` assigns
them. At each step the next-token distribution (softmax of logits / temperature) is shaped:

* never sampled: ``<pad>``, ``<unk>``, ``[MASK]``, tempo tokens, ``[CLS]`` (the song ends after
  ``lines`` new lines), ``[BEAT]`` unless beats are modelled (``beat_mode: local``), ``[SEP]``
  as a line's first token (no empty line); ``[SEP]`` is forced after ``max_line_tokens``;
* **rhyme constraint** (:func:`rhyme_boost`; the released ``beam_search.py``'s
  ``_control_rhymes``/``_rescale_rhymes``): when a line starts, with probability ``bound``
  the line is constrained; its n-th rhyming token (n < ``count``; in generation order, so the
  n-th token from the line's end) then takes the targets of the n-th rhyming tokens of the
  previous ``lines`` lines: every token whose rhyme class is a target gets
  ``p ← α·p + (1 − α)``, ``[BEAT]`` too when beats are modelled, and ``[SEP]`` gets 0. Other
  probabilities are unchanged and nothing is renormalised; top-k sampling then draws among the
  ``k`` largest in proportion to them (as the released code's ``torch.topk`` +
  ``torch.multinomial``). ``[BEAT]`` and tokens that cannot rhyme (punctuation) do not use up a
  rhyme position; an UNK class is never a target.

The constraint needs lines in reverse order (it shapes a line's first tokens); for a
left-to-right model it is off. Randomness (the constraint's coin and the sampling) comes from one ``torch.Generator``, so a
seed reproduces the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set

import torch

from speechtools.errors import UserError
from speechtools.models.deeprapper import DeepRapper
from speechtools.music.lyrics import (
    BEAT, BOS, EOS, SEP, TEMPOS, BeatMode, Line, LyricsVocab, Song, decode_sequence, encode_song, parse_line,
)
from speechtools.music.rhyme import RhymeScheme
from speechtools.text.tokens import PAD, UNK


@dataclass
class RhymeControl:
    """The rhyme constraint's constants (released ``generate.sh``: count 1, α 0.95, bound 1.0, 1 line)."""

    count: int = 1
    alpha: float = 0.95
    bound: float = 1.0
    lines: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or self.lines < 1:
            raise UserError(f"rhyme count and lines must be >= 1, got {self.count} and {self.lines}")
        if not 0.0 <= self.alpha <= 1.0 or not 0.0 <= self.bound <= 1.0:
            raise UserError(f"rhyme alpha and bound must lie in [0, 1], got {self.alpha} and {self.bound}")


@dataclass
class SamplingConfig:
    """Top-k sampling: ``top_k`` candidates, ``temperature`` on the logits, at most ``max_line_tokens`` per line."""

    top_k: int = 8
    temperature: float = 1.0
    max_line_tokens: int = 32

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.max_line_tokens < 1 or not self.temperature > 0:
            raise UserError("top-k and max line tokens must be >= 1 and the temperature > 0")


def rhyme_boost(probs: torch.Tensor, match: torch.Tensor, alpha: float, sep_id: int, beat_id: Optional[int]) -> torch.Tensor:
    """DeepRapper's rhyme rescaling (released ``_rescale_rhymes``) of next-token probabilities ``(..., V)``:
    ``p ← α·p + (1 − α)`` where ``match`` (and at ``beat_id`` when given), ``p[sep_id] ← 0``;
    every other entry unchanged, no renormalisation."""
    boost = match.clone()
    if beat_id is not None:
        boost[..., beat_id] = True
    out = torch.where(boost, alpha * probs + (1.0 - alpha), probs)
    out[..., sep_id] = 0.0
    return out


def rhyme_targets(lines: Sequence[Sequence[int]], count: int, n_lines: int) -> List[Set[int]]:
    """Targets of positions ``0..count-1`` of a new line: the n-th known rhyme id (> 1) of each of
    the last ``n_lines`` lines (each line's rhyme ids in generation order, i.e. from its end)."""
    targets: List[Set[int]] = [set() for _ in range(count)]
    for line in lines[-n_lines:]:
        known = [r for r in line if r > 0]
        for n in range(min(count, len(known))):
            if known[n] > 1:
                targets[n].add(known[n])
    return targets


def prompt_lines(text: str, lang: str, vocab: LyricsVocab, strict: bool = True) -> List[Line]:
    """The prompt's lines (one per text line, ``[BEAT]`` marks allowed); an empty prompt is a
    :class:`UserError`, and so is a token outside the model's vocabulary when ``strict`` (else
    the model reads it as ``<unk>`` and the output keeps its text)."""
    lines = [parse_line(t, lang, "--prompt", k)[0] for k, t in enumerate(text.splitlines(), start=1) if t.strip()]
    lines = [line for line in lines if line.tokens]
    if not lines:
        raise UserError("--prompt: the prompt is empty (give at least one line of lyrics)")
    unknown = sorted({t for line in lines for t in line.tokens if t not in vocab.tokens})
    if unknown and strict:
        shown = " ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        raise UserError(f"--prompt: {len(unknown)} token(s) not in the model's vocabulary: {shown}")
    return lines


class _Song:
    """The growing sequence and the per-token ids :func:`encode_song` would assign it."""

    def __init__(self, tokens: List[str], ids: Dict[str, List[int]], lines_done: int, beats: int) -> None:
        self.tokens = tokens
        self.ids = ids
        self.line = lines_done + 1
        self.position = 0
        self.beats = beats
        self.pending_beat = False
        self.rhymes: List[List[int]] = []
        self.current: List[int] = []


@torch.inference_mode()
def generate_song(model: DeepRapper, vocab: LyricsVocab, scheme: RhymeScheme, prompt: List[Line], lines: int,
                  beat_mode: BeatMode, reverse: bool, sampling: SamplingConfig, control: Optional[RhymeControl],
                  generator: torch.Generator, tempo: Optional[str] = None) -> List[Line]:
    """The prompt's lines followed by ``lines`` generated lines, in reading order (module docstring).
    Generation stops early (fewer lines, the last one possibly unfinished) when the sequence
    fills the model's context (``max_length`` tokens)."""
    enc = encode_song(Song(prompt, tempo), beat_mode, reverse)
    del enc.tokens[-1], enc.sentence[-1], enc.position[-1], enc.beat[-1]  # no [CLS]: the song goes on
    ids = vocab.encode(enc, scheme)
    device = next(model.parameters()).device
    index = vocab.tokens.index
    token_rhymes = torch.tensor(vocab.token_rhyme_ids(scheme), device=device)
    banned = [index[t] for t in (PAD, UNK, BOS, EOS) + TEMPOS] + ([] if beat_mode == "local" else [index[BEAT]])
    sep, beat_id = index[SEP], (index[BEAT] if beat_mode == "local" else None)
    song = _Song(list(enc.tokens), ids, len(prompt), max(enc.beat, default=0))
    song.rhymes = [[r for r in (vocab.rhyme_id(scheme.rhyme(t)) for t in reversed(line.tokens)) if r > 0] for line in prompt]
    if not reverse:
        control = None  # the constraint shapes a line's first tokens: its end only when lines are reversed
    state = model.init_state(1)
    logp = model.step(state=state, **{k: torch.tensor([v], device=device) for k, v in ids.items()})
    limit = model.conf.max_length
    targets = _new_line_targets(song, control, generator)
    done = 0
    while done < lines and len(song.tokens) < limit:
        probs = torch.softmax(logp[0] / sampling.temperature, dim=-1)
        probs[banned] = 0.0
        if song.position == 0:
            probs[sep] = 0.0
        if song.position >= sampling.max_line_tokens:
            probs = torch.zeros_like(probs)
            probs[sep] = 1.0
        elif targets is not None and len(song.current) < len(targets) and targets[len(song.current)]:
            match = torch.isin(token_rhymes, torch.tensor(sorted(targets[len(song.current)]), device=device))
            probs = rhyme_boost(probs, match, control.alpha, sep, beat_id)  # type: ignore[union-attr]
        values, candidates = probs.topk(min(sampling.top_k, probs.numel()))
        choice = int(candidates[torch.multinomial(values.cpu(), 1, generator=generator)])
        step = _advance(song, choice, vocab, token_rhymes, sep, index[BEAT])
        if choice == sep:
            done += 1
            song.rhymes.append(song.current)
            song.current = []
            targets = _new_line_targets(song, control, generator)
        logp = model.step(state=state, **{k: torch.tensor([[v]], device=device) for k, v in step.items()})
    return decode_sequence(song.tokens, reverse)


def _new_line_targets(song: _Song, control: Optional[RhymeControl], generator: torch.Generator) -> Optional[List[Set[int]]]:
    """At a line start: with probability ``bound`` the targets of the line's rhyme positions, else ``None``."""
    if control is None or not song.rhymes:
        return None
    if float(torch.rand(1, generator=generator)) >= control.bound:
        return None
    return rhyme_targets(song.rhymes, control.count, control.lines)


def _advance(song: _Song, choice: int, vocab: LyricsVocab, token_rhymes: torch.Tensor, sep: int, beat: int) -> Dict[str, int]:
    """Append token ``choice`` and return its id streams (the ids :func:`encode_song` gives it)."""
    token = vocab.tokens.tokens[choice]
    song.tokens.append(token)
    if choice in (sep, beat):
        ids = {"tokens": choice, "rhymes": 0, "sentences": song.line, "positions": 0, "beats": 0}
        if choice == sep:
            song.line += 1
            song.position = 0
            song.pending_beat = False
        else:
            song.pending_beat = True
        return ids
    song.position += 1
    beat_id = 0
    if song.pending_beat:
        song.beats += 1
        beat_id = song.beats
        song.pending_beat = False
    rhyme = int(token_rhymes[choice])
    if rhyme > 0:
        song.current.append(rhyme)
    return {"tokens": choice, "rhymes": rhyme, "sentences": song.line, "positions": song.position, "beats": beat_id}
