"""LJSpeech preparation: the real LJSpeech-1.1 layout (tiny generated clips) and the bundled mini corpus."""

from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from speechtools.cli.main import main
from speechtools.data.corpora.ljspeech import (
    Utterance,
    bundled_mini_corpus,
    command,
    prepare_ljspeech,
    read_metadata,
    split_espnet,
    to_data_dir,
)
from speechtools.data.kaldi import DataDir, read_table
from speechtools.data.validate import validate_data_dir
from speechtools.errors import UserError

# Three lines of the real LJSpeech-1.1 metadata.csv (public domain), in corpus order.
METADATA = [
    "LJ001-0001|Printing, in the only sense with which we are at present concerned, differs from most if not from all the arts and crafts represented in the Exhibition|Printing, in the only sense with which we are at present concerned, differs from most if not from all the arts and crafts represented in the Exhibition",
    "LJ002-0155|for which the costs were 6 shillings 10 pence.|for which the costs were six shillings ten pence.",
    "LJ040-0240|and returned to New Orleans where Lee finished the ninth grade before he left school to work for a year.|and returned to New Orleans where Lee finished the ninth grade before he left school to work for a year.",
]


def make_corpus(root: Path, lines: List[str] = METADATA) -> Path:
    """LJSpeech-1.1 layout: metadata.csv and wavs/<id>.wav (0.1 s 16-bit tones at 22.05 kHz)."""
    corpus = root / "LJSpeech-1.1"
    (corpus / "wavs").mkdir(parents=True)
    (corpus / "metadata.csv").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    t = np.arange(2205) / 22050
    for k, line in enumerate(lines):
        sf.write(corpus / "wavs" / f"{line.split('|')[0]}.wav", 0.1 * np.sin(2 * np.pi * 220 * (k + 1) * t), 22050, subtype="PCM_16")
    return corpus


def test_full_layout(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    result = CliRunner().invoke(command, ["--out", str(tmp_path / "data"), "--corpus", str(corpus), "--dev-size", "1", "--eval-size", "1"])
    assert result.exit_code == 0, result.output
    expected = {"train": "LJ001-0001", "dev": "LJ002-0155", "eval": "LJ040-0240"}
    for name, utt in expected.items():
        data = DataDir.load(tmp_path / "data" / name)
        assert list(data.wav_scp) == [utt]
        assert data.wav_scp[utt] == str((corpus / "wavs" / f"{utt}.wav").resolve())
        assert data.utt2spk == {utt: "LJ"}
        assert read_table(tmp_path / "data" / name / "spk2utt") == {"LJ": utt}
        validate_data_dir(tmp_path / "data" / name)
    text = read_table(tmp_path / "data" / "dev" / "text")
    assert text == {"LJ002-0155": "for which the costs were six shillings ten pence."}


def test_full_layout_default_split_needs_500(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    with pytest.raises(UserError, match="need more than 500 utterances"):
        prepare_ljspeech(tmp_path / "data", corpus)
    assert not (tmp_path / "data" / "train").exists()


def test_espnet_split_of_13100() -> None:
    utts = [Utterance(f"u{k:05d}", Path("/x.wav"), "t") for k in range(13100)]
    sets = split_espnet(utts, (250, 250))
    assert [len(sets[s]) for s in ("train", "dev", "eval")] == [12600, 250, 250]
    assert sets["dev"][0].utt_id == "u12600" and sets["eval"][0].utt_id == "u12850" and sets["eval"][-1].utt_id == "u13099"


def test_bundled_mini_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mini = bundled_mini_corpus()
    assert len(list((mini / "wavs").glob("*.flac"))) == 32
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "prepare", "ljspeech", "--out", str(tmp_path / "data")])
    assert exit_info.value.code == 0
    sizes = {}
    for name in ("train", "dev", "eval"):
        summary = validate_data_dir(tmp_path / "data" / name)
        sizes[name] = summary.n_utts
    assert sizes == {"train": 26, "dev": 3, "eval": 3}
    eval_dir = DataDir.load(tmp_path / "data" / "eval")
    assert list(eval_dir.wav_scp) == ["LJ001-0030", "LJ001-0031", "LJ001-0032"]
    metadata = {line.split("|")[0]: line.split("|")[2] for line in (mini / "metadata.csv").read_text(encoding="utf-8").splitlines()}
    assert eval_dir.text == {u: metadata[u] for u in eval_dir.wav_scp}
    info = sf.info(eval_dir.wav_scp["LJ001-0030"])
    assert (info.samplerate, info.channels) == (22050, 1)


@pytest.mark.parametrize(
    "line, message",
    [
        ("LJ001-0001|raw only", "expected 'id|raw text|normalised text', got 2 field(s)"),
        ("LJ001-0001|raw|", "empty normalised text for LJ001-0001"),
        ("LJ009-0009|raw|text", "no audio for LJ009-0009"),
        ("LJ001-0001|raw|text", "duplicate id LJ001-0001 (first on line 1)"),
    ],
)
def test_bad_metadata_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    corpus = make_corpus(tmp_path, METADATA[:1])
    with (corpus / "metadata.csv").open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    with pytest.raises(UserError) as err:
        read_metadata(corpus)
    assert message in err.value.message
    assert (err.value.path, err.value.line) == (str(corpus / "metadata.csv"), 2)


def test_audio_path_with_whitespace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="whitespace"):
        to_data_dir([Utterance("LJ001-0001", tmp_path / "my corpus" / "a.wav", "text")])


def test_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="corpus directory not found"):
        read_metadata(tmp_path / "nope")
