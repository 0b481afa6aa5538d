"""OctupleMIDI encode/decode: worked examples, upstream agreement, round trips, errors."""

from __future__ import annotations

from pathlib import Path

import miditoolkit
import mido
import numpy as np
import pytest

from speechtools.errors import UserError
from speechtools.fileio import read_lines
from speechtools.music import octuple as O
from speechtools.music import vocab as V

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "music"
FIXTURE_NAMES = ["bwv1.6", "aloha_oe", "synthetic_drums_tpb383", "bwv362"]


def test_vocabulary_sizes_match_reference():
    assert V.FIELD_SIZES == (256, 128, 129, 256, 128, 32, 254, 49)
    assert sum(V.FIELD_SIZES) == 1232
    assert V.FIELD_OFFSETS[:3] == (4, 260, 388)  # bars 4-259, positions 260-387, programs 388-...
    assert len(V.dictionary()) == V.VOCAB_SIZE == 1237
    assert V.dictionary()[V.MASK_ID] == "<mask>"


def test_quantisation_tables_worked_values():
    # duration: group i starts at 16 (2^i - 1) with step 2^i
    assert V.duration_to_code(np.array([0, 15, 16, 17, 18, 46, 47, 48, 51, 52])).tolist() == [0, 15, 16, 16, 17, 31, 31, 32, 32, 33]
    assert V.code_to_duration(np.array([16, 32, 112, 127])).tolist() == [16, 48, 2032, 3952]
    assert V.duration_to_code(np.array([4079, 4080, 10**6])).tolist() == [127, 127, 127]
    assert V.tempo_to_code(120) == 35 and abs(V.code_to_tempo(35) - 120.82) < 0.01
    assert V.tempo_to_code(5) == 0 and V.tempo_to_code(1000) == 48
    assert V.velocity_to_code(np.array([0, 3, 4, 127])).tolist() == [0, 0, 1, 31]
    assert V.code_to_velocity(np.array([25])).tolist() == [102]
    assert V.TS_INDEX[(4, 4)] == 9 and V.TS_INDEX[(3, 4)] == 8 and V.TS_INDEX[(2, 4)] == 7
    assert V.reduce_time_signature(6, 128) == (3, 64)
    assert V.reduce_time_signature(9, 4) == (3, 4)


def _tiny_midi() -> miditoolkit.MidiFile:
    """3/4 then a mid-bar change to 2/4; tempo 120 then 60; a piano note, a drum, a bass."""
    m = miditoolkit.MidiFile(ticks_per_beat=480)
    m.time_signature_changes = [miditoolkit.TimeSignature(3, 4, 0), miditoolkit.TimeSignature(2, 4, 1680)]
    m.tempo_changes = [miditoolkit.TempoChange(120.0, 0), miditoolkit.TempoChange(60.0, 960)]
    piano = miditoolkit.Instrument(program=0)
    piano.notes = [
        miditoolkit.Note(velocity=100, pitch=60, start=0, end=480),
        miditoolkit.Note(velocity=3, pitch=64, start=1440, end=2160),
        miditoolkit.Note(velocity=64, pitch=67, start=2400, end=2400 + 480 * 300),
        miditoolkit.Note(velocity=64, pitch=65, start=2880, end=3120),
        miditoolkit.Note(velocity=64, pitch=62, start=3840, end=3870),
    ]
    drums = miditoolkit.Instrument(program=5, is_drum=True)
    drums.notes = [miditoolkit.Note(velocity=127, pitch=36, start=240, end=300)]
    bass = miditoolkit.Instrument(program=33)
    bass.notes = [miditoolkit.Note(velocity=80, pitch=40, start=3360, end=3370)]
    m.instruments = [piano, drums, bass]
    return m


def test_worked_example_hand_computed():
    # pos = tick * 16 / 480 = tick / 30. 3/4 bars have 48 positions; the 2/4 change at
    # position 56 (inside bar 1 = positions 48..95) takes effect at the bar line 96.
    expected = [
        # bar pos prog pitch dur vel ts tempo
        (0, 0, 0, 60, 16, 25, 8, 35),  # 16 positions -> code 16; 100 // 4; (3,4) -> 8; 120 BPM -> 35
        (0, 8, 128, 164, 2, 31, 8, 35),  # drum: program 128, pitch 36 + 128; 2 positions
        (1, 0, 0, 64, 20, 0, 8, 23),  # pos 48; 24 positions -> 16 + (24 - 16) // 2; 60 BPM -> 23
        (1, 32, 0, 67, 127, 16, 8, 23),  # pos 80 still in the 3/4 bar; 4800 positions -> last bin
        (2, 0, 0, 65, 8, 16, 7, 23),  # pos 96: first 2/4 bar
        (2, 16, 33, 40, 0, 20, 7, 23),  # pos 112; 10 ticks -> 0 positions
        (3, 0, 0, 62, 1, 16, 7, 23),  # pos 128 = 96 + 32
    ]
    assert O.encode(_tiny_midi()).tolist() == [list(t) for t in sorted(expected)]


@pytest.mark.parametrize("name", FIXTURE_NAMES[:3])
def test_encode_matches_upstream_preprocess(name):
    """Fixture encodings were computed once with muzic's MIDI_to_encoding (miditoolkit 1.0.1)."""
    path = FIXTURES / f"{name}.upstream.txt"
    expected = O.lines_to_encoding(read_lines(path), str(path))
    assert np.array_equal(O.encode(FIXTURES / f"{name}.mid"), expected)


def test_mid_bar_time_signature_change_differs_from_upstream_only_in_signature_label(tmp_path):
    """bwv362 switches 4/4 -> 3/4 at beat 2 of bar 23. Upstream (whose assertion cannot fire)
    also starts the 3/4 bars at bar 24 but labels the notes after the change inside bar 23 as
    3/4; we label them with their bar's signature, so decoding keeps bar 23 at 4/4."""
    path = FIXTURES / "bwv362.upstream.txt"
    upstream = O.lines_to_encoding(read_lines(path), str(path))
    ours = O.encode(FIXTURES / "bwv362.mid")
    differ = np.nonzero((ours != upstream).any(axis=1))[0]
    assert len(differ) == 8
    assert set(np.nonzero(ours != upstream)[1]) == {V.TIME_SIG}
    assert set(ours[differ, V.BAR]) == {23} and ours[differ, V.POSITION].min() >= 16
    assert set(ours[differ, V.TIME_SIG]) == {V.TS_INDEX[(4, 4)]} and set(upstream[differ, V.TIME_SIG]) == {V.TS_INDEX[(3, 4)]}
    assert set(ours[ours[:, V.BAR] == 24, V.TIME_SIG]) == {V.TS_INDEX[(3, 4)]}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_encode_decode_encode_identical_through_a_file(name, tmp_path):
    first = O.encode(FIXTURES / f"{name}.mid")
    O.write_midi(O.decode(first), tmp_path / "rt.mid")
    assert np.array_equal(O.encode(tmp_path / "rt.mid"), first)


def _random_midi(rng: np.random.Generator, tpb: int) -> miditoolkit.MidiFile:
    m = miditoolkit.MidiFile(ticks_per_beat=tpb)
    m.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0), miditoolkit.TimeSignature(5, 8, 8 * tpb)]
    for program, drum in [(0, False), (0, False), (40, False), (9, True)]:
        inst = miditoolkit.Instrument(program=program, is_drum=drum)
        for _ in range(80):
            s = int(rng.integers(0, 30 * tpb))
            inst.notes.append(miditoolkit.Note(int(rng.integers(1, 128)), int(rng.integers(30, 90)), s, s + int(rng.integers(1, 6 * tpb))))
        m.instruments.append(inst)
    return m


@pytest.mark.parametrize("tpb", [96, 97, 480, 1001])
def test_decode_keeps_notes_within_quantisation(tpb, tmp_path):
    """Overlapping same-pitch notes, two tracks of one program, drums, odd resolutions."""
    rng = np.random.default_rng(tpb)
    midi = _random_midi(rng, tpb)
    midi.dump(str(tmp_path / "in.mid"))
    enc = O.encode(tmp_path / "in.mid")
    O.write_midi(O.decode(enc), tmp_path / "out.mid")
    assert np.array_equal(O.encode(tmp_path / "out.mid"), enc)

    def notes(m):
        beat = m.ticks_per_beat
        rows = []
        for inst in m.instruments:
            for n in inst.notes:
                onset = int(np.rint(n.start * 16 / beat))
                rows.append((128 if inst.is_drum else int(inst.program), n.pitch, n.velocity // 4, onset, n.end - n.start, n.start / beat, n.end / beat))
        return sorted(rows)

    original = notes(miditoolkit.MidiFile(str(tmp_path / "in.mid")))
    decoded = notes(miditoolkit.MidiFile(str(tmp_path / "out.mid")))
    assert len(original) == len(decoded) == len(enc)
    for a, b in zip(original, decoded):
        assert a[:4] == b[:4]  # instrument, pitch, velocity bin, onset position
        assert abs(a[5] - b[5]) <= 1 / 32 + 1e-9  # onset within half a 1/16-beat position
        dur_pos = int(np.rint(a[6] * 16)) - a[3]
        lower = int(V.code_to_duration(V.duration_to_code(np.array([dur_pos])))[0])
        got = b[6] - b[5]
        assert got == pytest.approx(max(lower / 16, 1 / 480))  # lower edge of the duration bin
        assert lower <= dur_pos < lower + 2 ** (int(V.duration_to_code(np.array([dur_pos]))[0]) // 16) or dur_pos > 4079


def test_type0_file(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=120)
    track = mido.MidiTrack()
    track += [
        mido.Message("program_change", channel=0, program=0, time=0),
        mido.Message("program_change", channel=1, program=24, time=0),
        mido.Message("note_on", channel=0, note=60, velocity=90, time=0),
        mido.Message("note_on", channel=1, note=48, velocity=70, time=0),
        mido.Message("note_off", channel=0, note=60, velocity=0, time=120),
        mido.Message("note_off", channel=1, note=48, velocity=0, time=120),
    ]
    mid.tracks.append(track)
    mid.save(str(tmp_path / "t0.mid"))
    assert O.encode(tmp_path / "t0.mid").tolist() == [[0, 0, 0, 60, 16, 22, 9, 35], [0, 0, 24, 48, 24, 17, 9, 35]]


def test_no_notes_gives_empty_encoding(tmp_path):
    miditoolkit.MidiFile().dump(str(tmp_path / "empty.mid"))
    assert O.encode(tmp_path / "empty.mid").shape == (0, 8)
    assert len(O.decode(O.EMPTY).instruments) == 0


def test_corrupt_and_missing_files_are_user_errors(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes((FIXTURES / "bwv1.6.mid").read_bytes()[:100])
    with pytest.raises(UserError, match="corrupt") as err:
        O.encode(bad)
    assert err.value.path == str(bad)
    (tmp_path / "text.mid").write_text("hello")
    with pytest.raises(UserError):
        O.encode(tmp_path / "text.mid")
    with pytest.raises(UserError, match="no such file"):
        O.encode(tmp_path / "missing.mid")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: setattr(m.instruments[0].notes[0], "start", -5), "note time"),
        (lambda m: setattr(m.instruments[0].notes[0], "end", 2**31), "note time"),
        (lambda m: m.time_signature_changes.append(miditoolkit.TimeSignature(5, 128, 0)), "unsupported time signature 5/128"),
        (lambda m: m.time_signature_changes.append(miditoolkit.TimeSignature(3, 6, 0)), "unsupported time signature 3/6"),
        (lambda m: setattr(m, "ticks_per_beat", 0), "ticks per beat"),
    ],
)
def test_absurd_values_name_the_file(mutate, message):
    midi = _tiny_midi()
    mutate(midi)
    with pytest.raises(UserError, match=message) as err:
        O.encode(midi, name="song.mid")
    assert err.value.path == "song.mid"


def test_time_signature_changes_inside_one_bar_last_wins():
    segments = O.bar_segments([(10, V.TS_INDEX[(3, 4)]), (20, V.TS_INDEX[(2, 4)])], V.TS_INDEX[(4, 4)])
    assert segments.tolist() == [[0, 0, 64, 9], [64, 1, 32, 7]]
    back = O.bar_segments([(64, V.TS_INDEX[(3, 4)]), (100, V.TS_INDEX[(4, 4)])], V.TS_INDEX[(4, 4)])
    assert back.tolist() == [[0, 0, 64, 9], [64, 1, 48, 8], [112, 2, 64, 9]]


def test_notes_beyond_truncation_are_dropped():
    m = miditoolkit.MidiFile(ticks_per_beat=16)
    inst = miditoolkit.Instrument(program=0)
    inst.notes = [miditoolkit.Note(64, 60, 0, 16), miditoolkit.Note(64, 61, V.TRUNC_POS, V.TRUNC_POS + 16)]
    m.instruments = [inst]
    assert O.encode(m)[:, V.PITCH].tolist() == [60]


def test_text_lines_round_trip_and_errors():
    enc = O.encode(_tiny_midi())
    lines = list(enumerate(O.encoding_to_lines(enc), start=1))
    assert np.array_equal(O.lines_to_encoding(lines, "x.txt"), enc)
    with pytest.raises(UserError) as err:
        O.lines_to_encoding([(1, lines[0][1]), (2, "<0-0> <1-0> <2-0> <3-60> <4-0> <5-40> <6-9> <7-3>")], "x.txt")
    assert err.value.line == 2 and "velocity" in err.value.message
    with pytest.raises(UserError, match="field 3"):
        O.lines_to_encoding([(5, "<0-0> <1-0> <2-0> <2-60> <4-0> <5-4> <6-9> <7-3>")], "x.txt")
    with pytest.raises(UserError, match="pitch"):  # drums need pitch >= 128
        O.lines_to_encoding([(1, "<0-0> <1-0> <2-128> <3-60> <4-0> <5-4> <6-9> <7-3>")], "x.txt")


def test_decode_bar_limit_and_majority_time_signature():
    with pytest.raises(UserError, match="bar value"):
        O.lines_to_encoding([(1, "<0-99999999> <1-0> <2-0> <3-60> <4-0> <5-4> <6-9> <7-3>")], "x.txt")
    # bar 0: two 3/4 notes and one 4/4 note -> 3/4; bar 1 empty inherits 3/4; bar 2 in 4/4
    enc = np.array([[0, 0, 0, 60, 4, 20, 8, 35], [0, 4, 0, 62, 4, 20, 8, 35], [0, 8, 0, 64, 4, 20, 9, 35], [2, 0, 0, 65, 4, 20, 9, 35]])
    midi = O.decode(enc)
    assert [(t.numerator, t.denominator, t.time) for t in midi.time_signature_changes] == [(3, 4, 0), (4, 4, 2 * 48 * 30)]
