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
