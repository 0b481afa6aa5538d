"""Helpers for scoring tests: run the CLI in-process and capture its output and exit code."""

from __future__ import annotations

from typing import List, Tuple

import pytest

from speechtools.cli.main import main


@pytest.fixture
def run_cli(capsys):
    """Run ``speechtools ARGS``; returns ``(exit_code, stdout, stderr)``."""

    def run(args: List[str]) -> Tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(args)
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err

    return run
