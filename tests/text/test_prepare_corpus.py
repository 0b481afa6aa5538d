"""``speechtools text prepare-corpus`` and speechtools.text.corpus: splitting, layouts, normalisation, filters, held-out prompts, CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner

from speechtools.cli.main import cli, main
from speechtools.errors import UserError
from speechtools.text.asr_units import EnglishCharUnits
from speechtools.text.corpus import (
    CorpusFilter, HeldOutPrompts, detect_layout, held_out_prompts, input_files, paragraphs, read_text_lines, split_sentences,
    write_corpus,
)

NORMALIZE = EnglishCharUnits().normalize


def run(*args: str) -> "object":
    return CliRunner().invoke(cli, ["text", "prepare-corpus", *args])


# --- sentence splitting -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("He lived on St. James Street with Mrs. Brown and Gen. Lee.", ["He lived on St. James Street with Mrs. Brown and Gen. Lee."]),
    ("J. R. R. Tolkien wrote it. Then he slept.", ["J. R. R. Tolkien wrote it.", "Then he slept."]),
    ('She said, "Go now." Then she left.', ['She said, "Go now."', "Then she left."]),
    ("\u201cWhere?\u201d he asked. \u201cThere!\u201d she said.", ["\u201cWhere?\u201d he asked.", "\u201cThere!\u201d she said."]),
    ('Stop! "Why?" Because I said so? Yes.', ["Stop!", '"Why?"', "Because I said so?", "Yes."]),
    ("It cost $3.50 at 9 p.m. and then more. (It rained.) After that we left.",
     ["It cost $3.50 at 9 p.m. and then more.", "(It rained.)", "After that we left."]),
    ("He said no. No. I will not.", ["He said no.", "No.", "I will not."]),
    ("a lower case. start is not a boundary.", ["a lower case. start is not a boundary."]),
    ("The jury said . '' The mayor agreed . `` Yes , '' he said .", ["The jury said . ''", "The mayor agreed . `` Yes , '' he said ."]),
    ("Thank you. [Laughter] We go on. [Exit COUNTESS.] Farewell.", ["Thank you.", "We go on.", "Farewell."]),
    ("You do not think I could mean _you_ now.", ["You do not think I could mean you now."]),
])
def test_split_sentences(text: str, expected: List[str]) -> None:
    assert split_sentences(text) == expected


def test_wrapped_paragraphs_are_joined_and_line_files_kept_per_line() -> None:
    wrapped = ["Emma Woodhouse, handsome, clever, and rich, with a comfortable", "home and happy disposition.", "",
               "", "She was the youngest of the two", "daughters."]
    assert detect_layout(wrapped) == "paragraphs"
    assert list(paragraphs(wrapped, "paragraphs")) == [
        "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition.",
        "She was the youngest of the two daughters.",
    ]
    verses = ["In the beginning God created the heavens and the earth.", "The earth was formless and empty.",
              "God said, \u201cLet there be light,\u201d and there was light.", "Heading"]
    assert detect_layout(verses) == "lines"
    assert list(paragraphs(verses, "lines")) == verses
    normalised = ["in the beginning god created the heavens", "the earth was formless and empty"]  # no punctuation at all
    assert detect_layout(normalised) == "lines"


# --- normalisation, filters, held-out prompts ---------------------------------------------------

def test_the_normaliser_is_the_recognisers_and_filters_are_counted() -> None:
    corpus = CorpusFilter(NORMALIZE, min_words=4, max_words=12)
    corpus.add_paragraph("Dr. Smith paid 25 dollars for it. Too short. "
                         "This sentence has far too many words to be kept by a limit of twelve words in all. "
                         "Dr. Smith paid 25 dollars for it! Another sentence of five.")
    sentence = "Dr. Smith paid 25 dollars for it."
    assert corpus.sentences == [NORMALIZE(sentence), NORMALIZE("Another sentence of five.")]
    assert corpus.sentences[0] == "doctor smith paid twenty five dollars for it"
    r = corpus.report
    assert (r.paragraphs, r.sentences, r.kept, r.too_short, r.too_long, r.duplicates, r.overlapping) == (1, 5, 2, 1, 1, 1, 0)
    assert r.words_kept == 8 + 4


PROMPT = "Author of the danger trail, Philip Steels, etc."  # 9 words normalised, with "et cetera"
PROMPT2 = "For the twentieth time that evening the two men shook hands."


def test_planted_held_out_prompts_are_removed_and_reported(tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.write_text(f"arctic_a0001 {PROMPT}\narctic_a0003 {PROMPT2}\n", encoding="utf-8")
    held = held_out_prompts([(text, True)], NORMALIZE, n=6)
    corpus = CorpusFilter(NORMALIZE, held)
    corpus.add_paragraph(
        "Yesterday she read the author of the danger trail, Philip Steels, etc. and slept. "       # prompt inside: removed
        "At last for the twentieth time that evening they ate supper. "                               # 6 shared words: removed
        "It was for the twentieth time that night the bell rang. "                                    # 5 shared words: kept
        "Author of the danger trail, Philip Steels, etc."                                             # the prompt itself
    )
    assert corpus.sentences == ["it was for the twentieth time that night the bell rang"]
    r = corpus.report
    assert r.overlapping == 3 and r.kept == 1
    assert [e["prompt"] for e in r.overlap_examples] == ["arctic_a0001", "arctic_a0003", "arctic_a0001"]
    assert r.overlap_examples[1]["shared"] == "for the twentieth time that evening"
    assert any("overlapping held-out prompts: 3" in line for line in r.lines())


def test_short_prompts_match_whole_sentences_only() -> None:
    held = HeldOutPrompts(n=6)
    held.add("p1", "the cat sat down".split())
    assert held.match("the cat sat down".split()) == ("p1", "the cat sat down")
    assert held.match("and the cat sat down".split()) is None


def test_exclude_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "text"
    bad.write_text("utt1 A fine prompt here.\nutt2\n", encoding="utf-8")
    with pytest.raises(UserError, match="no sentence after the id") as info:
        held_out_prompts([(bad, True)], NORMALIZE, 6)
    assert info.value.location() == f"{bad}:2"
    plain = tmp_path / "plain.txt"
    plain.write_text("A fine prompt here.\n\nAnother one.\n", encoding="utf-8")
    held = held_out_prompts([(plain, False)], NORMALIZE, 6)
    assert held.whole[("another", "one")] == f"{plain}:3"
    with pytest.raises(UserError, match="no such file"):
        held_out_prompts([(tmp_path / "missing", True)], NORMALIZE, 6)


# --- files -------------------------------------------------------------------------------------

def test_gz_folder_input_and_read_errors(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "b.txt.gz").write_bytes(gzip.compress("Second file here.\n".encode()))
    (folder / "a.txt").write_text("First file here.\n", encoding="utf-8")
    (folder / "notes.md").write_text("ignored\n", encoding="utf-8")
    assert input_files([folder]) == [folder / "a.txt", folder / "b.txt.gz"]
    assert read_text_lines(folder / "b.txt.gz") == ["Second file here."]
    fake = tmp_path / "fake.txt.gz"
    fake.write_text("plain text\n", encoding="utf-8")
    with pytest.raises(UserError, match="not a gzip file"):
        read_text_lines(fake)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"fine line\ncaf\xe9\n")
    with pytest.raises(UserError, match="not valid UTF-8") as info:
        read_text_lines(latin)
    assert info.value.location() == f"{latin}:2"
    with pytest.raises(UserError, match="no such file or folder"):
        input_files([folder, tmp_path / "empty"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .txt or .txt.gz files"):
        input_files([tmp_path / "empty"])


def test_write_corpus_refuses_an_empty_result(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with pytest.raises(UserError, match="no sentence kept"):
        write_corpus(out, [])
    assert not out.exists()


# --- CLI ---------------------------------------------------------------------------------------

def _corpus_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    novel = ("CHAPTER I\n\n\nMr. Woodhouse had paid 3 pounds for the\nold carriage, and he was glad of it. "
             "Emma smiled at him.\nShe said nothing.\n\n"
             f"Then she read the author of the danger trail, Philip Steels, etc.\nto her father.\n")
    (folder / "novel.txt.gz").write_bytes(gzip.compress(novel.encode()))
    verses = ("In the beginning God created the heavens and the earth.\n"
              "The earth was formless and empty, and darkness was on the deep.\n"
              "In the beginning God created the heavens and the earth.\n")
    (folder / "verses.txt").write_text(verses, encoding="utf-8")
    return folder


def test_cli_writes_gzip_and_report(tmp_path: Path) -> None:
    folder = _corpus_folder(tmp_path)
    prompts = tmp_path / "text"
    prompts.write_text(f"arctic_a0001 {PROMPT}\n", encoding="utf-8")
    out, report = tmp_path / "lm.txt.gz", tmp_path / "lm.json"
    result = run(str(folder), "--exclude", str(prompts), "--out", str(out), "--report", str(report))
    assert result.exit_code == 0, result.output
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert lines == [
        "mister woodhouse had paid three pounds for the old carriage and he was glad of it",
        "emma smiled at him",
        "in the beginning god created the heavens and the earth",
        "the earth was formless and empty and darkness was on the deep",
    ]
    data = json.loads(report.read_text())
    assert data["input_files"] == 2 and data["kept"] == 4 and data["duplicates"] == 1 and data["overlapping"] == 1
    assert data["too_short"] == 2  # "CHAPTER I", "She said nothing."
    assert data["layouts"] == {str(folder / "novel.txt.gz"): "paragraphs", str(folder / "verses.txt"): "lines"}
    assert data["overlap_examples"][0]["prompt"] == "arctic_a0001"
    assert "dropped overlapping held-out prompts: 1" in result.output
    assert "kept: 4" in result.output


def test_cli_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _corpus_folder(tmp_path)
    out = tmp_path / "lm.txt"
    missing = tmp_path / "missing.txt"
    result = run(str(folder), str(missing), "--out", str(out))
    assert result.exit_code != 0 and isinstance(result.exception, UserError)
    assert str(result.exception) == f"{missing}: no such file or folder"
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_info:  # the entry point prints it as one line
        main(["text", "prepare-corpus", str(folder), str(missing), "--out", str(out)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == f"error: {missing}: no such file or folder\n"
    assert not out.exists()

    bad = tmp_path / "bad_text"
    bad.write_text("utt1 A prompt.\n\n", encoding="utf-8")
    result = run(str(folder), "--exclude", str(bad), "--out", str(out), "--report", str(tmp_path / "r.json"))
    assert result.exit_code != 0 and f"{bad}:2" in str(result.exception)
    assert not out.exists() and not (tmp_path / "r.json").exists()

    result = run(str(folder), "--min-words", "50", "--max-words", "60", "--out", str(out))
    assert result.exit_code != 0 and "no sentence kept" in str(result.exception)
    assert not out.exists()
    assert list(tmp_path.glob(".lm.txt*")) == []
