"""``speechtools music``: lyrics data preparation and DeepRapper rap generation."""

from __future__ import annotations

from typing import List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, device_option, seed_option
from speechtools.errors import UserError


@click.group()
def music() -> None:
    """Lyrics: prepare a corpus for DeepRapper, generate rap lyrics.

    \b
    Examples:
      speechtools music prepare-lyrics ../shared/corpora/chinese_poetry --format ci --lang zh --out-dir data/ci
      speechtools music rap --model-dir exp/deeprapper --prompt "夜色笼罩整座城市的光" --lines 4 --lang zh --seed 1
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
