"""``speechtools score attention``: word coverage ratio (WCR) and attention diagonal ratio (ADR) of TTS attention matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from speechtools.cli.options import FiniteRange, OUTPUT_FILE
from speechtools.scoring.attention import DEFAULT_BAND, DEFAULT_MIN_BAND, WCR_REDUCTIONS


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--words", "words_path", default=None, type=click.Path(dir_okay=False),
              help="Word boundaries: lines 'uttid n1 n2 ...', the number of tokens of each word [default: every token is a word].")
@click.option("--wcr-reduce", type=click.Choice(WCR_REDUCTIONS), default="mean", show_default=True,
              help="Mean or minimum of the words' coverages.")
@click.option("--band", type=FiniteRange(0, 1), default=DEFAULT_BAND, show_default=True,
              help="ADR band half-width as a share of the token count.")
@click.option("--min-band", type=FiniteRange(0), default=DEFAULT_MIN_BAND, show_default=True,
              help="ADR band half-width of at least this many tokens.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE,
              help='Write {"utterances": {UTT: {"wcr": x, "adr": y}}, "mean": {"wcr": x, "adr": y}}.')
def attention(directory: str, words_path: Optional[str], wcr_reduce: str, band: float, min_band: float,
              json_out: Optional[str]) -> None:
    """WCR and ADR (LRSpeech) of the attention matrices DIRECTORY/<uttid>.npy.

    Each file holds one utterance's encoder-decoder attention, shape (decoder frames, text
    tokens), each row a distribution over the tokens (as `speechtools pseudo-pairs speak
    --attention-dir` writes them).

    \b
    coverage of word w  c_w = max over frames and over the tokens of w of A[s, t]
    WCR                 = mean of c_w over words (--wcr-reduce min: their minimum);
                          a skipped word lowers the mean by its share 1/words
    ADR                 = attention mass within b tokens of the diagonal t*(s) = (s+1/2)N/S - 1/2,
                          over all attention mass; b = max(--min-band, --band x N)
    A perfect diagonal scores 1 on both.

    \b
    Example:
      speechtools score attention exp/tts/speak_text/attention --json exp/tts/attention.json
    """
    from speechtools.scoring.attention_files import markdown, read_scores
    from speechtools.scoring.attention import mean_score
    from speechtools.scoring.report import write_json

    scores = read_scores(Path(directory), words_path, wcr_reduce, band, min_band)
    click.echo(markdown(scores))
    if json_out is not None:
        write_json(json_out, {"utterances": {u: s.to_dict() for u, s in scores.items()}, "mean": mean_score(scores).to_dict()})
