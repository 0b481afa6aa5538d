"""generate-melody / generate-lyrics end to end on a tiny trained model: MIDI with lyric events
(miditoolkit, music21, OctupleMIDI round trip), the sentence count, the DP alignment, one-line errors."""

from __future__ import annotations

from pathlib import Path

import miditoolkit
import numpy as np
import pytest

from speechtools.cli.main import main
from speechtools.music import octuple as O
from speechtools.music.lyric_dataset import Collected, write_dataset
from tests.music.test_songmass_model import random_song

ROOT = Path(__file__).resolve().parents[2]
LYRICS = "Hel-lo my friend\nsing a-long\n\nA-men\n"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("songmass")
    rng = np.random.default_rng(1)
    write_dataset(Collected(songs=[random_song(f"s{k}", rng) for k in range(40)]), str(work / "data"))
    tiny = ["--set", "model_conf.d_model=32", "--set", "model_conf.n_heads=2", "--set", "model_conf.ffn_dim=64",
            "--set", "model_conf.encoder_layers=1", "--set", "model_conf.decoder_layers=1", "--set", "trainer.max_steps=3",
            "--set", "trainer.valid_interval=3", "--set", "trainer.save_interval=3", "--set", f"task_conf.data_dir={work / 'data'}"]
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", str(ROOT / "conf" / "music" / "songmass_tiny.yaml"), "--out-dir", str(work / "exp"), "--quiet", *tiny])
    assert exit_info.value.code == 0
    return work / "exp"


def test_generate_melody_writes_midi_with_lyrics(model_dir, tmp_path, run_cli):
    music21 = pytest.importorskip("music21")
    (tmp_path / "lyrics.txt").write_text(LYRICS)
    code, out, err = run_cli(["music", "generate-melody", "--model-dir", str(model_dir), "--lyrics", str(tmp_path / "lyrics.txt"),
                          "--out-dir", str(tmp_path / "out"), "--beam", "2", "--device", "cpu"])
    assert code == 0, err
    out_dir = tmp_path / "out"
    assert sorted(p.name for p in out_dir.iterdir()) == ["1.mid", "1.txt", "2.mid", "2.txt", "hyp.melody"]
    syllables = ["hel", "lo", "my", "friend", "sing", "a", "long"]
    text = (out_dir / "1.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in text if line] == syllables
    assert all(len(line.split("\t")[1].split()) >= 1 for line in text if line)   # every syllable has a note
    assert text.count("") == 2                                                    # two sentences
    assert (out_dir / "hyp.melody").read_text().splitlines()[0].split().count("[sep]") == 2
    midi = miditoolkit.MidiFile(str(out_dir / "1.mid"))
    assert [l.text for l in midi.lyrics] == syllables
    onsets = {n.start for n in midi.instruments[0].notes}
    assert all(l.time in onsets for l in midi.lyrics)
    parsed = music21.converter.parse(str(out_dir / "1.mid"))
    sung = [n.lyric for n in parsed.recurse().notes if n.lyric]
    assert sung == syllables
    encoding = O.encode(out_dir / "1.mid")
    assert len(encoding) == len(midi.instruments[0].notes)
    assert np.array_equal(O.encode(O.decode(encoding)), encoding)                 # round trip through OctupleMIDI
    assert sorted(encoding[:, 3].tolist()) == sorted(n.pitch for n in midi.instruments[0].notes)


def test_generate_lyrics_for_a_melody(model_dir, tmp_path, run_cli):
    midi = miditoolkit.MidiFile(ticks_per_beat=480)
    track = miditoolkit.Instrument(program=0)
    starts = [0, 480, 960, 1440, 3360, 3840, 4320]   # a 2-beat rest ends the first sentence
    track.notes = [miditoolkit.Note(velocity=80, pitch=60 + 2 * k, start=s, end=s + 480) for k, s in enumerate(starts)]
    midi.instruments = [track]
    midi.dump(str(tmp_path / "tune.mid"))
    code, out, err = run_cli(["music", "generate-lyrics", "--model-dir", str(model_dir), "--melody", str(tmp_path / "tune.mid"),
                          "--out", str(tmp_path / "tune.txt"), "--midi-out", str(tmp_path / "tune_lyrics.mid"), "--beam", "2",
                          "--device", "cpu"])
    assert code == 0, err
    lines = (tmp_path / "tune.txt").read_text().splitlines()
    assert len(lines) == 2
    written = miditoolkit.MidiFile(str(tmp_path / "tune_lyrics.mid"))
    assert [n.pitch for n in written.instruments[0].notes] == [60 + 2 * k for k in range(7)]
    assert [l.text for l in written.lyrics] == " ".join(lines).split()


def test_bad_inputs_give_one_line_errors(model_dir, tmp_path, run_cli):
    (tmp_path / "empty.txt").write_text("123 456\n")
    code, _, err = run_cli(["music", "generate-melody", "--model-dir", str(model_dir), "--lyrics", str(tmp_path / "empty.txt"),
                        "--out-dir", str(tmp_path / "o")])
    assert code == 1 and err.splitlines() == [f"error: {tmp_path / 'empty.txt'}:1: no syllable in line '123 456' (a syllable needs a letter)"]
    silent = miditoolkit.MidiFile(ticks_per_beat=480)
    silent.instruments = [miditoolkit.Instrument(program=0)]
    silent.dump(str(tmp_path / "silent.mid"))
    code, _, err = run_cli(["music", "generate-lyrics", "--model-dir", str(model_dir), "--melody", str(tmp_path / "silent.mid"),
                        "--out", str(tmp_path / "x.txt")])
    assert code == 1 and err.splitlines() == [f"error: {tmp_path / 'silent.mid'}: the MIDI file has no notes (outside drum tracks)"]
    assert not (tmp_path / "o").exists() and not (tmp_path / "x.txt").exists()


def test_evaluate_and_generate_for_the_test_songs(model_dir, tmp_path, run_cli):
    import json

    songs = model_dir.parent / "data" / "songs.jsonl"
    code, out, err = run_cli(["music", "evaluate", "--model-dir", str(model_dir), "--songs", str(songs), "--split", "train", "--beam", "1",
                          "--json", str(tmp_path / "eval.json"), "--device", "cpu"])
    assert code == 0, err
    figures = json.loads((tmp_path / "eval.json").read_text())
    assert figures["songs"] > 0 and figures["aligned_notes"] > 0
    assert 0 <= figures["alignment_accuracy_argmax"] <= 1 and 0 < figures["alignment_accuracy_dp"] <= 1
    assert figures["lyric_to_melody_ppl"] > 1 and figures["melody_to_lyric_ppl"] > 1
    assert 0 <= figures["syllables_fit_notes"] <= 1
    code, _, err = run_cli(["music", "generate-melody", "--model-dir", str(model_dir), "--songs", str(songs), "--split", "valid", "--beam", "1",
                        "--out-dir", str(tmp_path / "gen"), "--device", "cpu"])
    assert code == 0, err
    hyp = (tmp_path / "gen" / "hyp.melody").read_text().splitlines()
    ref = (model_dir.parent / "data" / "para" / "valid.melody").read_text().splitlines()
    assert len(hyp) == len(ref) and all(h.split().count("[sep]") == r.split().count("[sep]") for h, r in zip(hyp, ref))
    assert all(h.split().count("[align]") == r.split().count("[align]") for h, r in zip(hyp, ref))  # one per word
    code, out, _ = run_cli(["score", "melody", str(model_dir.parent / "data" / "para" / "valid.melody"), str(tmp_path / "gen" / "hyp.melody")])
    assert code == 0 and out.startswith("%MELODY")
