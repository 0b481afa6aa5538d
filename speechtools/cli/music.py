"""``speechtools music``: lyrics and melodies: DeepRapper's lyrics data and rap generation, SongMASS's lyric/melody data and generation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, device_option, seed_option
from speechtools.errors import UserError
from speechtools.fileio import write_lines

if TYPE_CHECKING:
    from speechtools.music.lyric_melody import Song


@click.group()
def music() -> None:
    """Lyrics and melodies: DeepRapper (lyrics data, rap generation) and SongMASS (lyric-melody data, generation both ways).

    \b
    Examples:
      speechtools music prepare-lyrics ../shared/corpora/chinese_poetry --format ci --lang zh --out-dir data/ci
      speechtools music rap --model-dir exp/deeprapper --prompt "夜色笼罩整座城市的光" --lines 4 --lang zh --seed 1
      speechtools music lyrics-melody --scores music21:bach --out-dir data/songs
      speechtools music lyrics-melody --lmd-dir lmd_npy/ --out-dir data/lmd
      speechtools music generate-melody --model-dir exp/songmass --lyrics song.txt --out-dir out/
      speechtools music generate-lyrics --model-dir exp/songmass --melody tune.mid --out tune.txt
    """


@music.command("prepare-lyrics")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Data folder to write (train/valid/test.txt, tokens.txt, rhymes.txt).")
@click.option("--format", "fmt", type=click.Choice(["lyrics", "ci"]), default="lyrics", show_default=True,
              help="lyrics: beat-aligned lyrics text files; ci: chinese-poetry ci.song.*.json.")
@click.option("--lang", type=click.Choice(["zh", "en"]), required=True, help="Language of the lyrics.")
@click.option("--valid-songs", type=click.IntRange(min=0), default=0, show_default=True, help="Songs held out for validation.")
@click.option("--test-songs", type=click.IntRange(min=0), default=0, show_default=True, help="Songs held out for testing.")
@click.option("--max-tokens", type=click.IntRange(min=0), default=0, show_default=True,
              help="Keep the N most frequent training tokens (0: all); the others become <unk>.")
@click.option("--max-rhymes", type=click.IntRange(min=0), default=0, show_default=True,
              help="English: keep the N most frequent rhyme classes (0: all); the others are UNK.")
@click.option("--min-lines", type=click.IntRange(min=1), default=5, show_default=True, help="--format ci: skip shorter ci.")
@seed_option
def prepare_lyrics(inputs: Tuple[str, ...], out_dir: str, fmt: str, lang: str, valid_songs: int, test_songs: int,
                   max_tokens: int, max_rhymes: int, min_lines: int, seed: int) -> None:
    """Split lyrics into train/valid/test songs (seeded) and build the vocabulary.

    INPUTS: lyrics files or folders of *.txt (one line per sentence, [BEAT] before on-beat
    characters, blank line between songs), or with --format ci the ci.song.*.json files or their folder.

    Example: speechtools music prepare-lyrics ../shared/corpora/chinese_poetry --format ci --lang zh --valid-songs 200 --test-songs 200 --out-dir data/ci
    """
    from speechtools.music.lyrics_prep import prepare_lyrics as run

    counts = run(list(inputs), out_dir, fmt, lang, valid_songs, test_songs, seed, max_tokens, max_rhymes, min_lines)  # type: ignore[arg-type]
    click.echo(f"songs: train {counts.train} valid {counts.valid} test {counts.test}; lines {counts.lines}; "
               f"tokens {counts.tokens}; rhyme classes {counts.rhymes} -> {out_dir}", err=True)


@music.command()
@click.option("--model-dir", required=True, type=click.Path(file_okay=False), help="A trained deeprapper model directory.")
@click.option("--prompt", default=None, help="First line(s) of the song (newline-separated lines; [BEAT] marks allowed).")
@click.option("--prompt-file", default=None, type=click.Path(dir_okay=False),
              help="A lyrics file: one song is generated from the first --prompt-lines lines of each of its songs "
                   "(tokens outside the vocabulary are read as <unk>; with --prompt they are an error).")
@click.option("--prompt-lines", type=click.IntRange(min=1), default=1, show_default=True, help="With --prompt-file: prompt lines per song.")
@click.option("--lines", "n_lines", type=click.IntRange(min=1), default=4, show_default=True, help="Lines to generate after the prompt.")
@click.option("--lang", type=click.Choice(["zh", "en"]), required=True, help="Language (must be the model's).")
@click.option("--out", type=OUTPUT_FILE, default=None, help="Write the lyrics here instead of stdout.")
@click.option("--top-k", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--temperature", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True)
@click.option("--rhyme/--no-rhyme", "rhyme", default=True, show_default=True, help="The rhyme constraint (reverse-order models).")
@click.option("--rhyme-count", type=click.IntRange(min=1), default=1, show_default=True, help="Line-final tokens constrained to rhyme.")
@click.option("--rhyme-alpha", type=click.FloatRange(0.0, 1.0), default=0.95, show_default=True, help="α of p ← α·p + (1 − α).")
@click.option("--rhyme-bound", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Probability that a line is constrained.")
@click.option("--rhyme-lines", type=click.IntRange(min=1), default=1, show_default=True, help="Previous lines whose rhymes are targets.")
@click.option("--max-line-tokens", type=click.IntRange(min=1), default=32, show_default=True)
@seed_option
@device_option
def rap(model_dir: str, prompt: Optional[str], prompt_file: Optional[str], prompt_lines: int, n_lines: int, lang: str,
        out: Optional[str], top_k: int, temperature: float, rhyme: bool, rhyme_count: int, rhyme_alpha: float,
        rhyme_bound: float, rhyme_lines: int, max_line_tokens: int, seed: int, device: str) -> None:
    """Generate rap lyrics with DeepRapper: lines written right to left with the rhyme constraint,
    printed in reading order (the prompt first), one lyric line per line.

    Example: speechtools music rap --model-dir exp/deeprapper --prompt "夜色笼罩整座城市的光" --lines 4 --lang zh --seed 1
    """
    import torch
    from tqdm import tqdm

    from speechtools.fileio import write_lines
    from speechtools.models.deeprapper_generate import RhymeControl, SamplingConfig, generate_song, prompt_lines as parse_prompt
    from speechtools.music.lyrics import Song, format_line, format_songs, read_lyrics
    from speechtools.tasks.deeprapper import DeepRapperTask
    from speechtools.train.model_dir import load_model_dir

    if (prompt is None) == (prompt_file is None):
        raise UserError("give exactly one of --prompt and --prompt-file")
    control = RhymeControl(rhyme_count, rhyme_alpha, rhyme_bound, rhyme_lines) if rhyme else None
    sampling = SamplingConfig(top_k, temperature, max_line_tokens)
    loaded = load_model_dir(model_dir, device)
    task = loaded.task
    if not isinstance(task, DeepRapperTask):
        raise UserError("not a deeprapper model directory", model_dir)
    conf = task.conf
    if conf.lang != lang:
        raise UserError(f"--lang {lang}: the model was trained on {conf.lang} lyrics", model_dir)
    if prompt is not None:
        prompts: List[Tuple[list, Optional[str]]] = [(parse_prompt(prompt, lang, task.vocab), None)]
    else:
        songs = read_lyrics(prompt_file, lang)
        prompts = [(parse_prompt("\n".join(format_line(l, lang) for l in s.lines[:prompt_lines]), lang, task.vocab, strict=False),
                    s.tempo) for s in songs]
    generator = torch.Generator().manual_seed(seed)
    results = []
    for lines, tempo in tqdm(prompts, desc="rap", unit=" songs", disable=len(prompts) < 2):
        generated = generate_song(loaded.model, task.vocab, task.scheme, lines, n_lines, conf.beat_mode, conf.reverse,
                                  sampling, control, generator, tempo if conf.beat_mode == "global" else None)
        results.append(Song(generated, None))
    text = format_songs(results, lang)
    if out:
        write_lines(out, text)
    else:
        for line in text:
            click.echo(line)


@music.command("lyrics-melody")
@click.option("--scores", multiple=True, help="A folder of scores music21 reads (.mxl/.xml/.musicxml/.krn/.abc: the first tune of each), or music21:COLLECTION "
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
