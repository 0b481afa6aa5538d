"""The environment every recipe smoke runs its ``run.sh`` in: one thread, the test's virtual environment first on
``PATH``, and ``speechtools`` answered by the warm server of :mod:`warm_cli` on Linux (set ``SPEECHTOOLS_COLD=1`` to
run the real console script on every call, e.g. to time a recipe as a user would see it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator

import pytest

WARM_CLI = Path(__file__).with_name("warm_cli.py")
VENV_BIN = Path(sys.executable).parent
THREADS = "1"
MAX_SOCKET_PATH = 100


@pytest.fixture(scope="session")
def warm_cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    """Start the warm server once per session; the variables that route ``speechtools`` to it (none when cold)."""
    if os.environ.get("SPEECHTOOLS_COLD") == "1" or not sys.platform.startswith("linux"):  # /proc, SOCK_SEQPACKET
        yield {}
        return
    home = tmp_path_factory.mktemp("warm_cli")
    socket_path = home / "cli.sock"
    if len(str(socket_path)) > MAX_SOCKET_PATH:  # a long TMPDIR: bind() takes at most 107 bytes
        socket_path = Path(tempfile.mkdtemp(prefix="stw", dir="/tmp")) / "cli.sock"
    bin_dir = home / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "speechtools"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{WARM_CLI}" client "$@"\n')
    wrapper.chmod(0o755)
    log = open(home / "server.log", "w")
    server = subprocess.Popen([sys.executable, str(WARM_CLI), "serve", str(socket_path)], stdout=subprocess.PIPE,
                              stderr=log, stdin=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS=THREADS),
                              text=True, start_new_session=True)
    try:
        ready = server.stdout.readline().strip()
        assert ready == "ready", f"the warm speechtools server did not start: {(home / 'server.log').read_text()[-2000:]}"
        yield {"PATH": f"{bin_dir}:{VENV_BIN}:{os.environ['PATH']}", "SPEECHTOOLS_WARM_SOCKET": str(socket_path),
               "SPEECHTOOLS_WARM_REAL": str(VENV_BIN / "speechtools")}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def cold_recipe_env() -> Dict[str, str]:
    """``os.environ`` with one thread and this environment's real ``speechtools`` console script first on ``PATH``."""
    return dict(os.environ, OMP_NUM_THREADS=THREADS, PATH=f"{VENV_BIN}:{os.environ['PATH']}")


@pytest.fixture
def recipe_env(cold_recipe_env: Dict[str, str], warm_cli_env: Dict[str, str]) -> Dict[str, str]:
    """:func:`cold_recipe_env` with ``speechtools`` answered by the warm server (unless ``SPEECHTOOLS_COLD=1``)."""
    return {**cold_recipe_env, **warm_cli_env}
