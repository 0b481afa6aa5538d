"""Output units of the speech recognisers: characters, or SentencePiece pieces, of a normalised transcript.

=========  ==========================================================================
name       units
=========  ==========================================================================
en_char    English: numbers, symbols and abbreviations spelled out by the TTS normaliser
           (:func:`speechtools.text.english_normalizer.normalize_english`), then lower case,
           punctuation removed except in-word apostrophes (the FastCorrect recipe's
           :func:`speechtools.correction.tokenizer.normalize_en`); units are ``a``-``z``,
           ``'`` and ``<space>`` between words
zh_char    Mandarin: :func:`speechtools.text.mandarin.normalize_mandarin` (numbers to
           characters, Latin letters spelled), then one unit per CJK character, Latin runs
           whole, no spaces (AISHELL-1 style)
en_bpe     English normalised as ``en_char``, then the pieces of a SentencePiece model (Kudo &
           Richardson 2018) trained on the training transcripts (:func:`train_sentencepiece`:
           the unigram language model of Kudo 2018 by default, as ESPnet's ``bpemode``, or
           BPE); ``▁`` marks the start of a word. Needs the model (``task_conf.bpe_model``,
           ``speechtools make-tokens --units en_bpe --bpe-model``)
=========  ==========================================================================

Characters are the default unit (ESPnet's small-data recipes use characters or a 30-piece
BPE): the vocabulary is closed, so no transcript has an unknown unit, and with tens of minutes
of speech each unit is seen often (Kathleen's 443 training prompts: 9 of the 28 units over a
thousand times each, the rarest, ``z``, 16 times). Pieces (``en_bpe``, ESPnet's ``token_type:
bpe`` with its ``bpemodel``) are for more data: shorter output sequences and units that carry
more context, but each piece is seen less often (the same prompts with 100 pieces: median 68
times each; with 300: 12). Every English letter and ``'`` is always a piece, so normalised
English never meets ``<unk>`` with either unit set.

The token list of a recogniser is ``<blank>`` (id 0, CTC's blank), ``<unk>``, the units seen
in training by frequency (for ``en_bpe`` then every other piece of the model), and
``<sos/eos>`` last, ESPnet's layout (:func:`asr_token_list`). Every unit set offers the
front-end protocol (``normalize``, ``tokenize``, ``inventory``, ``unspeakable``),
``detokenize``, the inverse of ``tokenize`` on normalised text, and ``identity``, which is
equal for two unit sets exactly when they segment text alike (a language model must share
its recogniser's).
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Union

from speechtools.correction.tokenizer import join_words, normalize_en, normalize_zh, split_words
from speechtools.errors import PathLike, UserError, import_optional
from speechtools.fileio import atomic_write
from speechtools.text.cleaning import Unspeakable, unspeakable
from speechtools.text.english_normalizer import normalize_english
from speechtools.text.mandarin import normalize_mandarin
from speechtools.text.tokens import UNK, TokenList

BLANK = "<blank>"
SOS_EOS = "<sos/eos>"
SPACE = "<space>"
ASR_SPECIALS = (BLANK, UNK)
WORD_START = "\u2581"
"""SentencePiece's word-start mark ``▁`` (U+2581), which stands for the space before a word."""
PIECE_MODEL_TYPES = ("unigram", "bpe")
EXTRA = "asr"


class EnglishCharUnits:
    """English characters of :func:`normalize_en` (:func:`normalize_english` first), ``<space>`` between words."""

    name = "en_char"
    identity = "en_char"

    def normalize(self, text: str) -> str:
        return normalize_en(normalize_english(text))

    def tokenize(self, text: str) -> List[str]:
        units: List[str] = []
        for word in self.normalize(text).split():
            if units:
                units.append(SPACE)
            units.extend(word)
        return units

    def detokenize(self, units: Iterable[str]) -> str:
        """Inverse of :meth:`tokenize`: ``<space>`` becomes a space; repeated or edge spaces collapse."""
        return " ".join("".join(" " if u == SPACE else u for u in units).split())

    def inventory(self) -> List[str]:
        return [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'", SPACE]

    def unspeakable(self, text: str) -> List[Unspeakable]:
        allowed = set(self.inventory())
        return unspeakable(text, [c for c in self.normalize(text) if not c.isspace() and c not in allowed])


class MandarinCharUnits:
    """Mandarin characters of :func:`normalize_mandarin` (Latin runs and digits stay whole units)."""

    name = "zh_char"
    identity = "zh_char"

    def normalize(self, text: str) -> str:
        return normalize_zh(normalize_mandarin(text))

    def tokenize(self, text: str) -> List[str]:
        return split_words(self.normalize(text), "zh")

    def detokenize(self, units: Iterable[str]) -> str:
        return join_words([u for u in units if u != SPACE], "zh")

    def inventory(self) -> List[str]:
        return []

    def unspeakable(self, text: str) -> List[Unspeakable]:
        return []


def _sentencepiece() -> Any:
    """The ``sentencepiece`` package, imported on first use (the ``asr`` extra)."""
    return import_optional("sentencepiece", EXTRA)


class EnglishPieceUnits:
    """English normalised as :class:`EnglishCharUnits`, then the pieces of a SentencePiece model.

    SentencePiece (Kudo & Richardson 2018) segments the normalised text, whose spaces it writes
    as ``▁`` at the start of the next word, into the model's pieces (unigram language model,
    Kudo 2018, or BPE: whichever the model was trained with); :meth:`detokenize` joins them and
    turns ``▁`` back into spaces. Build it from a model file (:meth:`load`) or from the model's
    bytes (``model``, with ``source`` naming where they came from).
    """

    name = "en_bpe"

    def __init__(self, model: bytes, source: PathLike = "<bpe model>") -> None:
        self._chars = EnglishCharUnits()
        self.model = model
        self.source = str(source)
        try:
            self._processor = _sentencepiece().SentencePieceProcessor(model_proto=model)
        except RuntimeError:
            raise UserError("not a SentencePiece model (build it with `speechtools make-tokens DATA --units en_bpe "
                            "--bpe-model FILE`)", source) from None
        self.identity = f"en_bpe:{hashlib.sha256(model).hexdigest()}"

    @classmethod
    def train(cls, transcripts: Iterable[str], vocab_size: int, model_type: str = "unigram") -> "EnglishPieceUnits":
        """The unit set of a model trained on the normalised ``transcripts`` (:func:`train_sentencepiece_model`;
        every ``en_char`` character, ``a``-``z`` and ``'``, is a piece even if unseen, so no normalised text meets ``<unk>``)."""
        chars = EnglishCharUnits()
        required = "".join(u for u in chars.inventory() if u != SPACE)
        return cls(train_sentencepiece_model((chars.normalize(t) for t in transcripts), vocab_size, model_type, required),
                   "<trained model>")

    @classmethod
    def load(cls, path: PathLike) -> "EnglishPieceUnits":
        """The unit set of the SentencePiece model file ``path``; a missing or unreadable file is a :class:`UserError`."""
        try:
            with open(path, "rb") as handle:
                model = handle.read()
        except OSError as exc:
            raise UserError(f"cannot read the SentencePiece model ({exc.strerror or exc})", path) from None
        return cls(model, path)

    def normalize(self, text: str) -> str:
        return self._chars.normalize(text)

    def tokenize(self, text: str) -> List[str]:
        """The model's pieces of the normalised text (``[]`` when it normalises to nothing)."""
        normalized = self.normalize(text)
        return list(self._processor.encode(normalized, out_type=str)) if normalized else []

    def detokenize(self, units: Iterable[str]) -> str:
        """Inverse of :meth:`tokenize`: pieces joined, ``▁`` becomes a space; repeated or edge spaces collapse."""
        return " ".join("".join(units).replace(WORD_START, " ").split())

    def inventory(self) -> List[str]:
        """Every piece of the model in its id order, except its control and unknown symbols."""
        p = self._processor
        return [p.id_to_piece(i) for i in range(p.get_piece_size()) if not (p.is_control(i) or p.is_unknown(i) or p.is_unused(i))]

    def unspeakable(self, text: str) -> List[Unspeakable]:
        return self._chars.unspeakable(text)


ASRUnits = Union[EnglishCharUnits, MandarinCharUnits, EnglishPieceUnits]

ASR_UNITS: Dict[str, Callable[..., ASRUnits]] = {
    "en_char": EnglishCharUnits,
    "zh_char": MandarinCharUnits,
    "en_bpe": EnglishPieceUnits.load,
}
PIECE_UNITS: FrozenSet[str] = frozenset({"en_bpe"})
"""Unit sets built from a SentencePiece model (``task_conf.bpe_model``)."""


def get_asr_units(name: str, model: PathLike = "") -> ASRUnits:
    """The unit set called ``name``; ``model``: the SentencePiece model file of the :data:`PIECE_UNITS`.

    Raises:
        UserError: an unknown name (listing the known ones), a piece unit set without a model,
            or a model for a unit set that takes none.
    """
    if name not in ASR_UNITS:
        raise UserError(f"unknown ASR units {name!r}; known: {', '.join(sorted(ASR_UNITS))}")
    if name in PIECE_UNITS:
        if not str(model):
            raise UserError(f"units {name} need their SentencePiece model: pass task_conf.bpe_model "
                            "(the --bpe-model file of `speechtools make-tokens DATA --units en_bpe`)")
        return ASR_UNITS[name](model)
    if str(model):
        raise UserError(f"units {name} take no SentencePiece model (got {model}); it is for units {', '.join(sorted(PIECE_UNITS))}")
    return ASR_UNITS[name]()


def check_units_config(units: str, bpe_model: str) -> None:
    """``task_conf.units`` and ``task_conf.bpe_model`` of the recogniser and LM tasks (``ValueError`` for :func:`from_dict`)."""
    if units not in ASR_UNITS:
        raise ValueError(f"units {units!r} unknown; known: {', '.join(sorted(ASR_UNITS))}")
    if units in PIECE_UNITS and not bpe_model:
        raise ValueError(f"units {units} need bpe_model: the SentencePiece model written by "
                         f"`speechtools make-tokens DATA --units {units} --bpe-model FILE`")
    if units not in PIECE_UNITS and bpe_model:
        raise ValueError(f"bpe_model is only for units {', '.join(sorted(PIECE_UNITS))}, not {units}")


def train_sentencepiece_model(sentences: Iterable[str], vocab_size: int, model_type: str = "unigram",
                              required_chars: str = "") -> bytes:
    """A SentencePiece model (Kudo & Richardson 2018) trained on ``sentences``, as the bytes of its ``.model`` file.

    ``model_type``: ``unigram`` (the unigram language model of Kudo 2018, pruned by EM from a
    large seed vocabulary; ESPnet's default ``bpemode``) or ``bpe`` (byte-pair encoding merges,
    Sennrich et al. 2016). Settings: character coverage 1.0 (every character of the text is a
    piece), the characters of ``required_chars`` are pieces even when unseen, no ``<s>``/``</s>``
    (the recogniser has its own ``<sos/eos>``), the identity normalisation (the text is
    normalised already), one thread and all sentences (no sampling), so the same sentences
    always give the same bytes. ``vocab_size`` is a soft limit (``hard_vocab_limit: false``): a
    small corpus yields fewer pieces instead of failing.

    Raises:
        UserError: ``sentencepiece`` missing, an unknown ``model_type``, no text, a ``vocab_size``
            below the characters every model needs, or a training failure (its first line).
    """
    if model_type not in PIECE_MODEL_TYPES:
        raise UserError(f"unknown SentencePiece model type {model_type!r}; known: {', '.join(PIECE_MODEL_TYPES)}")
    text = [s for s in sentences if s.strip()]
    if not text:
        raise UserError("no text to train the SentencePiece model on (every sentence is empty)")
    chars = set(required_chars) | {c for s in text for c in s if not c.isspace()}
    needed = len(chars) + 2  # the characters, the word-start mark and <unk>
    if vocab_size < needed:
        raise UserError(f"SentencePiece vocabulary size {vocab_size} is below the {needed} pieces this text needs "
                        f"({len(chars)} characters, {WORD_START} and <unk>)")
    spm = _sentencepiece()
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(text), model_writer=model, vocab_size=vocab_size, model_type=model_type,
            character_coverage=1.0, required_chars=required_chars, bos_id=-1, eos_id=-1, unk_id=0,
            hard_vocab_limit=False, normalization_rule_name="identity", num_threads=1, input_sentence_size=0,
            shuffle_input_sentence=False, minloglevel=2)
    except RuntimeError as exc:
        reason = re.sub(r"^[A-Z_]+: \S+\(\d+\) \[.*?\] ", "", str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        raise UserError(f"SentencePiece training failed: {reason or type(exc).__name__}") from None
    return model.getvalue()


def train_sentencepiece(sentences: Iterable[str], out_path: PathLike, vocab_size: int, model_type: str = "unigram",
                        required_chars: str = "") -> bytes:
    """Train a SentencePiece model (:func:`train_sentencepiece_model`) and write it to ``out_path`` atomically; returns its bytes."""
    model = train_sentencepiece_model(sentences, vocab_size, model_type, required_chars)
    with atomic_write(out_path, "wb") as handle:
        handle.write(model)
    return model


def asr_token_list(units: Iterable[str], extra: Iterable[str] = ()) -> TokenList:
    """ESPnet's layout: ``<blank>`` = 0, ``<unk>`` = 1, units by descending count (then ``extra``), ``<sos/eos>`` last."""
    built = TokenList.build(units, specials=ASR_SPECIALS, extra=extra)
    return TokenList([t for t in built.tokens if t != SOS_EOS] + [SOS_EOS])


def check_asr_token_list(tokens: TokenList, source: str = "tokens.txt") -> None:
    """A recogniser's token list must start with ``<blank>``, ``<unk>`` and end with ``<sos/eos>``."""
    if tokens.tokens[:2] != list(ASR_SPECIALS) or tokens.tokens[-1] != SOS_EOS or len(tokens) < 4:
        raise UserError(f"not an ASR token list (needs {BLANK} first, {UNK} second, {SOS_EOS} last; "
                        "build it with `speechtools make-tokens DATA --units NAME`)", source)
