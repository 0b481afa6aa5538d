"""``speechtools score lyrics``: rhyme accuracy, rhyme density, Combo-N, distinct-n (and perplexity under a model)."""

from __future__ import annotations

from typing import Optional

import click

from speechtools.cli.options import OUTPUT_FILE, device_option


@click.command()
@click.argument("lyrics", type=click.Path(dir_okay=False))
@click.option("--lang", type=click.Choice(["zh", "en"]), required=True, help="Language of the lyrics.")
@click.option("--model-dir", default=None, type=click.Path(file_okay=False),
              help="A deeprapper model directory: also report the lyrics' perplexity under it.")
@click.option("--json", "json_out", type=OUTPUT_FILE, default=None, help="Also write the metrics as JSON.")
@device_option
def lyrics(lyrics: str, lang: str, model_dir: Optional[str], json_out: Optional[str], device: str) -> None:
    """Rhyme and diversity metrics of a lyrics file (one lyric line per line, songs separated by
    blank lines; [BEAT] and tempo tags are read and ignored): a Markdown table on stdout.

    Definitions (docs/music.md): rhyme accuracy = share of consecutive line pairs of a song whose
    last rhyming tokens share a rhyme class; rhyme density = mean number of line-final tokens
    that rhyme pairwise; Combo-N = share of pairs rhyming on at least N tokens; distinct-n =
    distinct n-grams / n-grams.

    Example: speechtools score lyrics exp/deeprapper/generated.txt --lang zh --json exp/deeprapper/scores.json
    """
    from speechtools.errors import UserError
    from speechtools.music.lyrics import read_lyrics
    from speechtools.music.rhyme import get_rhyme_scheme
    from speechtools.scoring.lyrics import score_songs, scores_json, scores_table
    from speechtools.scoring.report import write_json

    songs = read_lyrics(lyrics, lang)
    scores = score_songs(songs, get_rhyme_scheme(lang))
    if model_dir:
        from speechtools.tasks.deeprapper import DeepRapperTask, lyrics_perplexity
        from speechtools.train.model_dir import load_model_dir

        loaded = load_model_dir(model_dir, device)
        if not isinstance(loaded.task, DeepRapperTask):
            raise UserError("not a deeprapper model directory", model_dir)
        if loaded.task.conf.lang != lang:
            raise UserError(f"--lang {lang}: the model was trained on {loaded.task.conf.lang} lyrics", model_dir)
        scores.perplexity = lyrics_perplexity(loaded.task, loaded.model, songs, loaded.device)
    click.echo(scores_table(scores))
    if json_out:
        write_json(json_out, scores_json(scores), indent=1)
