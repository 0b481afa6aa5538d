"""Fixtures every test folder shares."""

from __future__ import annotations

from typing import Callable, Sequence, Tuple

import pytest

from speechtools.cli.main import main


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture) -> Callable[[Sequence[object]], Tuple[int, str, str]]:
    """Run ``speechtools ARGS`` in-process (the user's entry point, ``main``); returns ``(exit code, stdout, stderr)``."""

    def run(args: Sequence[object]) -> Tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        out = capsys.readouterr()
        return exit_info.value.code or 0, out.out, out.err

    return run
