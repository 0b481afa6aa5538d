"""Intelligibility rate from listener transcriptions, hand-worked."""

from __future__ import annotations

import json

import pytest

from speechtools.errors import UserError
from speechtools.scoring.intelligibility import intelligibility, load_transcriptions
from speechtools.scoring.normalize import Normalizer

ROLES = {"system": "system", "utterance": "utterance", "listener": "listener", "transcription": "transcription"}


def _files(tmp_path):
    (tmp_path / "text").write_text("u1 The cat sat on the mat.\nu2 Hello world\n", encoding="utf-8")
    (tmp_path / "sheet.csv").write_text(
        "system,utterance,listener,transcription\n"
        "tts,u1,L1,the cat sat on the mat\n"        # 6/6 correct
        'tts,u1,L2,"the hat sat on mat, yes"\n'      # hat: sub, the: del, yes: ins -> 4/6 correct
        "tts,u2,L1,hello world\n"                     # 2/2
        "tts,u2,L2,\n"                                # 0/2: heard nothing
        "ref,u2,L1,Hello, world!\n".replace("Hello, world!", '"Hello, world!"'),
        encoding="utf-8")
    return str(tmp_path / "text"), str(tmp_path / "sheet.csv")


def test_word_and_sentence_rates(tmp_path):
    from speechtools.scoring.text_formats import read_transcripts

    ref_path, sheet = _files(tmp_path)
    norm = Normalizer(ignore_case=True, remove_punct=True)
    refs = {u: norm(t) for u, t in read_transcripts(ref_path).text.items()}
    results = intelligibility(load_transcriptions([sheet], ROLES, refs, norm), refs)
    tts = results["tts"]
    assert (tts.n_words, tts.n_correct) == (16, 12)
    assert tts.word_ir == pytest.approx(75.0)
    assert tts.sentence_ir == pytest.approx(50.0)
    assert tts.wer == pytest.approx(100 * (3 + 2) / 16)
    assert (tts.n_transcriptions, tts.n_listeners, tts.n_utterances) == (4, 2, 2)
    assert results["ref"].word_ir == 100.0


def test_unknown_utterance_names_row(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("utterance,listener,transcription\nu9,L1,hi\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_transcriptions([str(sheet)], ROLES, {"u1": ["hi"]}, Normalizer())
    assert exc.value.line == 2 and "u9" in exc.value.message


def test_cli(tmp_path, run_cli):
    ref_path, sheet = _files(tmp_path)
    code, out, err = run_cli(["score", "intelligibility", sheet, "--ref", ref_path, "--json", str(tmp_path / "ir.json")])
    assert code == 0, err
    assert out.splitlines()[2] == "|ref|100.00|100.00|0.00|2|1|1|1|"
    assert out.splitlines()[3] == "|tts|75.00|50.00|31.25|16|4|2|2|"
    assert json.loads((tmp_path / "ir.json").read_text())["tts"]["n_correct"] == 12
