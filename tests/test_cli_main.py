"""The top-level ``speechtools`` command: help with examples everywhere, --version, one-line errors."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

import click
import pytest
from click.testing import CliRunner

from speechtools import __version__
from speechtools.cli.main import COMMANDS, cli
from speechtools.errors import UserError


def run_cli(*args: str, cwd: Path = None) -> subprocess.CompletedProcess:  # type: ignore[assignment]
    return subprocess.run(
        [sys.executable, "-m", "speechtools.cli.main", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def walk(command: click.Command, path: List[str]) -> Iterator[Tuple[List[str], click.Command]]:
    """Every loadable command below (and including) ``command``, with its argument path.

    A lazily listed subcommand whose module is not written yet reports a ``UserError`` when
    loaded; it does not exist yet, so it is skipped.
    """
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            try:
                sub = command.get_command(ctx, name)
            except UserError:
                continue
            assert sub is not None, f"{' '.join(path)} lists {name!r} but cannot load it"
            yield from walk(sub, path + [name])


def test_top_level_help_lists_every_group_with_description() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, (_, description) in COMMANDS.items():
        assert name in result.output
        assert description.split()[0] in result.output
    assert "Example" in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"speechtools, version {__version__}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_existing_command_has_help_with_example(name: str) -> None:
    module_name, _, attr = COMMANDS[name][0].partition(":")
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"{module_name} is not written yet")
    command = getattr(importlib.import_module(module_name), attr)
    checked = 0
    for path, _ in walk(command, [name]):
        result = CliRunner().invoke(cli, path + ["--help"])
        assert result.exit_code == 0, f"speechtools {' '.join(path)} --help: {result.output}"
        assert "Example" in result.output, f"speechtools {' '.join(path)} --help shows no example"
        checked += 1
    assert checked >= 1


def assert_one_line_error(proc: subprocess.CompletedProcess, expected_start: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(expected_start), proc.stderr


def test_missing_path_is_one_line_error(tmp_path: Path) -> None:
    proc = run_cli("data", "validate", str(tmp_path / "missing"))
    assert_one_line_error(proc, f"error: {tmp_path / 'missing'}: data directory not found")
    assert proc.returncode == 1


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "wav.scp").write_text("a /x.wav\nb\n")
    proc = run_cli("data", "validate", str(root))
    assert_one_line_error(proc, f"error: {root / 'wav.scp'}:2: expected at least 2 fields")


def test_bad_option_value_and_unknown_command_are_one_line() -> None:
    proc = run_cli("data", "subset", "a", "b", "--first", "many")
    assert_one_line_error(proc, "error: Invalid value for '--first'")
    assert proc.returncode == 2
    proc = run_cli("no-such-command")
    assert_one_line_error(proc, "error: No such command 'no-such-command'")


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(tmp_path, signame):
    import signal
    import subprocess
    import sys
    import time

    big = tmp_path / "in.txt"
    big.write_text("The 3 dogs ran to 14 houses.\n" * 400_000)
    out = tmp_path / "out.txt"
    proc = subprocess.Popen([sys.executable, "-m", "speechtools.cli.main", "text", "normalize", "--lang", "en", "--in", str(big),
                             "--out", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".out.txt.") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)  # the temporary output exists: the command is writing
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, signame)
    assert err.strip().splitlines() == [f"error: terminated ({signame})"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no output, no temporary file


SWALLOWED_SIGTERM = """
import os, signal
from speechtools.cli import main as entry

class SignalsInFinalizer:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)  # handled inside __del__, where Python ignores exceptions

@entry.cli.command("finalizer")
def finalizer():
    SignalsInFinalizer()
    print("ran on")

entry.main(["finalizer"])
"""


def test_a_sigterm_whose_exception_python_swallows_still_exits_143() -> None:
    """A signal handled inside a finalizer: Python prints "Exception ignored" and the command runs on; the exit
    status and the last line must still say it was terminated (tests/integration/test_warm_cli.py hit it once)."""
    proc = subprocess.run([sys.executable, "-c", SWALLOWED_SIGTERM], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "error: terminated (SIGTERM)"


def test_a_full_disk_on_stdout_is_one_line_and_a_closed_pipe_exits_quietly(tmp_path):
    small = tmp_path / "in.txt"
    small.write_text("The 3 dogs ran.\n" * 20_000)
    cmd = [sys.executable, "-m", "speechtools.cli.main", "text", "normalize", "--lang", "en", "--in", str(small)]
    with open("/dev/full", "w") as full:
        result = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: <stdout>: cannot write: No space left on device"]
    piped = subprocess.run(f"{' '.join(cmd)} | head -1", shell=True, capture_output=True, text=True, timeout=120)
    assert piped.stdout == "The three dogs ran.\n" and piped.stderr == ""
