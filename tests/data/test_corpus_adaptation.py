"""Corpora of the AdaSpeech recipe: Philipp (fixed adapt/eval split, speaker-prefixed ids),
Kathleen + LJSpeech combined as two-speaker source data, and the full-data path (LibriTTS,
VCTK) on fixtures in the real layouts (tests/fixtures/corpora)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pytest
import soundfile as sf

from speechtools.cli.main import main
from speechtools.data.combine import combine_data_dirs
from speechtools.data.corpora.kathleen import prepare_kathleen
from speechtools.data.corpora.libritts import parse_subsets, prepare_libritts
from speechtools.data.corpora.ljspeech import prepare_ljspeech
from speechtools.data.corpora.philipp import ADAPT_IDS, EVAL_IDS, prepare_philipp
from speechtools.data.corpora.vctk import prepare_vctk
from speechtools.data.kaldi import DataDir
from speechtools.data.validate import validate_data_dir
from speechtools.errors import UserError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "corpora"


def tone(path: Path, k: int, rate: int = 22050) -> None:
    t = np.arange(rate // 50) / rate
    sf.write(path, 0.1 * np.sin(2 * np.pi * (200 + 10 * k) * t), rate, subtype="PCM_16", format=path.suffix[1:].upper())


def ljspeech_format(root: Path, ids: Sequence[str]) -> Path:
    """An LJSpeech-format corpus (metadata.csv, wavs/<id>.flac) with tiny clips; the raw text has a number."""
    (root / "wavs").mkdir(parents=True)
    lines = [f"{u}|Sentence {k} of 3 parts.|Sentence {k} of three parts." for k, u in enumerate(ids)]
    (root / "metadata.csv").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    for k, u in enumerate(ids):
        tone(root / "wavs" / f"{u}.flac", k)
    return root


def kathleen_corpus(root: Path) -> Path:
    ids = ["arctic_a0001", "arctic_a0002", "arctic_a0539", "arctic_a0544"]
    (root / "wavs").mkdir(parents=True)
    (root / "text.psv").write_text("".join(f"{u}|Prompt number {k}.\n" for k, u in enumerate(ids)), encoding="utf-8")
    for k, u in enumerate(ids):
        tone(root / "wavs" / f"{u}.flac", k)
    return root


def load_sets(out: Path, names: Sequence[str]) -> Dict[str, DataDir]:
    for name in names:
        validate_data_dir(out / name)
    return {name: DataDir.load(out / name) for name in names}


# ------------------------------------------------------------------ Philipp
def test_philipp_split_is_fixed_and_disjoint() -> None:
    assert len(ADAPT_IDS) == 20 and len(EVAL_IDS) == 121 >= 80
    assert not set(ADAPT_IDS) & set(EVAL_IDS)
    assert list(ADAPT_IDS + EVAL_IDS) == sorted(ADAPT_IDS + EVAL_IDS)  # metadata order: adapt = the first 20
    mini = {f"LJ001-{n:04d}" for n in range(1, 33)}  # the bundled LJSpeech mini corpus the source model trains on
    assert not mini & set(EVAL_IDS)


def test_philipp_prepare(tmp_path: Path) -> None:
    # real id pattern, listed in shuffled order: the split must not depend on file order
    ids = list(ADAPT_IDS) + list(EVAL_IDS[:3]) + ["LJ050-0001"]
    corpus = ljspeech_format(tmp_path / "philipp", ids[::-1])
    out = tmp_path / "data"
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "prepare", "philipp", "--corpus", str(corpus), "--out", str(out)])
    assert exit_info.value.code == 0
    sets = load_sets(out, ("adapt", "eval"))
    assert sets["adapt"].utt_ids() == [f"philipp_{u}" for u in ADAPT_IDS]
    assert sets["eval"].utt_ids() == [f"philipp_{u}" for u in EVAL_IDS[:3]]  # LJ050-0001: outside the split, left out
    assert set(sets["adapt"].utt2spk.values()) == set(sets["eval"].utt2spk.values()) == {"philipp"}
    k = ids[::-1].index("LJ001-0001")
    assert sets["adapt"].text["philipp_LJ001-0001"] == f"Sentence {k} of three parts."  # the normalised column
    assert sets["adapt"].wav_scp["philipp_LJ001-0001"] == str((corpus / "wavs" / "LJ001-0001.flac").resolve())


def test_philipp_missing_adapt_clip(tmp_path: Path) -> None:
    corpus = ljspeech_format(tmp_path / "philipp", ADAPT_IDS[1:] + EVAL_IDS[:1])
    with pytest.raises(UserError, match="1 of the 20 adaptation clips missing"):
        prepare_philipp(tmp_path / "data", corpus)
    assert not (tmp_path / "data").exists()


def test_prefix_prevents_ljspeech_collision(tmp_path: Path) -> None:
    shared = list(ADAPT_IDS) + [EVAL_IDS[0]]
    prepare_philipp(tmp_path / "philipp", ljspeech_format(tmp_path / "p", shared))
    prepare_ljspeech(tmp_path / "lj", ljspeech_format(tmp_path / "lj_corpus", shared + ["LJ009-0001", "LJ009-0002"]), (1, 1))
    with pytest.raises(UserError, match="duplicate utterance 'LJ001-0001'"):  # the raw ids would collide
        combine_data_dirs(tmp_path / "bad", [tmp_path / "lj" / "train", _unprefixed(tmp_path)])
    report = combine_data_dirs(tmp_path / "all", [tmp_path / "lj" / "train", tmp_path / "philipp" / "adapt"])
    assert report.n_utts == 21 + 20
    assert DataDir.load(tmp_path / "all").speakers() == ["LJ", "philipp"]


def _unprefixed(tmp_path: Path) -> Path:
    """Philipp's adapt set as it would be without the speaker prefix."""
    data = DataDir.load(tmp_path / "philipp" / "adapt")
    raw = DataDir(wav_scp={k[len("philipp_"):]: v for k, v in data.wav_scp.items()},
                  text={k[len("philipp_"):]: v for k, v in data.text.items()},
                  utt2spk={k[len("philipp_"):]: v for k, v in data.utt2spk.items()})
    raw.save(tmp_path / "raw")
    return tmp_path / "raw"


# ------------------------------------------------------------------ Kathleen + LJSpeech: two-speaker source data
@pytest.mark.parametrize("prefix", [False, True])
def test_combine_kathleen_and_ljspeech(tmp_path: Path, prefix: bool) -> None:
    prepare_kathleen(tmp_path / "kathleen", kathleen_corpus(tmp_path / "k"), speaker_prefix=prefix)
    prepare_ljspeech(tmp_path / "lj", ljspeech_format(tmp_path / "l", [f"LJ001-{n:04d}" for n in range(1, 6)]), (1, 1), speaker_prefix=prefix)
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "combine", str(tmp_path / "train"), str(tmp_path / "kathleen" / "train"), str(tmp_path / "lj" / "train")])
    assert exit_info.value.code == 0
    summary = validate_data_dir(tmp_path / "train")
    data = DataDir.load(tmp_path / "train")
    assert data.speakers() == ["LJ", "kathleen"] and summary.n_utts == 2 + 3
    if prefix:
        assert data.utt_ids()[0] == "LJ_LJ001-0001" and "kathleen_arctic_a0001" in data.wav_scp


# ------------------------------------------------------------------ LibriTTS
def test_libritts_default_split(tmp_path: Path) -> None:
    counts = prepare_libritts(tmp_path / "data", FIXTURES / "libritts")
    assert counts == {"train": 4, "dev": 1, "eval": 1}
    sets = load_sets(tmp_path / "data", ("train", "dev", "eval"))
    train = sets["train"]
    assert train.utt_ids() == ["100_121669_000001_000000", "1034_121119_000001_000000", "103_1240_000000_000001", "103_1240_000000_000002"]
    assert train.speakers() == ["100", "103", "1034"]
    assert train.utt2spk["103_1240_000000_000002"] == "103"
    assert train.text["103_1240_000000_000002"] == "It was built in eighteen forty, or so they said."  # .normalized.txt
    assert train.text["1034_121119_000001_000000"] == "The second speaker reads this line."  # whitespace collapsed
    assert sets["dev"].utt_ids() == ["84_121123_000007_000001"] and sets["eval"].utt_ids() == ["1089_134686_000001_000001"]


def test_libritts_subset_options(tmp_path: Path) -> None:
    counts = prepare_libritts(tmp_path / "data", FIXTURES / "libritts", {"train": ["train-clean-100"], "dev": [], "eval": []})
    assert counts == {"train": 3} and not (tmp_path / "data" / "dev").exists()
    with pytest.raises(UserError, match="unknown LibriTTS subset 'train-clean-460'"):
        parse_subsets("train-clean-100,train-clean-460")
    with pytest.raises(UserError, match="subset folder train-other-500 not found"):
        prepare_libritts(tmp_path / "x", FIXTURES / "libritts", {"train": ["train-other-500"]})


def test_libritts_missing_transcript_is_named(tmp_path: Path) -> None:
    corpus = tmp_path / "LibriTTS"
    shutil.copytree(FIXTURES / "libritts", corpus)
    missing = corpus / "dev-clean" / "84" / "121123" / "84_121123_000007_000001.normalized.txt"
    missing.unlink()
    with pytest.raises(UserError) as err:
        prepare_libritts(tmp_path / "data", corpus)
    assert err.value.path == str(missing)
    assert not (tmp_path / "data").exists()


def test_libritts_empty_and_missing_corpus(tmp_path: Path) -> None:
    (tmp_path / "empty" / "test-clean").mkdir(parents=True)
    with pytest.raises(UserError, match="no <speaker>/<chapter>/\\*.wav in subset test-clean"):
        prepare_libritts(tmp_path / "data", tmp_path / "empty", {"eval": ["test-clean"]})
    with pytest.raises(UserError, match="corpus directory not found"):
        prepare_libritts(tmp_path / "data", tmp_path / "nope")


# ------------------------------------------------------------------ VCTK
def test_vctk_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert prepare_vctk(tmp_path / "data", FIXTURES / "vctk") == {"all": 5}
    err = capsys.readouterr().err
    assert "2 mic1 clip(s) without a transcript skipped (p315: 2)" in err and "1 transcript(s) without a mic1 clip" in err
    data = load_sets(tmp_path / "data", ("all",))["all"]
    assert data.utt_ids() == ["p225_001", "p225_002", "p225_003", "p226_001", "p226_002"]
    assert data.speakers() == ["p225", "p226"]
    assert data.wav_scp["p225_001"].endswith("wav48_silence_trimmed/p225/p225_001_mic1.flac")
    assert data.text["p225_003"] == "Six spoons of fresh snow peas, five thick slabs of blue cheese."  # normalised


def test_vctk_mic_speakers_and_adapt_split(tmp_path: Path) -> None:
    counts = prepare_vctk(tmp_path / "data", FIXTURES / "vctk", mic="mic2", speakers=["p225"], adapt_size=2)
    assert counts == {"adapt": 2, "eval": 1}
    sets = load_sets(tmp_path / "data", ("adapt", "eval"))
    assert sets["adapt"].utt_ids() == ["p225_001", "p225_002"] and sets["eval"].utt_ids() == ["p225_003"]
    assert sets["eval"].wav_scp["p225_003"].endswith("p225_003_mic2.flac")
    with pytest.raises(UserError, match="speaker p226 has 2 utterance"):
        prepare_vctk(tmp_path / "d2", FIXTURES / "vctk", adapt_size=2)
    with pytest.raises(UserError, match=r"speaker\(s\) p999 not in the corpus"):
        prepare_vctk(tmp_path / "d3", FIXTURES / "vctk", speakers=["p999"])
    with pytest.raises(UserError, match="no transcribed mic1 audio"):
        prepare_vctk(tmp_path / "d4", FIXTURES / "vctk", speakers=["p315"])
    assert not any((tmp_path / d).exists() for d in ("d2", "d3", "d4"))


def test_vctk_bad_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "VCTK"
    shutil.copytree(FIXTURES / "vctk", corpus)
    (corpus / "txt" / "p225" / "p225_002.txt").write_text("  \n")
    with pytest.raises(UserError, match="empty transcript file") as err:
        prepare_vctk(tmp_path / "data", corpus)
    assert err.value.path == str(corpus / "txt" / "p225" / "p225_002.txt")
    shutil.rmtree(corpus / "txt")
    with pytest.raises(UserError, match="txt/ is missing"):
        prepare_vctk(tmp_path / "data", corpus)
