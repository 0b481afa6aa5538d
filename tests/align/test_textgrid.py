"""MFA TextGrid import: parsing (long and short format) and seconds → frames mapping."""

from pathlib import Path

import pytest

from speechtools.align.textgrid import Interval, read_textgrid_tier, textgrid_durations
from speechtools.errors import UserError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "align" / "LJ-test.TextGrid"
TOKENS = ["HH", "AH0", "L", "OW1", "<space>", "W", "ER1", "L", "D", "."]


def test_long_format_phones_tier():
    phones = read_textgrid_tier(FIXTURE)
    assert len(phones) == 11
    assert phones[1] == Interval(0.1, 0.2, "HH")
    assert read_textgrid_tier(FIXTURE, "words")[1].label == "hello"
    with pytest.raises(UserError, match="no interval tier named 'syllables'"):
        read_textgrid_tier(FIXTURE, "syllables")


def test_short_format(tmp_path):
    short = tmp_path / "short.TextGrid"
    short.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n1\n<exists>\n1\n"IntervalTier"\n"phones"\n0\n1\n2\n0\n0.4\n"AH0"\n0.4\n1\n""\n')
    assert read_textgrid_tier(short) == [Interval(0.0, 0.4, "AH0"), Interval(0.4, 1.0, "")]


def test_seconds_to_frames_with_the_feature_hop():
    # 1.0 s at 22050 Hz / hop 256 = 86.13 frames; our features have n // hop + 1 = 87 frames.
    phones = read_textgrid_tier(FIXTURE)
    durations = textgrid_durations(phones, TOKENS, n_frames=87, sample_rate=22050, hop_length=256)
    assert sum(durations) == 87 and min(durations) >= 0
    # Edges: round(t * 22050 / 256): 0.1 -> 9, 0.2 -> 17, 0.3 -> 26, 0.35 -> 30, 0.45 -> 39, 0.5 -> 43,
    # 0.6 -> 52, 0.7 -> 60, 0.8 -> 69, 0.9 -> 78, last edge = 87 frames.
    # Leading silence (9 frames) joins the first phone; "sp" goes to <space>; final "sil" to ".".
    assert durations == [9 + 8, 9, 4, 9, 4, 9, 8, 9, 9, 9]


def test_mismatched_phones_are_reported():
    phones = read_textgrid_tier(FIXTURE)
    with pytest.raises(ValueError, match="does not match token"):
        textgrid_durations(phones, ["HH", "EH1"] + TOKENS[2:], 87, 22050, 256, uttid="u1")
    with pytest.raises(ValueError, match="fewer phones"):
        textgrid_durations(phones, TOKENS[:-1] + ["Z", "."], 87, 22050, 256)


def test_import_textgrid_cli_writes_durations(tmp_path):
    import numpy as np

    from speechtools.audio.store import FeatureStore
    from speechtools.cli.main import main
    from speechtools.data.kaldi import read_durations

    data = tmp_path / "data"
    data.mkdir()
    (data / "text").write_text("LJ-test hello world.\n")
    (data / "wav.scp").write_text("LJ-test /dev/null\n")
    store = FeatureStore(tmp_path / "dump")
    store.write("mel", "LJ-test", np.zeros((87, 80), np.float32))
    store.write_index("mel", ["LJ-test"])
    grids = tmp_path / "mfa"
    grids.mkdir()
    (grids / "LJ-test.TextGrid").write_bytes(FIXTURE.read_bytes())
    conf = Path(__file__).resolve().parents[2] / "conf" / "feats" / "mel22k.yaml"
    with pytest.raises(SystemExit) as exc:
        main(["align", "import-textgrid", "--data", str(data), "--textgrids", str(grids), "--feats", str(tmp_path / "dump"),
              "--feats-conf", str(conf)])
    assert exc.value.code == 0
    assert read_durations(data / "durations") == {"LJ-test": [17, 9, 4, 9, 4, 9, 8, 9, 9, 9]}
