"""Lyrics as DeepRapper reads them: the text format, tokens, reverse-order lines with ``[SEP]``.

**Text format** (one file, UTF-8; what ``music prepare-lyrics`` writes and ``music rap`` and
``score lyrics`` read): one lyric line (sentence) per line, songs separated by blank lines.
``[BEAT]`` stands before an on-beat character (word, in English); an optional tempo tag
``[S]``, ``[M]`` or ``[F]`` (slow, medium, fast) may open a song's first line; an optional
timestamp prefix ``12_[00:15.15]`` (the layout of DeepRapper's beat-aligned lyric files) is
dropped. Chinese lines are split into characters (whitespace dropped), English lines into
lower-cased words (punctuation dropped).

**Sequence** (DeepRapper, Sec. 3; the released code's layout): ``[MASK]`` opens a song, each
line follows with its tokens in *reverse* order (the rhyming token first) and ends with
``[SEP]``, ``[CLS]`` closes the song. Beside each token the model reads

* ``sentence``: the line's 1-based index (``[SEP]`` and ``[BEAT]`` belong to their line),
  0 for ``[MASK]``, ``[CLS]`` and the tempo token;
* ``position``: 1-based position of the token inside its line among the non-special tokens
  (so the rhyming token is position 1), 0 for special tokens;
* ``beat``: by ``beat_mode``: ``none`` drops ``[BEAT]`` marks and tempo tags (all beats 0);
  ``global`` keeps the song's tempo token after ``[MASK]`` and drops ``[BEAT]`` marks;
  ``local`` keeps ``[BEAT]`` before its on-beat token, and the on-beat token gets the
  cumulative count of beats of the song so far (1, 2, ...), every other token 0 (the released
  code's ``beat_mode`` 0/1/2).

:func:`encode_song` builds the sequence, :func:`decode_sequence` turns any sequence (or
generated prefix) back into lines in reading order, so reversing and restoring is lossless.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Literal, Optional, Sequence, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines, write_lines
from speechtools.music.rhyme import MANDARIN_CLASSES, UNK_RHYME, RhymeScheme
from speechtools.text.tokens import PAD, UNK, TokenList

BOS = "[MASK]"
EOS = "[CLS]"
SEP = "[SEP]"
BEAT = "[BEAT]"
TEMPOS = ("[S]", "[M]", "[F]")
SPECIALS: Tuple[str, ...] = (PAD, UNK, BOS, EOS, SEP, BEAT) + TEMPOS
"""The special tokens, first in every lyrics ``tokens.txt`` in this order."""

BeatMode = Literal["none", "global", "local"]
BEAT_MODES = ("none", "global", "local")

_TIMESTAMP = re.compile(r"^\d+_\[\d+:\d+(?:\.\d+)?\]")
_TAG = re.compile(r"\[[^\[\]]*\]")
_EN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*", re.IGNORECASE)


@dataclass
class Line:
    """One lyric line in reading order: its tokens and, per token, whether it is on a beat."""

    tokens: List[str]
    beats: List[bool]

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.beats):
            raise ValueError("tokens and beats differ in length")


@dataclass
class Song:
    """A song: its lines, its tempo tag (``None``: none given) and where it starts (``file:line``)."""

    lines: List[Line]
    tempo: Optional[str] = None
    source: str = ""


@dataclass
class EncodedSong:
    """A song as DeepRapper's model reads it: token strings and their sentence, position and beat ids."""

    tokens: List[str] = field(default_factory=list)
    sentence: List[int] = field(default_factory=list)
    position: List[int] = field(default_factory=list)
    beat: List[int] = field(default_factory=list)

    def add(self, token: str, sentence: int, position: int, beat: int) -> None:
        """Append one token with its ids."""
        self.tokens.append(token)
        self.sentence.append(sentence)
        self.position.append(position)
        self.beat.append(beat)


def split_tokens(text: str, lang: str) -> List[str]:
    """Tokens of plain text (no tags): Chinese characters without whitespace (punctuation
    kept); English lower-cased words with inner apostrophes (``'tis``, ``o'er``: a leading
    apostrophe is dropped), punctuation dropped."""
    if lang == "zh":
        return [c for c in text if not c.isspace()]
    return [t.lower().replace("’", "'") for t in _EN_WORD.findall(text)]


def parse_line(text: str, lang: str, path: Optional[PathLike] = None, number: Optional[int] = None,
               allow_tempo: bool = False) -> Tuple[Line, Optional[str]]:
    """One text line → (:class:`Line`, tempo tag or ``None``).

    ``[BEAT]`` marks the next token as on-beat; a tempo tag is accepted only at the start of a
    song's first line (``allow_tempo``). An unknown ``[...]`` tag, ``[BEAT]`` with no token
    after it, or a misplaced tempo tag is a :class:`UserError` naming file and line.
    """
    text = _TIMESTAMP.sub("", text.strip()).strip()
    tempo = None
    tokens: List[str] = []
    beats: List[bool] = []
    pending = False
    pos = 0
    for match in list(_TAG.finditer(text)) + [None]:
        chunk = text[pos: match.start() if match else len(text)]
        for token in split_tokens(chunk, lang):
            tokens.append(token)
            beats.append(pending)
            pending = False
        if match is None:
            break
        tag = match.group(0)
        pos = match.end()
        if tag == BEAT:
            pending = True
        elif tag in TEMPOS:
            if not allow_tempo or tokens or tempo is not None or pending:
                raise UserError(f"tempo tag {tag} is allowed only at the start of a song's first line", path, number)
            tempo = tag
        else:
            raise UserError(f"unknown tag {tag} (known: {BEAT}, {', '.join(TEMPOS)})", path, number)
    if pending:
        raise UserError(f"{BEAT} at the end of the line marks no token", path, number)
    return Line(tokens, beats), tempo


def read_lyrics(path: PathLike, lang: str) -> List[Song]:
    """The songs of a lyrics file (format in the module docstring); blank lines separate songs.
    A line with no token (only tags, or English punctuation) or an empty file is a
    :class:`UserError` naming file and line."""
    songs: List[Song] = []
    current: Optional[Song] = None
    for number, text in read_lines(path):
        if not text.strip():
            current = None
            continue
        line, tempo = parse_line(text, lang, path, number, allow_tempo=current is None)
        if not line.tokens:
            raise UserError("the line has no token (only tags)", path, number)
        if current is None:
            current = Song([], tempo, f"{path}:{number}")
            songs.append(current)
        current.lines.append(line)
    if not songs:
        raise UserError("no lyrics (the file is empty)", path)
    return songs


def format_line(line: Line, lang: str) -> str:
    """A line as text, ``[BEAT]`` before its on-beat tokens (Chinese joined, English space-separated)."""
    parts = [(BEAT + t) if b else t for t, b in zip(line.tokens, line.beats)]
    return "".join(parts) if lang == "zh" else " ".join(parts)


def format_songs(songs: Sequence[Song], lang: str) -> List[str]:
    """Text lines of ``songs`` (tempo tag first where one is set), a blank line between songs."""
    out: List[str] = []
    for k, song in enumerate(songs):
        if k:
            out.append("")
        for i, line in enumerate(song.lines):
            out.append(((song.tempo or "") if i == 0 else "") + format_line(line, lang))
    return out


def write_lyrics(path: PathLike, songs: Sequence[Song], lang: str) -> None:
    """Write ``songs`` in the lyrics format, atomically."""
    write_lines(path, format_songs(songs, lang))


def reverse_line(line: Line) -> Line:
    """The line right to left; each beat flag stays with its token (so applying it twice restores the line)."""
    return Line(line.tokens[::-1], line.beats[::-1])


def encode_song(song: Song, beat_mode: BeatMode, reverse: bool = True) -> EncodedSong:
    """DeepRapper's input sequence of a song (module docstring): ``[MASK]``, each line (reversed
    when ``reverse``) + ``[SEP]``, ``[CLS]``, with sentence, position and beat ids."""
    if beat_mode not in BEAT_MODES:
        raise ValueError(f"beat_mode must be one of {BEAT_MODES}, got {beat_mode!r}")
    enc = EncodedSong()
    enc.add(BOS, 0, 0, 0)
    if beat_mode == "global" and song.tempo:
        enc.add(song.tempo, 0, 0, 0)
    count = 0
    for index, original in enumerate(song.lines, start=1):
        line = reverse_line(original) if reverse else original
        for position, (token, on_beat) in enumerate(zip(line.tokens, line.beats), start=1):
            beat = 0
            if beat_mode == "local" and on_beat:
                count += 1
                beat = count
                enc.add(BEAT, index, 0, 0)
            enc.add(token, index, position, beat)
        enc.add(SEP, index, 0, 0)
    enc.add(EOS, 0, 0, 0)
    return enc


def decode_sequence(tokens: Sequence[str], reverse: bool = True) -> List[Line]:
    """Lines in reading order of a token sequence (or a generated prefix): split at ``[SEP]``
    (an unfinished last line is kept), ``[BEAT]`` flags the next token, ``[MASK]``, ``[CLS]``,
    tempo and pad tokens are dropped, each line is reversed back when ``reverse``."""
    lines: List[Line] = []
    current = Line([], [])
    pending = False
    for token in tokens:
        if token == SEP:
            lines.append(reverse_line(current) if reverse else current)
            current, pending = Line([], []), False
        elif token == BEAT:
            pending = True
        elif token in (BOS, EOS, PAD) or token in TEMPOS:
            continue
        else:
            current.tokens.append(token)
            current.beats.append(pending)
            pending = False
    if current.tokens:
        lines.append(reverse_line(current) if reverse else current)
    return lines


def rhyme_tokens(line: Line, scheme: RhymeScheme) -> List[Optional[str]]:
    """Rhyme classes of the line's rhyming tokens, last token first (tokens that cannot rhyme skipped)."""
    classes = [scheme.rhyme(t) for t in reversed(line.tokens)]
    return [c for c in classes if c is not None]


@dataclass
class LyricsVocab:
    """The vocabulary of a lyrics model: ``tokens.txt`` (specials first) and ``rhymes.txt``
    (rhyme classes; id 0 = cannot rhyme/special, 1 = UNK, then one id per class)."""

    tokens: TokenList
    rhymes: List[str]

    def __post_init__(self) -> None:
        missing = [s for s in SPECIALS if s not in self.tokens]
        if missing:
            raise UserError(f"the lyrics token list lacks the special token(s) {', '.join(missing)}")
        self.rhyme_index = {c: i + 2 for i, c in enumerate(self.rhymes)}

    @property
    def rhyme_count(self) -> int:
        """Rows of the rhyme embedding: none, UNK and the classes."""
        return len(self.rhymes) + 2

    def rhyme_id(self, rhyme: Optional[str]) -> int:
        """0 for ``None`` (cannot rhyme), 1 for UNK or a class outside the list, else the class's id."""
        if rhyme is None:
            return 0
        return self.rhyme_index.get(rhyme, 1)

    def token_rhyme_ids(self, scheme: RhymeScheme) -> List[int]:
        """The rhyme id of every vocabulary token (specials: 0), for the decoding constraint."""
        return [0 if t in SPECIALS else self.rhyme_id(scheme.rhyme(t)) for t in self.tokens.tokens]

    def encode(self, song: EncodedSong, scheme: RhymeScheme) -> Dict[str, List[int]]:
        """The id streams of an encoded song: ``tokens`` (unknown → ``<unk>``), ``rhymes`` (from
        the token's text, so an out-of-vocabulary word keeps its rhyme), ``sentences``,
        ``positions``, ``beats``."""
        unk = self.tokens.unk_id
        return {"tokens": [self.tokens.index.get(t, unk) for t in song.tokens],
                "rhymes": [0 if t in SPECIALS else self.rhyme_id(scheme.rhyme(t)) for t in song.tokens],
                "sentences": list(song.sentence), "positions": list(song.position), "beats": list(song.beat)}

    @classmethod
    def load(cls, tokens_path: PathLike, rhymes_path: PathLike) -> "LyricsVocab":
        """Read ``tokens.txt`` and ``rhymes.txt`` (one class per line; English classes contain spaces)."""
        rhymes = [line for _, line in read_lines(rhymes_path) if line.strip()]
        return cls(TokenList.load(tokens_path), rhymes)

    def save(self, tokens_path: PathLike, rhymes_path: PathLike) -> None:
        """Write ``tokens.txt`` and ``rhymes.txt`` (each atomically)."""
        self.tokens.save(tokens_path)
        write_lines(rhymes_path, self.rhymes)


def build_vocab(songs: Iterable[Song], scheme: RhymeScheme, max_tokens: int = 0, max_rhymes: int = 0) -> LyricsVocab:
    """Tokens and rhyme classes of the training songs, most frequent first (ties in code-point
    order): ``max_tokens``/``max_rhymes`` > 0 keep that many (specials aside; the rest become
    UNK). Mandarin classes are DeepRapper's fixed 16."""
    token_counts: Counter = Counter()
    rhyme_counts: Counter = Counter()
    for song in songs:
        for line in song.lines:
            token_counts.update(line.tokens)
    for token, n in token_counts.items():
        rhyme = scheme.rhyme(token)
        if rhyme is not None and rhyme != UNK_RHYME:
            rhyme_counts[rhyme] += n
    ordered = sorted((t for t in token_counts if t not in SPECIALS and not any(c.isspace() for c in t)),
                     key=lambda t: (-token_counts[t], t))
    if max_tokens > 0:
        ordered = ordered[:max_tokens]
    if scheme.lang == "zh":
        rhymes = list(MANDARIN_CLASSES)
    else:
        rhymes = sorted(rhyme_counts, key=lambda r: (-rhyme_counts[r], r))
        if max_rhymes > 0:
            rhymes = rhymes[:max_rhymes]
    return LyricsVocab(TokenList(list(SPECIALS) + ordered), rhymes)


def lines_of_paragraph(text: str) -> List[str]:
    """A ci paragraph split into lines at sentence-final punctuation (。！？；), the final mark dropped;
    inner commas and enumeration marks stay as tokens."""
    parts = re.split(r"[。！？；!?;]+", text)
    return [p.strip().rstrip("，、,：:") for p in parts if p.strip().rstrip("，、,：:")]


def read_ci_json(paths: Sequence[Path], min_lines: int = 5) -> List[Song]:
    """Songs of chinese-poetry's ``ci.song.*.json`` files (a JSON list of ``{"author",
    "paragraphs", "rhythmic"}``): each paragraph split by :func:`lines_of_paragraph`; songs with
    fewer than ``min_lines`` lines are skipped (DeepRapper keeps songs of more than 4 lines).
    A file that is not such a list is a :class:`UserError` naming it."""
    import json

    songs: List[Song] = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read as JSON ({exc})", path) from None
        if not isinstance(data, list):
            raise UserError("expected a JSON list of ci entries", path)
        for k, entry in enumerate(data):
            if not isinstance(entry, dict) or not isinstance(entry.get("paragraphs"), list):
                raise UserError(f"entry {k} has no 'paragraphs' list", path)
            lines = [parse_line(text, "zh")[0] for para in entry["paragraphs"] if isinstance(para, str)
                     for text in lines_of_paragraph(_TAG.sub("", para))]
            lines = [line for line in lines if line.tokens]
            if len(lines) >= min_lines:
                songs.append(Song(lines, None, f"{path}#{k}"))
    if not songs:
        raise UserError(f"no ci with at least {min_lines} lines in {len(paths)} file(s)")
    return songs
