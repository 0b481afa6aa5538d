"""Click options shared by many commands, so every command spells them the same way."""

from __future__ import annotations

import math
from typing import Any, Callable, List, Optional, Sequence, Tuple

import click

from speechtools.errors import UserError

F = Callable[..., Any]


def device_option(f: F) -> F:
    """``--device auto|cpu|cuda[:N]``."""
    return click.option(
        "--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."
    )(f)


def seed_option(f: F) -> F:
    """``--seed N``."""
    return click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")(f)


def set_option(f: F) -> F:
    """``--set key.sub=value``, repeatable (``--set a=1 --set b=2``)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config value, e.g. --set model_conf.hidden=192 (repeatable).",
    )(f)


def nj_option(f: F) -> F:
    """``--nj N`` parallel jobs."""
    return click.option("--nj", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel jobs.")(f)


def split_pair(text: str, option: str, sep: str) -> Tuple[str, str]:
    """``A<sep>B`` of an option value as ``(A, B)``; a usage error naming ``option`` when either side is missing."""
    left, found, right = text.partition(sep)
    if not found or not left or not right:
        raise click.BadParameter(f"expected A{sep}B, got {text!r}", param_hint=f"'{option}'")
    return left, right


def versus_pairs(versus: Sequence[str], names: Sequence[str]) -> List[Tuple[str, str]]:
    """The ``(A, B)`` of each ``--versus A,B``; a one-line error when either is not one of ``names``."""
    pairs = []
    for pair in versus:
        a, b = split_pair(pair, "--versus", ",")
        for name in (a, b):
            if name not in names:
                raise UserError(f"--versus {pair}: no system named {name!r} (systems: {', '.join(names)})")
        pairs.append((a, b))
    return pairs


class FiniteRange(click.FloatRange):
    """A float option within ``[low, high]`` (either bound may be ``None``); NaN and infinities are
    rejected too (``click.FloatRange`` lets NaN through). Every float option of the CLI uses it."""

    def __init__(self, low: Optional[float] = None, high: Optional[float] = None) -> None:
        super().__init__(low, high)

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def resume_options(f: F) -> F:
    """``--resume``, ``--auto-resume``, ``--overwrite``: what a training command does with an existing --out-dir."""
    f = click.option("--overwrite", is_flag=True,
                     help="Start afresh: remove the checkpoints, model.pt, log and config.yaml a previous run left in --out-dir.")(f)
    f = click.option("--auto-resume", is_flag=True,
                     help="Continue from the newest checkpoint if --out-dir has one (a killed recipe stage), else start; "
                          "refuses if --out-dir holds a run of another config.")(f)
    return click.option("--resume", is_flag=True,
                        help="Continue bit-for-bit from the newest checkpoint in --out-dir (a changed config, e.g. more steps, is allowed).")(f)


def check_resume_options(resume: bool, auto_resume: bool, overwrite: bool) -> None:
    """At most one of ``--resume``, ``--auto-resume``, ``--overwrite``."""
    given = [name for name, on in (("--resume", resume), ("--auto-resume", auto_resume), ("--overwrite", overwrite)) if on]
    if len(given) > 1:
        raise click.UsageError(f"give at most one of {', '.join(given)}")


def transcript_options(f: F) -> F:
    """``--format``, ``--cer``, ``--ignore-case``, ``--remove-punct``: how transcripts are read and normalised for scoring."""
    f = click.option("--remove-punct", is_flag=True, help="Strip punctuation before scoring.")(f)
    f = click.option("--ignore-case", is_flag=True, help="Case-fold before scoring.")(f)
    f = click.option("--cer", is_flag=True, help="Score characters (spaces removed first).")(f)
    return click.option("--format", "fmt", type=click.Choice(["auto", "kaldi", "trn"]), default="auto", show_default=True,
                        help="Transcript format of the files.")(f)


class _CheckedOutput(click.ParamType):
    """An output path checked when parsed by ``speechtools.fileio.<check>`` (a usage error before any work)."""

    check = ""

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        from speechtools import fileio
        from speechtools.errors import UserError

        try:
            getattr(fileio, self.check)(value)
        except UserError as exc:
            self.fail(f"{value}: {exc.message}", param, ctx)
        return value


class OutputFile(_CheckedOutput):
    """A file the command will write (a folder there, or a missing or non-folder parent, is refused);
    written later through the one writer."""

    name = "file"
    check = "check_output_file"


class OutputDir(_CheckedOutput):
    """A folder the command will create or fill (a file there, or a file among its ancestors, is refused)."""

    name = "dir"
    check = "check_output_dir"


OUTPUT_FILE = OutputFile()
OUTPUT_DIR = OutputDir()
