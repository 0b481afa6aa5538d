"""``speechtools text`` (normalise, G2P, prepare-corpus) and ``speechtools make-tokens``."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_FILE
from tqdm import tqdm

from speechtools.errors import UserError
from speechtools.fileio import atomic_paths, atomic_write, checked_id, read_lines
from speechtools.text.cleaning import describe_unspeakable
from speechtools.text.asr_units import (
    ASR_SPECIALS, ASR_UNITS, PIECE_MODEL_TYPES, PIECE_UNITS, SOS_EOS, EnglishCharUnits, EnglishPieceUnits, asr_token_list, get_asr_units,
)
from speechtools.text.corpus import (
    LAYOUTS, PARAGRAPH_BLANK_SHARE, CorpusFilter, detect_layout, held_out_prompts, input_files, paragraphs, read_text_lines, write_corpus,
)
from speechtools.text.frontend import FRONTENDS, LANGUAGE_FRONTENDS, Frontend, get_frontend
from speechtools.text.tokens import TokenList

_LANG = click.option("--lang", type=click.Choice(sorted(LANGUAGE_FRONTENDS)), default="en", show_default=True, help="Language.")
_IN = click.option("--in", "in_path", metavar="FILE", default=None, help="Read lines from FILE instead of stdin.")
_OUT = click.option("--out", "out_path", metavar="FILE", default=None, type=OUTPUT_FILE, help="Write to FILE (atomically) instead of stdout.")
_YAO = click.option("--yao/--no-yao", default=False, show_default=True, help="zh: read 1 as 幺 in digit strings (phone numbers).")
_STRICT = click.option(
    "--strict", is_flag=True, default=False,
    help="A line with characters the front-end cannot speak is an error (default: a warning naming them; they are dropped).",
)
# Lines reported one by one before the rest are only counted.
MAX_REPORTED_LINES = 20


def _input_lines(in_path: Optional[str]) -> List[Tuple[int, str]]:
    """Numbered lines of FILE or stdin, split on "\\n" only (so one input line is one output line)."""
    if in_path is not None:
        return read_lines(in_path)
    data = sys.stdin.buffer.read()
    lines: List[Tuple[int, str]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append((number, raw.rstrip(b"\r").decode("utf-8")))
        except UnicodeDecodeError as exc:
            raise UserError(f"not valid UTF-8 (byte {exc.start})", "<stdin>", number) from None
    if lines and lines[-1][1] == "" and data.endswith(b"\n"):
        lines.pop()
    return [] if data == b"" else lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _emit(outputs: Iterator[str], out_path: Optional[str]) -> None:
    if out_path is None:
        for line in outputs:
            click.echo(line)
        return
    with atomic_write(out_path) as handle:
        for line in outputs:
            handle.write(line + "\n")


def report_unspeakable(front: Frontend, lines: List[Tuple[int, str]], source: str, strict: bool) -> None:
    """Check every line before anything is produced: report (stderr) or, with ``strict``, refuse the characters ``front`` cannot speak."""
    for _ in _spoken(front, lines, source, strict, convert=lambda line: line):
        pass


def _spoken(front: Frontend, lines: List[Tuple[int, str]], source: str, strict: bool, convert: Callable[[str], str]) -> Iterator[str]:
    """``convert`` each line, reporting on stderr (one line each) the characters ``front`` cannot
    speak; with ``strict`` the first such line is a :class:`UserError` before any output."""
    if strict:
        for number, line in lines:
            found = front.unspeakable(line)
            if found:
                raise UserError(describe_unspeakable(found, front.name), source, number)
        yield from (convert(line) for _, line in lines)
        return
    reported = 0
    for number, line in lines:
        found = front.unspeakable(line)
        if found:
            reported += 1
            if reported <= MAX_REPORTED_LINES:
                message = describe_unspeakable(found, front.name, note=", left out of its tokens")
                click.echo(f"warning: {source}:{number}: {message}", err=True)
        yield convert(line)
    if reported > MAX_REPORTED_LINES:
        click.echo(
            f"warning: {source}: {reported - MAX_REPORTED_LINES} more line(s) with characters the {front.name} "
            "front-end cannot speak (--strict makes them an error)", err=True,
        )


def _first_unspeakable(front: Frontend, transcript: str, offset: int) -> str:
    """The unspeakable characters of one transcript, columns shifted by ``offset`` (the
    characters before it on its line)."""
    found = [replace(u, column=None if u.column is None else u.column + offset) for u in front.unspeakable(transcript)]
    return describe_unspeakable(found, front.name) if found else ""


def _frontend(lang: str, frontend: Optional[str], yao: bool) -> Frontend:
    name = frontend or LANGUAGE_FRONTENDS[lang]
    return get_frontend(name, yao=yao) if name == "zh_phone" else get_frontend(name)


@click.group()
def text() -> None:
    """Text front-ends: normalise and convert to phonemes (en, zh); build a pre-training corpus.

    Both commands read lines from stdin (or --in FILE) and write exactly one line per input
    line; a line that normalises to nothing gives an empty line. Characters the front-end
    cannot speak (another script, symbols without a reading) are named on stderr, one line per
    input line, and dropped; --strict makes them an error.

    \b
    Examples:
      echo "Dr. Smith paid $3.50 on Jan. 5, 1999." | speechtools text normalize --lang en
      echo "Hello, world." | speechtools text g2p --lang en
      echo "2021年3月5日，我很好。" | speechtools text g2p --lang zh
      speechtools text prepare-corpus corpora/english_text --exclude data/test/text --out lm_text.txt.gz
    """


@text.command()
@_LANG
@_IN
@_OUT
@_YAO
@_STRICT
def normalize(lang: str, in_path: Optional[str], out_path: Optional[str], yao: bool, strict: bool) -> None:
    """Spell out numbers, dates, currency, abbreviations; clean punctuation.

    \b
    Example:
      speechtools text normalize --lang en --in raw.txt --out normalized.txt
    """
    frontend = _frontend(lang, None, yao)
    lines = _input_lines(in_path)
    _emit(_spoken(frontend, lines, in_path or "<stdin>", strict, lambda line: _one_line(frontend.normalize(line))), out_path)


@text.command()
@_LANG
@click.option("--frontend", type=click.Choice(sorted(FRONTENDS)), default=None, help="Front-end (default: en_phone for en, zh_phone for zh).")
@_IN
@_OUT
@_YAO
@_STRICT
def g2p(lang: str, frontend: Optional[str], in_path: Optional[str], out_path: Optional[str], yao: bool, strict: bool) -> None:
    """Convert text to space-separated tokens (ARPAbet for en, pinyin initials/finals for zh).

    Words are separated by the token <space>; punctuation marks stay as pause tokens.

    \b
    Example:
      echo "Read 3 books." | speechtools text g2p --lang en
      # R IY1 D <space> TH R IY1 <space> B UH1 K S .
    """
    front = _frontend(lang, frontend, yao)
    lines = _input_lines(in_path)
    _emit(_spoken(front, lines, in_path or "<stdin>", strict, lambda line: " ".join(front.tokenize(line))), out_path)


@text.command(name="prepare-corpus")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", "out_path", required=True, metavar="FILE", type=OUTPUT_FILE,
              help="Sentences to write, one per line (gzip'd when FILE ends in .gz).")
@click.option("--exclude", "exclude_kaldi", multiple=True, metavar="FILE",
              help="Held-out prompts as a Kaldi text ('uttid sentence' per line), repeatable.")
@click.option("--exclude-plain", "exclude_plain", multiple=True, metavar="FILE",
              help="Held-out prompts, one sentence per line (blank lines skipped), repeatable.")
@click.option("--overlap-n", type=click.IntRange(min=1), default=6, show_default=True,
              help="Remove a sentence sharing this many consecutive words with a held-out prompt (or equal to one).")
@click.option("--layout", type=click.Choice(LAYOUTS), default="auto", show_default=True,
              help="lines: each line is a unit; paragraphs: wrapped lines joined, blank lines between; "
                   f"auto: paragraphs when >= {PARAGRAPH_BLANK_SHARE:.0%} of a file's lines are blank, else lines")
@click.option("--min-words", type=click.IntRange(min=1), default=4, show_default=True, help="Drop shorter sentences (words after normalisation).")
@click.option("--max-words", type=click.IntRange(min=1), default=40, show_default=True, help="Drop longer sentences.")
@click.option("--report", "report_path", metavar="FILE", default=None, type=OUTPUT_FILE, help="Also write the counts as JSON.")
def prepare_corpus(inputs: Tuple[str, ...], out_path: str, exclude_kaldi: Tuple[str, ...], exclude_plain: Tuple[str, ...],
                   overlap_n: int, layout: str, min_words: int, max_words: int, report_path: Optional[str]) -> None:
    """Sentence-per-line, normalised English text for LM / corrector pre-training.

    INPUT: files or folders (.txt, .txt.gz; a folder: its .txt/.txt.gz files, sorted). Each
    file is split into paragraphs (--layout), then sentences (rule-based); each sentence is
    normalised as the English recogniser's transcripts (EnglishCharUnits: numbers spelled,
    lower case, no punctuation) and dropped if too short/long, a duplicate, or overlapping a
    held-out prompt (pass every evaluation text with --exclude). Counts go to stdout.

    \b
    Example:
      sed 's/|/ /' kathleen/text.psv > /tmp/kathleen_text
      speechtools text prepare-corpus corpora/english_text --exclude /tmp/kathleen_text \\
          --out data/lm_text.txt.gz --report data/lm_text.json
    """
    if min_words > max_words:
        raise click.UsageError(f"--min-words {min_words} is more than --max-words {max_words}")
    units = EnglishCharUnits()
    files = input_files(inputs)
    held = held_out_prompts([(f, True) for f in exclude_kaldi] + [(f, False) for f in exclude_plain], units.normalize, overlap_n)
    corpus = CorpusFilter(units.normalize, held, min_words=min_words, max_words=max_words)
    corpus.report.input_files = len(files)
    for path in tqdm(files, desc="prepare-corpus", unit="file", leave=False):
        lines = read_text_lines(path)
        file_layout = detect_layout(lines) if layout == "auto" else layout
        corpus.report.layouts[str(path)] = file_layout
        for paragraph in tqdm(paragraphs(lines, file_layout), desc=path.name, unit="para", leave=False):
            corpus.add_paragraph(paragraph)
    write_corpus(out_path, corpus.sentences, corpus.report, report_path)
    if held.whole:
        click.echo(f"held-out prompts: {len(held)} from {len(exclude_kaldi) + len(exclude_plain)} file(s), {overlap_n}-word overlap")
    for line in corpus.report.lines():
        click.echo(line)
    click.echo(f"wrote {out_path}" + (f" and {report_path}" if report_path else ""))


@click.command(name="make-tokens")
@click.argument("data_dir", metavar="DATA_DIR")
@click.option("--frontend", "frontend_name", type=click.Choice(sorted(FRONTENDS)), default=None, help="Text front-end (TTS models).")
@click.option("--units", "units_name", type=click.Choice(sorted(ASR_UNITS)), default=None,
              help="Recogniser output units instead of a front-end: <blank>, <unk>, the units, <sos/eos> last (--special is ignored).")
@click.option("--out", "out_path", required=True, metavar="FILE", type=OUTPUT_FILE, help="Token list to write (tokens.txt).")
@click.option("--special", "specials", multiple=True, default=("<pad>", "<unk>"), show_default=True, help="Special tokens, first (repeatable).")
@click.option(
    "--with-inventory/--seen-only", default=False, show_default=True,
    help="Also list every token the front-end can produce (after those seen), so inference on new text never meets an unknown token "
         "(always on with --units en_bpe: every piece of the model).",
)
@click.option("--bpe-model", "bpe_model", metavar="FILE", default=None, type=OUTPUT_FILE,
              help="--units en_bpe: the SentencePiece model to train on the transcripts and write (e.g. data/bpe.model).")
@click.option("--bpe-size", "bpe_size", type=click.IntRange(min=1), default=None,
              help="--units en_bpe: vocabulary size of the SentencePiece model (a soft limit: a small text gives fewer pieces).")
@click.option("--bpe-type", "bpe_type", type=click.Choice(PIECE_MODEL_TYPES), default=None,
              help="--units en_bpe: unigram (the default: unigram language model, Kudo 2018, ESPnet's bpemode) or bpe.")
def make_tokens(data_dir: str, frontend_name: Optional[str], units_name: Optional[str], out_path: str, specials: Tuple[str, ...],
                with_inventory: bool, bpe_model: Optional[str], bpe_size: Optional[int], bpe_type: Optional[str]) -> None:
    """Build tokens.txt from DATA_DIR/text through a front-end.

    Specials come first, then every token seen, most frequent first (then, with
    --with-inventory, the front-end's other tokens). Utterances whose text gives no tokens
    are reported and skipped; characters the front-end cannot speak are reported (one line:
    how many utterances, and the first with its file, line and column).

    With --units en_bpe a SentencePiece model (Kudo & Richardson 2018) is first trained on the
    normalised transcripts (--bpe-size pieces at most, --bpe-type) and written to --bpe-model
    together with the token list, which holds every piece of the model.

    \b
    Example:
      speechtools make-tokens data/train --frontend en_phone --out data/tokens.txt
      speechtools make-tokens data/train --units en_char --out data/asr_tokens.txt
      speechtools make-tokens data/train --units en_bpe --bpe-size 100 --bpe-model data/bpe.model --out data/asr_tokens.txt
    """
    text_path = Path(data_dir) / "text"
    if (frontend_name is None) == (units_name is None):
        raise UserError("give exactly one of --frontend (TTS) and --units (ASR)")
    pieces = units_name in PIECE_UNITS
    bpe_options = {"--bpe-model": bpe_model, "--bpe-size": bpe_size, "--bpe-type": bpe_type}
    if pieces:
        missing = [flag for flag in ("--bpe-model", "--bpe-size") if bpe_options[flag] is None]
        if missing:
            raise UserError(f"--units {units_name} trains a SentencePiece model: give {' and '.join(missing)}")
    elif any(value is not None for value in bpe_options.values()):
        given = [flag for flag, value in bpe_options.items() if value is not None]
        raise UserError(f"{', '.join(given)}: only with --units {', '.join(sorted(PIECE_UNITS))}")
    if not Path(data_dir).is_dir():
        raise UserError("data directory not found", data_dir)
    name = frontend_name or units_name
    lines = read_lines(text_path)
    records: List[Tuple[int, str, str, int]] = []
    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            raise UserError("empty line", text_path, number)
        utt, _, transcript = stripped.partition(" ")
        checked_id(utt, "utterance id", text_path, number)
        records.append((number, utt, transcript, len(line) - len(line.lstrip()) + len(utt) + 1))
    model_type = bpe_type or PIECE_MODEL_TYPES[0]
    if pieces:
        frontend: Any = EnglishPieceUnits.train([r[2] for r in records], int(bpe_size or 0), model_type)
    else:
        frontend = get_frontend(frontend_name) if frontend_name else get_asr_units(str(units_name))
    tokens: List[str] = []
    empty: List[str] = []
    unspeakable: List[str] = []
    for number, utt, transcript, offset in tqdm(records, desc=f"make-tokens {name}", unit="utt", leave=False):
        utt_tokens = frontend.tokenize(transcript)
        if not utt_tokens:
            empty.append(utt)
        tokens += utt_tokens
        message = _first_unspeakable(frontend, transcript, offset)
        if message:
            unspeakable.append(f"{text_path}:{number}: {message}")
    if not tokens:
        raise UserError("no tokens: every transcript normalises to nothing", text_path)
    extra = frontend.inventory() if with_inventory or pieces else ()
    if units_name:
        token_list = asr_token_list(tokens, extra)
        specials = ASR_SPECIALS + (SOS_EOS,)
    else:
        token_list = TokenList.build(tokens, specials=specials, extra=extra)
    if pieces:
        with atomic_paths(str(bpe_model), out_path) as (model_tmp, tokens_tmp):  # both files or neither
            model_tmp.write_bytes(frontend.model)
            token_list.save(tokens_tmp)
    else:
        token_list.save(out_path)
    if empty:
        click.echo(f"warning: {len(empty)} utterance(s) gave no tokens and were skipped, e.g. {empty[0]}", err=True)
    if unspeakable:
        click.echo(f"warning: {len(unspeakable)} utterance(s) have characters left out of their tokens, e.g. {unspeakable[0]}", err=True)
    click.echo(f"{out_path}: {len(token_list)} tokens ({len(specials)} special) from {len(lines)} utterances")
    if pieces:
        click.echo(f"{bpe_model}: SentencePiece {model_type} model, {len(frontend.inventory())} pieces (asked for at most {bpe_size})")
