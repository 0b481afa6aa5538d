"""pocketsphinx decoding against the hypotheses the corpus provider recorded with pocketsphinx 5
(fixtures: the first 3 clips of the bundled LJSpeech mini corpus, from its asr_hyp.tsv: the
1-best, and the 1-best with the 4-best list)."""

from pathlib import Path

import pytest

from speechtools.cli.main import main
from speechtools.data.kaldi import read_table, write_table

pytest.importorskip("pocketsphinx")

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "tts" / "pocketsphinx_ljmini.txt"
NBEST_FIXTURE = ROOT / "tests" / "fixtures" / "tts" / "pocketsphinx_ljmini_nbest.tsv"  # the same clips' asr_hyp.tsv lines


def test_asr_decode_matches_recorded_pocketsphinx_output(tmp_path):
    expected = read_table(FIXTURE)
    data = tmp_path / "data"
    data.mkdir()
    write_table(data / "wav.scp", {u: str(ROOT / "egs/ljspeech/mini_corpus/wavs" / f"{u}.flac") for u in expected})
    out = tmp_path / "hyp.txt"
    with pytest.raises(SystemExit) as exc:
        main(["asr", "decode", str(data), "--out", str(out)])
    assert exc.value.code == 0
    assert read_table(out, allow_empty_value=True) == expected


def test_asr_decode_n_best_matches_recorded_pocketsphinx_lists(tmp_path):
    from speechtools.correction.multi_alignment import read_nbest

    recorded = read_nbest(NBEST_FIXTURE, dedupe=False)
    data = tmp_path / "data"
    data.mkdir()
    write_table(data / "wav.scp", {u: str(ROOT / "egs/ljspeech/mini_corpus/wavs" / f"{u}.flac") for u in recorded})
    out = tmp_path / "asr_hyp.tsv"
    with pytest.raises(SystemExit) as exc:
        main(["asr", "decode", str(data), "--n-best", "4", "--out", str(out)])
    assert exc.value.code == 0
    assert read_nbest(out) == read_nbest(NBEST_FIXTURE)  # the 1-best, then the distinct n-best entries in order
    assert [len(c) for c in recorded.values()] == [5, 5, 5]


def test_n_best_with_our_recogniser_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["asr", "decode", str(tmp_path), "--model-dir", str(tmp_path), "--n-best", "4", "--out", str(tmp_path / "x")])
    assert exc.value.code != 0
    assert "--n-best is for pocketsphinx decoding" in capsys.readouterr().err
