"""The ``speechtools data`` commands end to end: output lines, one-line errors, corpus discovery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import speechtools.data.corpora as corpora
from speechtools.cli.data import data
from speechtools.data.kaldi import read_table


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "speechtools.cli.main", *args], capture_output=True, text=True, timeout=60
    )


def test_validate_ok_prints_one_summary_line(data_dir: Path) -> None:
    result = CliRunner().invoke(data, ["validate", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{data_dir}: OK: 6 utterances, 2 speakers, files: wav.scp text utt2spk spk2utt durations"
    ]


def test_validate_error_is_one_line_with_file_and_line(data_dir: Path) -> None:
    text = (data_dir / "text").read_text().splitlines()
    text[1], text[2] = text[2], text[1]
    (data_dir / "text").write_text("\n".join(text) + "\n")
    proc = run_cli("data", "validate", str(data_dir))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {data_dir / 'text'}:3: not sorted: key 'utt01' comes after 'utt02' (line 2); "
        "sort with LC_ALL=C sort or run 'speechtools data fix'"
    ]


def test_fix_subset_split_combine_commands(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(data, ["fix", str(data_dir)])
    assert result.output.splitlines() == [f"{data_dir}: kept 6 of 6 utterances; nothing dropped"]
    result = runner.invoke(data, ["subset", str(data_dir), str(tmp_path / "sub"), "--last", "2"])
    assert result.exit_code == 0 and list(read_table(tmp_path / "sub" / "text")) == ["utt04", "utt05"]
    result = runner.invoke(data, ["split", str(data_dir), "2", "--per-spk"])
    assert result.output.strip() == f"{data_dir / 'split2'}: 2 parts by speaker"
    parts = [str(data_dir / "split2" / "1"), str(data_dir / "split2" / "2")]
    result = runner.invoke(data, ["combine", str(tmp_path / "all"), *parts])
    assert result.output.splitlines() == [f"{tmp_path / 'all'}: combined 6 utterances"]
    assert (tmp_path / "all" / "text").read_bytes() == (data_dir / "text").read_bytes()


def test_bad_option_value_is_one_line(data_dir: Path) -> None:
    proc = run_cli("data", "split", str(data_dir), "two")
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("error: ") and "'two' is not a valid integer" in proc.stderr


TOY_CORPUS = '''
"""Toy corpus for tests."""
import click

@click.command()
@click.option("--out", required=True)
def command(out):
    """Write a toy data directory.

    \\b
    Example:
      speechtools data prepare toycorpus --out data
    """
    click.echo(f"toy corpus -> {out}")
'''


@pytest.fixture
def toy_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    extra = tmp_path / "corpora_plugins"
    extra.mkdir()
    (extra / "toycorpus.py").write_text(TOY_CORPUS)
    (extra / "broken.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(corpora, "__path__", [*corpora.__path__, str(extra)])
    yield
    for name in ("toycorpus", "broken"):
        sys.modules.pop(f"speechtools.data.corpora.{name}", None)


def test_prepare_discovers_corpus_modules(toy_corpus) -> None:  # type: ignore[no-untyped-def]
    assert {"toycorpus", "broken"} <= set(corpora.corpus_names())
    runner = CliRunner()
    result = runner.invoke(data, ["prepare", "toycorpus", "--out", "x"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "toy corpus -> x"
    listing = runner.invoke(data, ["prepare", "--help"])
    assert "toycorpus" in listing.output and "Write a toy data directory." in listing.output
    assert "  broken     (unavailable: corpus module" in listing.output


def test_prepare_unknown_or_malformed_corpus(toy_corpus) -> None:  # type: ignore[no-untyped-def]
    from speechtools.errors import UserError

    group = data.commands["prepare"]
    ctx = click.Context(group)
    with pytest.raises(click.UsageError, match="unknown corpus 'nope'"):
        group.resolve_command(ctx, ["nope"])
    with pytest.raises(UserError, match="no Click command named 'command'"):
        group.get_command(ctx, "broken")
