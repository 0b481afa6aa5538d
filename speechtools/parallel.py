"""Worker processes for the commands that take ``--nj`` (feature extraction, decoding).

:func:`process_pool` is the one way the library starts a pool: ``fork`` where the platform has it
(``spawn`` elsewhere), workers that die on SIGTERM/SIGHUP (a forked worker would otherwise inherit
the CLI's handlers, which raise in the main thread, and could outlive ``terminate()`` so that the
parent waits for ever), and on a normal exit ``close()`` + ``join()`` so the workers end by
themselves; ``terminate()`` is left to errors.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from multiprocessing.pool import Pool
from typing import Iterator


def _reset_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@contextlib.contextmanager
def process_pool(processes: int) -> Iterator[Pool]:
    """A ``multiprocessing`` pool of ``processes`` workers, closed and joined on a normal exit."""
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with context.Pool(processes=processes, initializer=_reset_signals) as pool:
        yield pool
        pool.close()
        pool.join()
