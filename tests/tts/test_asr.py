"""pocketsphinx decoding against the hypotheses the corpus provider recorded with pocketsphinx 5
(fixture: the first 3 clips of the bundled LJSpeech mini corpus, from its asr_hyp.tsv)."""

from pathlib import Path

import pytest

from speechtools.cli.main import main
from speechtools.data.kaldi import read_table, write_table

pytest.importorskip("pocketsphinx")

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "tts" / "pocketsphinx_ljmini.txt"


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
