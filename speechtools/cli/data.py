"""``speechtools data``: validate, fix, subset, split, combine, speed-perturb and prepare Kaldi data directories."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR

from speechtools.data.combine import combine_data_dirs
from speechtools.data.corpora import corpus_names, import_corpus
from speechtools.data.fix import fix_data_dir
from speechtools.data.speed_perturb import parse_factors, speed_perturb_data_dir
from speechtools.data.split import split_data_dir
from speechtools.data.subset import subset_data_dir
from speechtools.data.validate import validate_data_dir
from speechtools.errors import UserError


@click.group()
def data() -> None:
    """Validate, fix, subset, split, combine and speed-perturb Kaldi data directories.

    A data directory holds wav.scp, text, utt2spk, spk2utt and optionally segments and
    durations: UTF-8, one record per line, key first, sorted in C byte order.

    \b
    Example:
      speechtools data validate data/train
      speechtools data split data/train 4
    """


@data.command()
@click.argument("directory")
@click.option("--check-files/--no-check-files", default=True, show_default=True, help="Check that audio files in wav.scp exist.")
@click.option("--feats", metavar="PATH", default=None, help="Feature store dump/<set> (or its <name>_shape file): durations must sum to its frame counts.")
@click.option("--frontend", default=None, help="Count text tokens with this front-end (en_phone, zh_phone...) against durations; default: whitespace tokens.")
def validate(directory: str, check_files: bool, feats: Optional[str], frontend: Optional[str]) -> None:
    """Check a data directory; name the first bad file:line.

    Checks sorted keys (C byte order), matching utterance sets, spk2utt against utt2spk,
    one duration per text token (and, with --feats, durations summing to the frame count),
    UTF-8, and that audio files exist.

    \b
    Example:
      speechtools data validate data/train --feats dump/train --frontend en_phone
    """
    click.echo(validate_data_dir(directory, check_files=check_files, feats=feats, frontend=frontend).line())


@data.command()
@click.argument("directory")
@click.option("--backup/--no-backup", default=True, show_default=True, help="Copy the original files to DIRECTORY/.backup/ first.")
@click.option("--frontend", default=None, help="Count text tokens with this front-end against durations; default: whitespace tokens.")
def fix(directory: str, backup: bool, frontend: Optional[str]) -> None:
    """Keep utterances present in every file, sort, regenerate spk2utt.

    Reports how many keys each file lost and the first few of them.

    \b
    Example:
      speechtools data fix data/train
    """
    for line in fix_data_dir(directory, backup=backup, frontend=frontend).lines():
        click.echo(line)


@data.command()
@click.argument("src")
@click.argument("dst", type=OUTPUT_DIR)
@click.option("--first", type=click.IntRange(min=1), default=None, help="The first N utterances (sorted order).")
@click.option("--last", type=click.IntRange(min=1), default=None, help="The last N utterances (sorted order).")
@click.option("--utt-list", metavar="FILE", default=None, help="Utterance ids, one per line (first field).")
@click.option("--spk-list", metavar="FILE", default=None, help="Speaker ids, one per line (first field).")
def subset(src: str, dst: str, first: Optional[int], last: Optional[int], utt_list: Optional[str], spk_list: Optional[str]) -> None:
    """Copy part of SRC to the data directory DST (exactly one selector).

    \b
    Example:
      speechtools data subset data/train data/train_dev --last 10
      speechtools data subset data/train data/spk1 --spk-list spk1.txt
    """
    if sum(x is not None for x in (first, last, utt_list, spk_list)) != 1:
        raise click.UsageError("give exactly one of --first, --last, --utt-list, --spk-list")
    _check_destination(dst, [src])
    n = subset_data_dir(src, dst, first=first, last=last, utt_list=utt_list, spk_list=spk_list)
    click.echo(f"{dst}: {n} utterances from {src}")


@data.command()
@click.argument("directory")
@click.argument("n", type=click.IntRange(min=1))
@click.option("--per-spk", is_flag=True, help="Keep each speaker's utterances in one part.")
def split(directory: str, n: int, per_spk: bool) -> None:
    """Split DIRECTORY into N parts DIRECTORY/split{N}/{1..N}/ for --nj jobs.

    \b
    Example:
      speechtools data split data/train 4
      bin/run_jobs --nj 4 exp/log/feats.JOB.log speechtools extract-feats data/train/split4/JOB ...
    """
    out = split_data_dir(directory, n, per_spk=per_spk)
    click.echo(f"{out}: {n} parts by {'speaker' if per_spk else 'utterance'}")


@data.command()
@click.argument("dst", type=OUTPUT_DIR)
@click.argument("srcs", nargs=-1, required=True)
def combine(dst: str, srcs: Tuple[str, ...]) -> None:
    """Merge data directories SRCS into DST (duplicate ids are an error).

    \b
    Example:
      speechtools data combine data/train_all data/train_a data/train_b
    """
    _check_destination(dst, srcs)
    for line in combine_data_dirs(dst, list(srcs)).lines():
        click.echo(line)


@data.command("speed-perturb")
@click.argument("src")
@click.argument("dst", type=OUTPUT_DIR)
@click.option("--factors", default="0.9 1.0 1.1", show_default=True,
              help="Speeds, space or comma separated, each in [0.5, 2]; 1.0 keeps the source's utterances as they are.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def speed_perturb(src: str, dst: str, factors: str, progress: bool) -> None:
    """Write SRC at several speeds as the one data directory DST (Kaldi's speed perturbation).

    A factor f plays each recording f times faster (tempo and pitch, as sox's speed effect):
    its utterances become sp<f>-<utt> of speaker sp<f>-<spk>, their audio DST/wav/*.wav at the
    source's rate; text is copied; durations and spk_vectors.scp are left out of the copies.

    \b
    Example (ESPnet's <train>_sp):
      speechtools data speed-perturb data/train data/train_sp --factors "0.9 1.0 1.1"
    """
    _check_destination(dst, [src])
    for line in speed_perturb_data_dir(src, dst, parse_factors(factors), progress=progress).lines():
        click.echo(line)


def _check_destination(dst: str, srcs: Sequence[str]) -> None:
    """A destination that is one of the sources is a usage mistake (exit 2)."""
    if any(Path(src).resolve() == Path(dst).resolve() for src in srcs):
        raise click.UsageError(f"the destination {dst} is also a source; give another DST")


class CorpusGroup(click.Group):
    """Subcommands discovered from the modules of ``speechtools.data.corpora`` (imported on use)."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return corpus_names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name not in corpus_names():
            return None
        module = import_corpus(cmd_name)
        command = getattr(module, "command", None)
        if not isinstance(command, click.Command):
            raise UserError(f"corpus module {module.__name__} has no Click command named 'command'", module.__file__)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in corpus_names():
            try:
                command = self.get_command(ctx, name)
                help_line = command.get_short_help_str(limit=80) if command is not None else ""
            except (ImportError, UserError) as exc:
                help_line = f"(unavailable: {getattr(exc, 'message', exc)})"
            rows.append((name, help_line))
        if rows:
            with formatter.section("Corpora"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: List[str]
    ) -> Tuple[Optional[str], Optional[click.Command], List[str]]:
        if args and not args[0].startswith("-") and args[0] not in corpus_names():
            raise click.UsageError(f"unknown corpus {args[0]!r}; known: {', '.join(corpus_names()) or '(none)'}", ctx)
        return super().resolve_command(ctx, args)


@data.group(cls=CorpusGroup)
def prepare() -> None:
    """Write data/<set>/ directories for a known corpus.

    Each corpus is a module speechtools/data/corpora/<name>.py; run
    `speechtools data prepare CORPUS --help` for its options.

    \b
    Example:
      speechtools data prepare ljspeech --help
    """
