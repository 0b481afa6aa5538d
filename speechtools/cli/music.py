"""``speechtools music``: lyric/melody data for SongMASS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, device_option
from speechtools.errors import UserError
from speechtools.fileio import write_lines

if TYPE_CHECKING:
    from speechtools.music.lyric_melody import Song


@click.group()
def music() -> None:
    """Lyric-melody data (SongMASS).

    \b
    Examples:
      speechtools music lyrics-melody --scores music21:bach --out-dir data/songs
      speechtools music lyrics-melody --lmd-dir lmd_npy/ --out-dir data/lmd
      speechtools music generate-melody --model-dir exp/songmass --lyrics song.txt --out-dir out/
      speechtools music generate-lyrics --model-dir exp/songmass --melody tune.mid --out tune.txt
    """


@music.command("lyrics-melody")
@click.option("--scores", multiple=True, help="A folder of scores music21 reads (.mxl/.xml/.musicxml/.krn), or music21:COLLECTION "
                                              "for a collection of the corpus inside the music21 wheel. Repeatable.")
@click.option("--lmd-dir", multiple=True, type=click.Path(file_okay=False),
              help="A folder of Lakh-derived lyric/melody .npy files (the paper's paired data). Repeatable.")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Data folder to write (replaced whole).")
@click.option("--max-files", type=click.IntRange(min=0), default=0, show_default=True, help="At most this many files per input (0 = all).")
@click.option("--min-syllables", type=click.IntRange(min=1), default=8, show_default=True, help="Skip paired songs with fewer syllables.")
def lyrics_melody(scores: Tuple[str, ...], lmd_dir: Tuple[str, ...], out_dir: str, max_files: int, min_syllables: int) -> None:
    """Extract paired (syllable, pitch, duration, rest) songs and unpaired melodies, split 8:1:1 by song.

    Lyric-bearing scores give paired songs ([align] word ends, [sep] phrase ends), scores without
    lyrics give unpaired melodies; everything is transposed to C major / A minor, folded to
    octave 5 and quantised to 1/4 beat (capped at 4). What was skipped and why: skipped.tsv.

    Example: speechtools music lyrics-melody --scores music21:bach --out-dir data/songs
    """
    from speechtools.music.lyric_dataset import collect, write_dataset

    if not scores and not lmd_dir:
        raise click.UsageError("give --scores and/or --lmd-dir")
    data = collect(scores, lmd_dir, max_files, min_syllables)
    summary = write_dataset(data, out_dir)
    paired = summary["paired"]
    click.echo(f"paired songs: train {paired['train']} valid {paired['valid']} test {paired['test']} "  # type: ignore[index]
               f"({summary['syllables']} syllables, {summary['notes']} notes); unpaired melodies: {summary['melodies']}; "
               f"skipped: {summary['skipped']} (see {out_dir}/skipped.tsv)")


def song_text(song: "Song") -> List[str]:
    """One line per syllable: ``text<TAB>pitch:duration:rest ...`` (beats), a blank line after each sentence."""
    lines: List[str] = []
    for sentence in song.sentences:
        for word in sentence:
            for syl in word:
                lines.append(syl.text + "\t" + " ".join(f"{n.pitch}:{n.duration:g}:{n.rest:g}" for n in syl.notes))
        lines.append("")
    return lines


@music.command("generate-melody")
@click.option("--model-dir", required=True, type=click.Path(file_okay=False), help="A trained songmass model directory.")
@click.option("--lyrics", "lyrics_path", type=click.Path(dir_okay=False), default=None,
              help="Lyrics: songs separated by blank lines, one line per sentence, syllables joined by '-' (Hel-lo world).")
@click.option("--songs", "songs_path", type=click.Path(dir_okay=False), default=None,
              help="Instead of --lyrics: the lyrics of the songs of a songs.jsonl (from `lyrics-melody`), in file order.")
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True, help="With --songs: which songs.")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Written whole: <n>.mid, <n>.txt per song, hyp.melody (one token line per song).")
@click.option("--beam", type=click.IntRange(min=1), default=5, show_default=True)
@device_option
def generate_melody(model_dir: str, lyrics_path: Optional[str], songs_path: Optional[str], split: str, out_dir: str, beam: int,
                    device: str) -> None:
    """Write a melody for each song of a lyrics file (MIDI with lyric events, and text).

    Beam search keeps the lyrics' sentence count; notes are aligned to syllables by dynamic
    programming over the model's attention (each syllable one or more notes).

    Example: speechtools music generate-melody --model-dir exp/songmass --lyrics song.txt --out-dir out/
    """
    from tqdm import tqdm

    from speechtools.fileio import atomic_dir
    from speechtools.music.lyric_dataset import read_songs
    from speechtools.music.lyric_melody import melody_tokens
    from speechtools.music.song_io import lyric_song, read_lyric_songs, write_song_midi
    from speechtools.songwriter.generate import generate_melody as generate
    from speechtools.train.model_dir import load_model_dir

    if (lyrics_path is None) == (songs_path is None):
        raise click.UsageError("give one of --lyrics and --songs")
    if lyrics_path is not None:
        songs = read_lyric_songs(lyrics_path)
    else:
        songs = [[[[syl.text for syl in word] for word in sentence] for sentence in song.sentences] for song in read_songs(songs_path, split)]
        if not songs:
            raise UserError(f"no {split} song", songs_path)
    loaded = load_model_dir(model_dir, device)
    results = [generate(loaded, lyric_song(str(k), s), beam) for k, s in enumerate(tqdm(songs, desc="generate-melody", unit="song"), start=1)]
    with atomic_dir(out_dir) as tmp:
        for k, result in enumerate(results, start=1):
            write_song_midi(result.song, tmp / f"{k}.mid")
            write_lines(tmp / f"{k}.txt", song_text(result.song))
        write_lines(tmp / "hyp.melody", [" ".join(melody_tokens(r.song)) for r in results])
    fallbacks = sum(r.fallbacks for r in results)
    click.echo(f"{len(results)} melodies -> {out_dir} ({sum(len(r.song.notes()) for r in results)} notes; "
               f"{fallbacks} note(s) split or added where a sentence had fewer notes than syllables)")


@music.command("generate-lyrics")
@click.option("--model-dir", required=True, type=click.Path(file_okay=False), help="A trained songmass model directory.")
@click.option("--melody", "melody_path", required=True, type=click.Path(dir_okay=False),
              help="A MIDI file; its top voice is the melody, a rest of a beat or more ends a sentence.")
@click.option("--out", "out_path", required=True, type=OUTPUT_FILE, help="The lyrics: one line per sentence, syllables separated by spaces.")
@click.option("--midi-out", type=OUTPUT_FILE, default=None, help="Also write the melody with the lyrics as lyric events.")
@click.option("--beam", type=click.IntRange(min=1), default=5, show_default=True)
@device_option
def generate_lyrics(model_dir: str, melody_path: str, out_path: str, midi_out: Optional[str], beam: int, device: str) -> None:
    """Write lyrics for a melody (the direction the authors' code lacks), aligned to its notes.

    Example: speechtools music generate-lyrics --model-dir exp/songmass --melody tune.mid --out tune.txt --midi-out tune_lyrics.mid
    """
    from speechtools.fileio import atomic_paths
    from speechtools.music.song_io import melody_from_midi, phrases, song_midi_bytes
    from speechtools.songwriter.generate import generate_lyrics as generate
    from speechtools.train.model_dir import load_model_dir

    melody = phrases(melody_from_midi(melody_path))
    loaded = load_model_dir(model_dir, device)
    result = generate(loaded, melody, "lyrics", beam)
    lines = [" ".join(syl.text for word in sentence for syl in word if syl.text) for sentence in result.song.sentences]
    if midi_out:
        with atomic_paths(out_path, midi_out) as (text_tmp, midi_tmp):
            text_tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            midi_tmp.write_bytes(song_midi_bytes(result.song))
    else:
        write_lines(out_path, lines)
    click.echo(f"{melody_path}: {len(melody)} sentences, {sum(len(s) for s in melody)} notes -> {len(result.song.syllables())} syllables "
               f"-> {out_path} ({result.fallbacks} syllable(s) beyond a sentence's notes dropped)")


@music.command("evaluate")
@click.option("--model-dir", required=True, type=click.Path(file_okay=False), help="A trained songmass model directory.")
@click.option("--songs", "songs_path", required=True, type=click.Path(dir_okay=False), help="songs.jsonl written by `lyrics-melody`.")
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True)
@click.option("--json", "json_out", type=OUTPUT_FILE, default=None, help="Also write the figures as JSON.")
@click.option("--beam", type=click.IntRange(min=1), default=5, show_default=True, help="Beam of the lyric generation (syllable counts).")
@device_option
def evaluate(model_dir: str, songs_path: str, split: str, json_out: Optional[str], beam: int, device: str) -> None:
    """Perplexity both ways, DP vs argmax alignment accuracy, and syllable-count agreement of generated lyrics.

    Alignment: the reference melody is fed to the lyric-to-melody decoder and its attention aligned
    to the syllables by the DP and by the per-note argmax; accuracy = notes given their true syllable.

    Example: speechtools music evaluate --model-dir exp/songmass --songs data/songs/songs.jsonl --json exp/songmass/eval.json
    """
    from tqdm import tqdm

    from speechtools.music.lyric_dataset import read_songs
    from speechtools.scoring.report import write_json
    from speechtools.songwriter.evaluate import evaluate_songs, syllable_agreement
    from speechtools.songwriter.generate import generate_lyrics as generate
    from speechtools.songwriter.generate import syllable_counts
    from speechtools.train.model_dir import load_model_dir

    songs = read_songs(songs_path, split)
    if not songs:
        raise UserError(f"no {split} song", songs_path)
    loaded = load_model_dir(model_dir, device)
    figures: Dict[str, float] = dict(evaluate_songs(loaded, songs).summary())
    generated, notes, reference = [], [], []
    for song in tqdm(songs, desc="generate-lyrics", unit="song"):
        melody = [[n for word in sentence for syl in word for n in syl.notes] for sentence in song.sentences]
        result = generate(loaded, melody, song.name, beam)
        generated.append(syllable_counts(result.tokens))
        notes.append([len(m) for m in melody])
        reference.append([sum(len(word) for word in sentence) for sentence in song.sentences])
    figures.update(syllable_agreement(generated, notes, reference))
    click.echo(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    if json_out:
        write_json(json_out, figures, indent=1)
