"""The smokes' warm ``speechtools`` (warm_cli.py) behaves like the real console script: the same output, errors,
exit statuses, working directory, standard input, signals and ``sys.path``; and it dies with its caller."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from warm_cli import COLD, STATUS, script_sys_path

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def warm(recipe_env: Dict[str, str]) -> Dict[str, str]:
    if "SPEECHTOOLS_WARM_SOCKET" not in recipe_env:
        pytest.skip("SPEECHTOOLS_COLD=1: no warm server")
    return recipe_env


def cold_env(warm: Dict[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in warm.items() if not k.startswith("SPEECHTOOLS_WARM_")}
    env["PATH"] = f"{VENV_BIN}:{os.environ['PATH']}"
    return env


def both(warm: Dict[str, str], args: List[str], cwd: Path, stdin: str = "") -> List[tuple]:
    runs = []
    for env in (warm, cold_env(warm)):
        done = subprocess.run(["speechtools", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                              timeout=120)
        runs.append((done.returncode, done.stdout, done.stderr))
    return runs


@pytest.mark.parametrize("args, stdin", [
    (["--version"], ""),
    (["text", "normalize", "--lang", "en"], "Dr. Smith paid $3.50 on Jan. 5, 1999.\nHello.\n"),
    (["text", "normalize", "--lang", "en", "--strict"], "caf\u00e9 \u4f60\n"),  # a user error: exit 1, one line
    (["score", "wer", "missing_ref.txt", "missing_hyp.txt"], ""),  # relative paths resolve in the caller's cwd
    (["train", "--no-such-option"], ""),  # a usage error: exit 2
])
def test_same_output_and_status_as_the_console_script(warm, tmp_path, args, stdin):
    warm_run, cold_run = both(warm, args, tmp_path, stdin)
    assert warm_run == cold_run


def test_writes_relative_to_the_callers_directory(warm, tmp_path):
    (tmp_path / "in.txt").write_text("It cost $5.\n")
    done = subprocess.run(["speechtools", "text", "normalize", "--in", "in.txt", "--out", "out.txt"], cwd=tmp_path,
                          env=warm, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.txt").read_text() == "It cost five dollars.\n"


def test_other_open_descriptors_keep_their_numbers(warm, tmp_path):
    """A recipe's ``speechtools ... <(...)`` passes ``/dev/fd/63``; ``score wer`` reads it like a file."""
    (tmp_path / "ref").write_text("u1 a b c\n")
    script = "speechtools score wer ref <(printf 'u1 a x c\\n') </dev/null"
    runs = [subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
            for env in (warm, cold_env(warm))]
    assert runs[0].returncode == runs[1].returncode == 0, runs[0].stderr
    assert (runs[0].stdout, runs[0].stderr) == (runs[1].stdout, runs[1].stderr)
    assert runs[0].stdout.startswith("%WER 33.33 [ 1 / 3, 0 ins, 0 del, 1 sub ]")


def test_sys_path_is_built_as_the_interpreter_builds_it(tmp_path, monkeypatch):
    probe = tmp_path / "bin" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("import json, sys\nprint(json.dumps(sys.path))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def real(pythonpath: Optional[str]) -> List[str]:
        extra = {"PYTHONPATH": pythonpath} if pythonpath is not None else {}
        out = subprocess.run([sys.executable, str(probe)], cwd=tmp_path, env=dict(env, **extra), capture_output=True,
                             text=True, check=True).stdout
        return json.loads(out)

    installation = real(None)[1:]
    monkeypatch.chdir(tmp_path)
    for pythonpath in (None, "lib", f"lib::{tmp_path / 'abs'}"):
        assert script_sys_path(str(probe), pythonpath, installation) == real(pythonpath), pythonpath


def _request(warm: Dict[str, str], args: List[str], env: Dict[str, str], stdin: int) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn.connect(warm["SPEECHTOOLS_WARM_SOCKET"])
    request = {"argv": [str(VENV_BIN / "speechtools"), *args], "cwd": os.getcwd(), "env": env, "fds": [0, 1, 2]}
    socket.send_fds(conn, [json.dumps(request).encode()], [stdin, 1, 2])
    return conn


def test_another_thread_count_falls_back_to_the_real_script(warm):
    conn = _request(warm, ["--version"], dict(warm, OMP_NUM_THREADS="2"), 0)
    assert conn.recv(STATUS.size) == COLD
    conn.close()


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_child_dies_with_its_client(warm):
    read_end, write_end = os.pipe()  # stdin that never ends: `text normalize` waits on it
    try:
        conn = _request(warm, ["text", "normalize", "--lang", "en"], warm, read_end)
        (pid,) = STATUS.unpack(conn.recv(STATUS.size))
        time.sleep(0.3)
        assert not _gone(pid, 0.1)
        conn.close()  # what a SIGKILL to the client does to the connection
        assert _gone(pid)
    finally:
        os.close(read_end)
        os.close(write_end)


def _wait_until_sigterm_is_caught(cwd: Path, timeout: float = 60.0) -> None:
    """Until every process working in ``cwd`` (the client and its child, or the real script) catches SIGTERM: ``main``
    installs its handler after the imports, and a SIGTERM before that kills without a message."""
    bit = 1 << (signal.SIGTERM - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        masks = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/cwd") == str(cwd):
                    status = Path(f"/proc/{pid}/status").read_text()
                    masks.append(int(status.split("SigCgt:")[1].split()[0], 16))
            except (OSError, IndexError):
                continue
        if masks and all(mask & bit for mask in masks):
            return
        time.sleep(0.05)
    raise AssertionError(f"no process in {cwd} caught SIGTERM within {timeout} s")


def test_sigterm_reaches_the_command(warm, tmp_path):
    runs = []
    for env in (warm, cold_env(warm)):
        proc = subprocess.Popen(["speechtools", "text", "normalize", "--lang", "en"], cwd=tmp_path, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_until_sigterm_is_caught(tmp_path)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        runs.append((proc.returncode, out, err))
    assert runs[0] == runs[1]
    assert runs[0][0] == 128 + signal.SIGTERM and runs[0][2] == "error: terminated (SIGTERM)\n"
