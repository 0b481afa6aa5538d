"""A warm ``speechtools`` for the recipe smokes: the same entry point without paying for imports on every call.

A recipe calls ``speechtools`` dozens of times, and on a 2-core CI machine most of each call is importing torch,
SciPy and librosa (about 1.5-4 s), not the work. The smokes check the recipes' plumbing, so they may start the
commands from a process that has imported those libraries once (a fork server, as in ``multiprocessing``'s
``forkserver``):

* ``serve SOCKET``: import the heavy third-party libraries (never ``speechtools`` itself, so every command's own
  imports still run in each call), then, for each connection, fork a child that takes the caller's arguments,
  working directory, environment and open descriptors (standard streams, a ``<(...)``'s ``/dev/fd/63``), runs :func:`speechtools.cli.main.main` exactly as the
  console script does, and sends back the exit status.
* ``client ARGS...``: what the recipe runs as ``speechtools`` (through a two-line wrapper on ``PATH``). It forwards
  SIGINT, SIGTERM and SIGHUP to the child and exits with the child's status. The child runs in a process group of
  its own, killed with everything it started when the client dies (e.g. a test's SIGKILL to the recipe's group).
  When the server is unreachable, or the caller's environment differs from the server's in a variable read at
  start-up (:data:`IMPORT_TIME_ENV`), it runs the real console script instead (``SPEECHTOOLS_WARM_REAL``).
  ``sys.path`` is rebuilt per call as the interpreter would build it: the script's folder, the caller's
  ``PYTHONPATH``, then the installation's paths.

What a child shares with its siblings, unlike separate processes: the preloaded modules' import-time effects
(a warning they print at import, such as webrtcvad's about ``pkg_resources``, appears once in the server's log,
not on each command's stderr), numpy's legacy global random state and the string hash seed (drawn once; the
commands seed their own generators), and the process group (one per child, not the caller's).

Only the standard library is imported at module level: the client starts with ``python -S``.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import traceback
from typing import Dict, List, NoReturn, Sequence

PRELOAD = ("torch", "torch._dynamo", "numpy", "scipy.signal", "scipy.stats", "librosa.filters", "librosa.core.audio",
           "librosa.feature.spectral", "soundfile", "parselmouth", "resemblyzer", "sklearn.ensemble", "yaml", "click",
           "tqdm")  # torch._dynamo: every torch optimiser imports it; librosa.*: DNSMOS's features (lazily loaded)
IMPORT_TIME_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED", "PYTHONHOME",
                   "PYTHONSAFEPATH", "CUDA_VISIBLE_DEVICES", "LD_PRELOAD", "LD_LIBRARY_PATH")
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STATUS = struct.Struct("!i")
COLD = b"cold"
MAX_REQUEST = 1 << 20
PARENT_CHECK_S = 5.0
MAX_FDS = 250  # SCM_RIGHTS carries at most 253 descriptors per message on Linux


def serve(socket_path: str) -> None:
    """Preload :data:`PRELOAD`, listen on ``socket_path`` and fork one child per request (see :func:`_child`)."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    if threads != 1:
        raise SystemExit(f"warm_cli: {threads} threads after the preload; forking them is unsafe")
    own = pythonpath_entries(os.environ.get("PYTHONPATH"))
    if sys.path[1:1 + len(own)] != own:
        raise SystemExit(f"warm_cli: sys.path does not start with the script folder and PYTHONPATH: {sys.path}")
    installation = sys.path[1 + len(own):]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(socket_path)
    listener.listen(64)
    listener.settimeout(PARENT_CHECK_S)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel; each reports to its client
    parent = os.getppid()
    print("ready", flush=True)
    while True:
        try:
            conn, _ = listener.accept()  # blocking again: a socket accepted under a timeout is made blocking
        except socket.timeout:
            if os.getppid() != parent:  # pytest is gone without its teardown (killed): do not outlive it
                return
            continue
        if os.fork() == 0:
            listener.close()
            code = 1
            try:
                code = _child(conn, installation)
            finally:
                os._exit(code)
        conn.close()


def pythonpath_entries(value: str | None) -> List[str]:
    """The ``sys.path`` entries the interpreter makes of ``PYTHONPATH`` (absolute; an empty entry is the cwd)."""
    return [os.path.abspath(entry) if entry else os.getcwd() for entry in value.split(os.pathsep)] if value else []


def script_sys_path(script: str, pythonpath: str | None, installation: List[str]) -> List[str]:
    """``sys.path`` of ``python SCRIPT`` run in the current directory with ``PYTHONPATH=pythonpath``."""
    return [os.path.dirname(os.path.abspath(script)), *pythonpath_entries(pythonpath), *installation]


def _child(conn: socket.socket, installation: List[str]) -> int:
    """Become the caller's ``speechtools`` process: its cwd, environment, streams, argv and ``sys.path``; run
    ``main``."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, MAX_FDS)
    request = json.loads(data)
    env: Dict[str, str] = request["env"]
    if any(env.get(name) != os.environ.get(name) for name in IMPORT_TIME_ENV):
        conn.send(COLD)
        return 0
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(env)
    conn = _take_descriptors(request["fds"], fds, conn)
    sys.argv = list(request["argv"])
    sys.path[:] = script_sys_path(sys.argv[0], env.get("PYTHONPATH"), installation)
    os.setpgid(0, 0)
    threading.Thread(target=_die_with_client, args=(conn,), daemon=True).start()
    conn.send(STATUS.pack(os.getpid()))
    code = _run_main(sys.argv[1:])
    conn.send(STATUS.pack(code))
    return code


def _take_descriptors(numbers: List[int], received: List[int], conn: socket.socket) -> socket.socket:
    """Give this child the caller's open descriptors under the caller's numbers: its standard streams and any other
    (bash's ``/dev/fd/63`` of a ``<(...)``). Received descriptors and the connection are first moved above every
    number in play so that no ``dup2`` overwrites one still needed; returns the moved connection."""
    high = max([*numbers, *received, conn.fileno(), 2]) + 1
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, high) for fd in received]
    for fd in received:
        os.close(fd)
    old = conn.detach()
    conn = socket.socket(fileno=fcntl.fcntl(old, fcntl.F_DUPFD_CLOEXEC, high))
    os.close(old)
    for number in {0, 1, 2} - set(numbers):  # a stream the caller had closed is closed here too
        os.close(number)
    for number, fd in zip(numbers, moved):
        os.dup2(fd, number)
        os.close(fd)
    return conn


def _die_with_client(conn: socket.socket) -> None:
    """Kill this child's process group once its client is gone (the client sends nothing after its request)."""
    try:
        conn.recv(1)
    except OSError:
        pass
    os.killpg(os.getpid(), signal.SIGKILL)


def _run_main(args: List[str]) -> int:
    """Run the console script's ``main`` and return the status the interpreter would exit with."""
    try:
        from speechtools.cli.main import main

        main(args)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # what an uncaught exception does to the interpreter: the traceback and status 1
        traceback.print_exc()
        code = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass
    return code & 0xFF


def _open_descriptors(exclude: int) -> List[int]:
    """This process's open descriptors but ``exclude`` (at most :data:`MAX_FDS`; more is an error)."""
    numbers = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            os.fstat(fd)  # the listing's own descriptor is closed by now
        except OSError:
            continue
        if fd != exclude:
            numbers.append(fd)
    if len(numbers) > MAX_FDS:
        raise OSError(f"{len(numbers)} open descriptors; at most {MAX_FDS} can be passed")
    return sorted(numbers)


def client(args: Sequence[str]) -> NoReturn:
    """Run ``speechtools ARGS`` in a child of the server, or the real console script when that cannot be done."""
    real = os.environ["SPEECHTOOLS_WARM_REAL"]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(os.environ["SPEECHTOOLS_WARM_SOCKET"])
        fds = _open_descriptors(conn.fileno())
        request = {"argv": [real, *args], "cwd": os.getcwd(), "env": dict(os.environ), "fds": fds}
        socket.send_fds(conn, [json.dumps(request).encode()], fds)
        reply = conn.recv(STATUS.size)
    except (OSError, KeyError):
        reply = COLD
    if reply == COLD or len(reply) != STATUS.size:
        conn.close()
        os.execv(real, [real, *args])
    (pid,) = STATUS.unpack(reply)
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, lambda number, frame: os.kill(pid, number))
    status = conn.recv(STATUS.size)
    if len(status) != STATUS.size:
        print(f"warm_cli: speechtools (pid {pid}) ended without a status", file=sys.stderr)
        sys.exit(1)
    sys.exit(STATUS.unpack(status)[0])


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 3:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["client"]:
        client(sys.argv[2:])
    else:
        raise SystemExit("usage: warm_cli.py serve SOCKET | client ARGS...")
