"""A sentence-per-line, normalised pre-training text from raw English prose (``speechtools text prepare-corpus``).

The steps, each a function here (the command in :mod:`speechtools.cli.text` only drives them):

1. :func:`input_files`, :func:`read_text_lines`: files and folders (``.txt``, ``.txt.gz``; a
   folder gives every such file directly inside it, sorted) read as UTF-8 lines.
2. :func:`detect_layout`, :func:`paragraphs`: the units a file is made of. ``paragraphs``:
   wrapped lines are joined, a blank line ends a paragraph (novels, plays). ``lines``: each
   non-blank line is a unit (one verse, one address, one sentence per line). ``auto`` picks
   ``paragraphs`` when at least :data:`PARAGRAPH_BLANK_SHARE` of the lines are blank (paragraph
   breaks), else ``lines``.
3. :func:`split_sentences`: rule-based splitting after ``. ! ?`` (and closing quotes or
   brackets) before whitespace and an upper-case letter (optionally after an opening quote or
   bracket); never after an abbreviation of :data:`NO_SPLIT_ABBREVIATIONS` nor after a single
   capital initial (``J.``). Square-bracketed spans (``[Laughter]``, ``[Exit COUNTESS.]``) are
   removed first: they are markers and stage directions, not prose; so are underscores
   (Gutenberg's italics, ``_you_``, which the normaliser would keep).
4. Normalisation: the English recogniser's and correctors' reference,
   :meth:`speechtools.text.asr_units.EnglishCharUnits.normalize` (numbers and abbreviations
   spelled, lower case, punctuation removed except in-word apostrophes), passed in by the caller.
5. :class:`CorpusFilter`: word-count limits, exact duplicates (the first is kept) and
   :class:`HeldOutPrompts` (a sentence that shares an ``n``-word sequence with a held-out
   prompt, or equals one, is removed), counted in a :class:`CorpusReport`.
6. :func:`write_corpus`: the sentences (gzip'd when the name ends in ``.gz``) and the optional
   JSON report, written together through the project's atomic writer.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_paths, read_lines, write_error
from speechtools.text.english_normalizer import ABBREVIATIONS

LAYOUTS = ("auto", "lines", "paragraphs")
PARAGRAPH_BLANK_SHARE = 0.02  # the wrapped files of english_text have 14-23 % blank lines, the line files none
"""``auto`` layout: the share of non-blank lines ending in sentence punctuation from which a file is
read one unit per line (measured: Brown 0.92, SOTU 0.97, World English Bible 0.87; wrapped Austen
0.18, Moby-Dick 0.17, Shakespeare 0.53)."""

NO_SPLIT_ABBREVIATIONS = frozenset(set(ABBREVIATIONS) - {"no", "nos", "etc"} | {"st", "ms", "sr", "vol", "ch", "fig"})
"""Words after whose period a sentence never ends: the normaliser's abbreviations
(:data:`speechtools.text.english_normalizer.ABBREVIATIONS`: Mr., Mrs., Dr., Gen., ...) plus St.,
Ms., Sr., Vol., Ch., Fig.; except "no" (also the English word: "No. I will not.") and "etc."
(which usually ends its sentence)."""

# Sentence end: terminal marks, then closing quotes/brackets attached to them (or Brown's ` ''`).
# Next sentence: whitespace, any opening quotes/brackets (Brown's ``), an upper-case letter.
_BOUNDARY = re.compile(
    r"(?P<word>(?<![A-Za-z])[A-Za-z]+)?(?P<end>[.!?]+(?:[\"'\u201d\u2019)\]]|\s''(?!\S))*)"
    r"(?P<space>\s+)(?=(?:[\"'\u201c\u2018(\[]|``)*[A-Z])"
)
_BRACKETED = re.compile(r"\[[^\[\]]{0,300}\]")


# --- 1. input -------------------------------------------------------------------------------

def input_files(paths: Sequence[PathLike]) -> List[Path]:
    """The files of the command's inputs: a file as given, a folder as its ``.txt``/``.txt.gz`` files (sorted).

    Raises:
        UserError: a missing input, or a folder without such files.
    """
    files: List[Path] = []
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise UserError("no such file or folder", p)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and (f.name.endswith(".txt") or f.name.endswith(".txt.gz")))
            if not found:
                raise UserError("no .txt or .txt.gz files in this folder", p)
            files += found
        else:
            files.append(p)
    return files


def read_text_lines(path: PathLike) -> List[str]:
    """The lines of a UTF-8 text file (gunzipped when its name ends in ``.gz``), without newlines or a leading BOM.

    Raises:
        UserError: the file cannot be read, is not gzip though named ``.gz``, or is not UTF-8
            (naming the line of the first bad byte).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
        if p.name.endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        what = "not a gzip file (or truncated)" if p.name.endswith(".gz") and not isinstance(exc, FileNotFoundError) else "cannot read"
        raise UserError(f"{what}: {getattr(exc, 'strerror', None) or exc}", p) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1)
        raise UserError(f"not valid UTF-8 (byte {column} of the line)", p, line) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


# --- 2. layout and paragraphs -----------------------------------------------------------------

def detect_layout(lines: Sequence[str]) -> str:
    """``paragraphs`` when at least :data:`PARAGRAPH_BLANK_SHARE` of ``lines`` are blank (wrapped text with
    paragraph breaks), else ``lines`` (one unit per line, whatever its punctuation: a normalised,
    lower-case sentence-per-line file has none)."""
    if not lines:
        return "lines"
    blank = sum(1 for line in lines if not line.strip())
    return "paragraphs" if blank >= PARAGRAPH_BLANK_SHARE * len(lines) else "lines"


def paragraphs(lines: Iterable[str], layout: str) -> Iterator[str]:
    """The units of a file: each non-blank line (``lines``), or runs of non-blank lines joined by a space (``paragraphs``)."""
    if layout == "lines":
        for line in lines:
            if line.strip():
                yield " ".join(line.split())
        return
    if layout != "paragraphs":
        raise UserError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    current: List[str] = []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            yield " ".join(" ".join(current).split())
            current = []
    if current:
        yield " ".join(" ".join(current).split())


# --- 3. sentences -------------------------------------------------------------------------------

def _boundary(match: "re.Match[str]") -> str:
    word, end = match.group("word"), match.group("end")
    if word is not None and end == "." and (word.lower() in NO_SPLIT_ABBREVIATIONS or (len(word) == 1 and word.isupper())):
        return match.group(0)
    return (word or "") + end + "\n"


def split_sentences(paragraph: str) -> List[str]:
    """Rule-based sentence splitting of one paragraph (see the module docstring, step 3).

    >>> split_sentences('Mr. J. Smith came. "Why?" she asked! Then [Laughter] _he_ left.')
    ['Mr. J. Smith came.', '"Why?" she asked!', 'Then he left.']
    """
    text = _BRACKETED.sub(" ", paragraph).replace("_", " ")
    text = " ".join(text.split())
    return [s.strip() for s in _BOUNDARY.sub(_boundary, text).split("\n") if s.strip()]


# --- 5. held-out prompts and filters ------------------------------------------------------------

@dataclass
class HeldOutPrompts:
    """Normalised held-out prompts, indexed by their ``n``-word sequences (tuples of words) and whole.

    A sentence overlaps when it shares any ``n``-word sequence with a prompt or equals a whole
    prompt (which covers prompts of fewer than ``n`` words); checking costs O(its length).
    """

    n: int = 6
    ngrams: Dict[Tuple[str, ...], str] = field(default_factory=dict)
    whole: Dict[Tuple[str, ...], str] = field(default_factory=dict)

    def add(self, prompt_id: str, words: Sequence[str]) -> None:
        """Index one normalised prompt (the first prompt of a sequence names it)."""
        t = tuple(words)
        self.whole.setdefault(t, prompt_id)
        for i in range(len(t) - self.n + 1):
            self.ngrams.setdefault(t[i:i + self.n], prompt_id)

    def __len__(self) -> int:
        return len(self.whole)

    def match(self, words: Sequence[str]) -> Optional[Tuple[str, str]]:
        """``(prompt id, shared words)`` of the first overlap of a normalised sentence, or ``None``."""
        t = tuple(words)
        if t in self.whole:
            return self.whole[t], " ".join(t)
        n = self.n
        for i in range(len(t) - n + 1):
            hit = self.ngrams.get(t[i:i + n])
            if hit is not None:
                return hit, " ".join(t[i:i + n])
        return None


def read_prompts(path: PathLike, kaldi: bool) -> List[Tuple[str, int, str]]:
    """``(prompt id, line, sentence)`` of a held-out prompt file.

    Kaldi ``text`` (``kaldi=True``): ``uttid sentence`` per line; a blank line or an id without a
    sentence is an error. Plain: one sentence per line, blank lines skipped, the id is
    ``file:line``.

    Raises:
        UserError: unreadable file, bad UTF-8, or a bad line (naming file and line).
    """
    prompts: List[Tuple[str, int, str]] = []
    for number, line in read_lines(path):
        if kaldi:
            fields = line.split(maxsplit=1)
            if not fields:
                raise UserError("empty line: a Kaldi text line is 'uttid sentence' (use --exclude-plain for one sentence per line)", path, number)
            if len(fields) < 2:
                raise UserError(f"no sentence after the id {fields[0][:80]!r}: a Kaldi text line is 'uttid sentence'", path, number)
            prompts.append((fields[0], number, fields[1]))
        elif line.strip():
            prompts.append((f"{path}:{number}", number, line.strip()))
    return prompts


def held_out_prompts(files: Sequence[Tuple[PathLike, bool]], normalize: Callable[[str], str], n: int) -> HeldOutPrompts:
    """Every prompt of ``files`` (``(path, is_kaldi)``), normalised by ``normalize`` and indexed for :meth:`HeldOutPrompts.match`.

    Raises:
        UserError: as :func:`read_prompts`, or a prompt that normalises to no words.
    """
    held = HeldOutPrompts(n=n)
    for path, kaldi in files:
        for prompt_id, number, sentence in read_prompts(path, kaldi):
            words = normalize(sentence).split()
            if not words:
                raise UserError(f"the prompt {sentence[:80]!r} normalises to no words", path, number)
            held.add(prompt_id, words)
    return held


MAX_EXAMPLES = 10


@dataclass
class CorpusReport:
    """What :class:`CorpusFilter` read, kept and dropped (each dropped sentence counts once, in the
    first of: too short, too long, overlapping a held-out prompt, duplicate)."""

    input_files: int = 0
    paragraphs: int = 0
    sentences: int = 0
    kept: int = 0
    too_short: int = 0
    too_long: int = 0
    duplicates: int = 0
    overlapping: int = 0
    words_kept: int = 0
    layouts: Dict[str, str] = field(default_factory=dict)
    overlap_examples: List[Dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        """The report as JSON-ready data."""
        return {
            "input_files": self.input_files, "paragraphs": self.paragraphs, "sentences": self.sentences,
            "kept": self.kept, "too_short": self.too_short, "too_long": self.too_long,
            "duplicates": self.duplicates, "overlapping": self.overlapping, "words_kept": self.words_kept,
            "layouts": dict(self.layouts), "overlap_examples": list(self.overlap_examples),
        }

    def lines(self) -> List[str]:
        """One line per category, for stdout."""
        out = [
            f"input files: {self.input_files} ({', '.join(f'{Path(k).name}: {v}' for k, v in self.layouts.items())})",
            f"paragraphs: {self.paragraphs}",
            f"sentences: {self.sentences}",
            f"kept: {self.kept}",
            f"dropped too short: {self.too_short}",
            f"dropped too long: {self.too_long}",
            f"dropped duplicates: {self.duplicates}",
            f"dropped overlapping held-out prompts: {self.overlapping}",
            f"words kept: {self.words_kept}",
        ]
        out += [f"  overlap: {e['sentence']!r} shares {e['shared']!r} with prompt {e['prompt']}" for e in self.overlap_examples[:5]]
        return out


class CorpusFilter:
    """Sentence splitting, normalisation and the filters of step 5, one paragraph at a time.

    Args:
        normalize: the normaliser (``EnglishCharUnits().normalize``).
        held_out: prompts whose overlapping sentences are removed (``None``: none).
        min_words, max_words: the kept range of words after normalisation (inclusive).
    """

    def __init__(self, normalize: Callable[[str], str], held_out: Optional[HeldOutPrompts] = None,
                 min_words: int = 4, max_words: int = 40) -> None:
        if min_words > max_words:
            raise UserError(f"--min-words {min_words} is more than --max-words {max_words}")
        self.normalize = normalize
        self.held_out = held_out if held_out is not None else HeldOutPrompts()
        self.min_words, self.max_words = min_words, max_words
        self.report = CorpusReport()
        self.sentences: List[str] = []
        self._seen: set = set()

    def add_paragraph(self, paragraph: str) -> None:
        """Split, normalise and filter one paragraph; kept sentences are appended to :attr:`sentences`."""
        report = self.report
        report.paragraphs += 1
        for raw in split_sentences(paragraph):
            report.sentences += 1
            words = self.normalize(raw).split()
            if len(words) < self.min_words:
                report.too_short += 1
                continue
            if len(words) > self.max_words:
                report.too_long += 1
                continue
            if self.held_out.whole:
                hit = self.held_out.match(words)
                if hit is not None:
                    report.overlapping += 1
                    if len(report.overlap_examples) < MAX_EXAMPLES:
                        report.overlap_examples.append({"sentence": " ".join(words), "prompt": hit[0], "shared": hit[1]})
                    continue
            sentence = " ".join(words)
            if sentence in self._seen:
                report.duplicates += 1
                continue
            self._seen.add(sentence)
            self.sentences.append(sentence)
            report.kept += 1
            report.words_kept += len(words)


# --- 6. output --------------------------------------------------------------------------------

def write_corpus(path: PathLike, sentences: Sequence[str], report: Optional[CorpusReport] = None,
                 report_path: Optional[PathLike] = None) -> None:
    """Write one sentence per line (gzip'd, reproducibly, when ``path`` ends in ``.gz``) and the
    optional JSON report, atomically and together: on any failure neither appears.

    Raises:
        UserError: no sentences, or a write that fails (naming the file).
    """
    if not sentences:
        raise UserError("no sentence kept: nothing to write (check the inputs and --min-words/--max-words)", path)
    outputs: List[PathLike] = [path] + ([report_path] if report_path is not None else [])
    with atomic_paths(*outputs) as tmps:
        try:
            with open(tmps[0], "wb") as raw:
                if str(path).endswith(".gz"):
                    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                        _write_text(gz, sentences)
                else:
                    _write_text(raw, sentences)
        except OSError as exc:
            raise write_error(exc, path) from None
        if report_path is not None:
            try:
                Path(tmps[1]).write_text(json.dumps((report or CorpusReport()).as_dict(), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
            except OSError as exc:
                raise write_error(exc, report_path) from None


def _write_text(handle: io.BufferedIOBase, sentences: Sequence[str]) -> None:
    chunk = 10000
    for start in range(0, len(sentences), chunk):
        handle.write(("\n".join(sentences[start:start + chunk]) + "\n").encode("utf-8"))
