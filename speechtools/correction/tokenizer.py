"""Tokenisation for ASR error correction: English by words, Mandarin by characters.

English: whitespace-separated words. A word missing from the vocabulary falls back to its
characters, written BPE-style with a ``@@`` continuation mark (``whitmore`` → ``w@@ h@@ i@@ t@@
m@@ o@@ r@@ e``), so the corrector can copy or spell words it never saw as a whole; every
single character of the training text (with and without the mark) is in the vocabulary.
Mandarin: every CJK character is a token; other runs (Latin words, digits) stay whole.
Characters outside the vocabulary become ``<unk>``; callers restore them from the input.
A word longer than :data:`MAX_SPELLED_CHARS` characters is not spelled (that would make the
corrector's input as long as the word): it stays one token, outside the vocabulary, which the
corrector copies unchanged (``fallback_mask`` marks it). Detokenisation inverts tokenisation
exactly for in-vocabulary text. Every step is linear in the length of the sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_write, read_lines

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
CONT = "@@"
_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_ZH_UNIT = re.compile(f"[{_CJK_CHARS}]|[^{_CJK_CHARS}\\s]+")
# The longest out-of-vocabulary word spelled in @@ character pieces (longer English words are
# about 45 letters); a longer one is a single out-of-vocabulary token.
MAX_SPELLED_CHARS = 64
_PUNCT = re.compile(r"[^\w\s']")


def is_cjk(char: str) -> bool:
    """True for a CJK unified ideograph."""
    return bool(_CJK.fullmatch(char))


def normalize_en(text: str) -> str:
    """Lower-case, drop punctuation except in-word apostrophes, squeeze spaces (ASR-output style)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ")
    text = _PUNCT.sub(" ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


def normalize_zh(text: str) -> str:
    """Keep CJK characters, letters and digits; drop punctuation and spaces between characters."""
    text = unicodedata.normalize("NFKC", text)
    return join_words(split_words(_PUNCT.sub(" ", text), "zh"), "zh")


def split_words(text: str, lang: str) -> List[str]:
    """Split a sentence into the units the corrector edits: words (en) or characters (zh)."""
    if lang == "en":
        return text.split()
    if lang == "zh":
        return _ZH_UNIT.findall(text)
    raise UserError(f"unknown language {lang!r}; choose en or zh")


def join_words(units: Sequence[str], lang: str) -> str:
    """Inverse of :func:`split_words`: spaces between English words, none between CJK characters."""
    if lang == "en":
        return " ".join(units)
    out: List[str] = []
    prev_cjk = True
    for unit in units:
        cjk = len(unit) == 1 and is_cjk(unit)
        if out and not (cjk and prev_cjk):
            out.append(" ")
        out.append(unit)
        prev_cjk = cjk
    return "".join(out)


@dataclass
class Vocabulary:
    """Token list (``tokens.txt``: one token per line, id = line number, specials first)."""

    tokens: List[str]
    index: Dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    @property
    def pad(self) -> int:
        return self.index[PAD]

    @property
    def unk(self) -> int:
        return self.index[UNK]

    @property
    def bos(self) -> int:
        return self.index[BOS]

    @property
    def eos(self) -> int:
        return self.index[EOS]

    def ids(self, tokens: Sequence[str]) -> List[int]:
        """Map tokens to ids (unknown → ``<unk>``)."""
        return [self.index.get(t, self.unk) for t in tokens]

    def save(self, path: PathLike) -> None:
        with atomic_write(path) as handle:
            for tok in self.tokens:
                handle.write(tok + "\n")

    @classmethod
    def load(cls, path: PathLike) -> "Vocabulary":
        tokens = [line for _, line in read_lines(path)]
        for number, tok in enumerate(tokens, start=1):
            if not tok or any(c.isspace() for c in tok):
                raise UserError("token list line must be one token without spaces", path, number)
        missing = [s for s in SPECIALS if s not in tokens]
        if missing:
            raise UserError(f"token list lacks special token(s) {' '.join(missing)}", path)
        return cls(tokens)


class Tokenizer:
    """Sentence ↔ token ids for one language (see the module docstring for the fallback)."""

    def __init__(self, vocab: Vocabulary, lang: str) -> None:
        if lang not in ("en", "zh"):
            raise UserError(f"unknown language {lang!r}; choose en or zh")
        self.vocab = vocab
        self.lang = lang

    @staticmethod
    def build(sentences: Iterable[str], lang: str, min_count: int = 1, max_words: int = 30000) -> "Tokenizer":
        """Vocabulary from training sentences: frequent words/characters plus every character piece."""
        words: Counter = Counter()
        chars: Counter = Counter()
        for sentence in sentences:
            for unit in split_words(sentence, lang):
                words[unit] += 1
                if lang == "en" or not is_cjk(unit):
                    chars.update(unit)
        kept = [w for w, c in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count][:max_words]
        pieces = sorted(set(chars)) + sorted(c + CONT for c in chars)
        tokens = list(SPECIALS) + [t for t in dict.fromkeys(kept + pieces) if t not in SPECIALS]
        return Tokenizer(Vocabulary(tokens), lang)

    def pieces(self, unit: str) -> List[str]:
        """Tokens for one word: itself if known (or longer than :data:`MAX_SPELLED_CHARS`), else
        its characters with ``@@`` marks."""
        if unit in self.vocab or (self.lang == "zh" and is_cjk(unit)) or len(unit) > MAX_SPELLED_CHARS:
            return [unit]
        return [c + CONT for c in unit[:-1]] + [unit[-1]]

    def tokenize(self, sentence: str) -> List[str]:
        """Sentence → token strings (fallback applied; tokens may still be out of vocabulary)."""
        out: List[str] = []
        for unit in split_words(sentence, self.lang):
            out.extend(self.pieces(unit))
        return out

    @staticmethod
    def fallback_mask(tokens: Sequence[str]) -> List[bool]:
        """True for each token that spells an out-of-vocabulary word in ``@@`` character pieces,
        and for a word too long to spell (both are copied unchanged by the corrector)."""
        return [
            tok.endswith(CONT) or (j > 0 and tokens[j - 1].endswith(CONT)) or len(tok) > MAX_SPELLED_CHARS
            for j, tok in enumerate(tokens)
        ]

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Token strings → sentence: ``@@`` pieces glued to the following token."""
        units: List[str] = []
        buf: List[str] = []
        for tok in tokens:
            if tok.endswith(CONT) and len(tok) > len(CONT):
                buf.append(tok[: -len(CONT)])
            else:
                buf.append(tok)
                units.append("".join(buf))
                buf = []
        if buf:
            units.append("".join(buf))
        return join_words(units, self.lang)

    def save(self, path: PathLike) -> None:
        self.vocab.save(path)

    @classmethod
    def load(cls, path: PathLike, lang: str) -> "Tokenizer":
        return cls(Vocabulary.load(path), lang)


def tokens_path(model_dir: PathLike) -> Path:
    """Where a model directory keeps its token list."""
    return Path(model_dir) / "tokens.txt"
