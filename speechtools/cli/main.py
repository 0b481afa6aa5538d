"""The ``speechtools`` command: a Click group whose subcommands are imported on demand.

Each entry of :data:`COMMANDS` maps a command name to ``"module:attribute"`` and its one-line
description, so ``speechtools --help`` lists every group without importing torch-heavy
modules, and a broken optional module cannot break unrelated commands.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import threading
from typing import Dict, List, Optional, Tuple

import click

from speechtools import __version__
from speechtools.errors import UserError

COMMANDS: Dict[str, Tuple[str, str]] = {
    "data": ("speechtools.cli.data:data", "Validate, fix, subset, split and combine Kaldi data directories."),
    "train": ("speechtools.cli.train:train", "Train any registered task/model from a YAML config (resumable, DDP)."),
    "average-checkpoints": ("speechtools.cli.train:average_checkpoints", "Average the weights of several checkpoints into model.pt."),
    "text": ("speechtools.cli.text:text", "Text front-ends: normalise and convert to phonemes (en, zh); build a pre-training corpus."),
    "make-tokens": ("speechtools.cli.text:make_tokens", "Build tokens.txt from a data directory's text through a front-end."),
    "extract-feats": ("speechtools.cli.feats:extract_feats", "Extract log-mel, pitch and energy features into a feature store."),
    "combine-feats": ("speechtools.cli.feats:combine_feats", "Index several feature stores as one (the stores of a data combine)."),
    "compute-stats": ("speechtools.cli.feats:compute_stats", "Compute global mean/std of features on a training set (stats.npz)."),
    "align": ("speechtools.cli.align:align", "Learn alignments and write token durations; import MFA TextGrids."),
    "adapt": ("speechtools.cli.adapt:adapt", "Adapt an AdaSpeech model directory to a new speaker (custom voice)."),
    "synth": ("speechtools.cli.synth:synth", "Synthesise speech from text with a trained TTS model directory."),
    "vocode": ("speechtools.cli.vocode:vocode", "Turn log-mel spectrograms into wavs with a trained vocoder (PriorGrad, DiffWave)."),
    "teacher": ("speechtools.cli.teacher:teacher", "FastSpeech teacher: attention durations and knowledge distillation."),
    "pseudo-pairs": ("speechtools.cli.pseudo_pairs:pseudo_pairs",
                     "LRSpeech: a TTS model speaks unpaired text, a recogniser transcribes unpaired speech (filtered by WCR/ADR)."),
    "correct": ("speechtools.cli.correct:correct", "ASR error-correction data tools: noising, edit alignment."),
    "correct-asr": ("speechtools.cli.correct:correct_asr", "Correct ASR hypotheses with a trained corrector (FastCorrect, AR)."),
    "midi": ("speechtools.cli.midi:midi", "OctupleMIDI: encode, decode and count tokens of MIDI files."),
    "asr": ("speechtools.cli.asr:asr", "Train and run a CTC/attention recogniser; decode with pocketsphinx for intelligibility."),
    "score": ("speechtools.cli.score:score", "Score WER/CER, listening tests (MOS/SMOS/CMOS), corrections, music tasks."),
    "music": ("speechtools.cli.music:music",
              "Lyrics and melodies: DeepRapper rap lyrics, SongMASS lyric-to-melody and melody-to-lyric generation."),
    "nas": ("speechtools.cli.nas:nas", "LightSpeech architecture search on your data and CPU (supernet + GBDT predictor)."),
}


class LazyGroup(click.Group):
    """A Click group that imports a subcommand's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(COMMANDS) | set(super().list_commands(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="speechtools")
def cli() -> None:
    """speechtools: efficient speech and music models, from data to scores.

    \b
    Examples:
      speechtools data validate data/train
      speechtools train --config conf/train.yaml --out-dir exp/fs2
      speechtools synth --model-dir exp/fs2 --text "Hello world." --out-dir out/
      speechtools score wer data/eval/text exp/decode/text

    Run `speechtools COMMAND --help` for each command's options and an example.
    """


class Terminated(Exception):
    """SIGTERM or SIGHUP, raised in the main thread so that every ``finally`` (temporary files) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _TerminationHandler:
    """The SIGTERM/SIGHUP handler: raises :class:`Terminated`, and remembers the signal for when Python swallows that
    exception (a signal that lands inside a finalizer, ``__del__`` or a weakref callback, is printed as "Exception
    ignored" and the command runs on)."""

    def __init__(self) -> None:
        self.received: Optional[int] = None

    def __call__(self, signum: int, frame: object) -> None:
        self.received = signum
        raise Terminated(signum)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again (closed pipe, full disk)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and a non-zero exit.

    SIGTERM and SIGHUP clean up like Ctrl-C (temporary files removed, nothing half-written) and
    exit 128 + signal. A closed stdout pipe (``| head -1``) exits quietly (141, as coreutils);
    any other failed write to stdout (``> /dev/full``) is one line and exit 1.
    """
    previous = {}
    handler = _TerminationHandler()
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        _run(argv)
    except SystemExit as done:
        if handler.received is not None and done.code in (0, None):  # the signal's exception was swallowed
            click.echo(f"error: terminated ({signal.Signals(handler.received).name})", err=True)
            sys.exit(128 + handler.received)
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(argv: Optional[List[str]]) -> None:
    """Run the CLI and exit with its status, reporting failures as one line (see :func:`main`)."""
    try:
        code = cli.main(args=argv, prog_name="speechtools", standalone_mode=False)
        sys.stdout.flush()
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except Terminated as exc:
        click.echo(f"error: terminated ({exc})", err=True)
        sys.exit(128 + exc.signum)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(141)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
            raise
        _quiet_stdout()
        click.echo(f"error: <stdout>: cannot write: {os.strerror(exc.errno)}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
