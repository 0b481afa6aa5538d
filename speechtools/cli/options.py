"""Click options shared by many commands, so every command spells them the same way."""

from __future__ import annotations

from typing import Any, Callable

import click

F = Callable[..., Any]


def device_option(f: F) -> F:
    """``--device auto|cpu|cuda[:N]``."""
    return click.option(
        "--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."
    )(f)


def seed_option(f: F) -> F:
    """``--seed N``."""
    return click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")(f)


def set_option(f: F) -> F:
    """``--set key.sub=value``, repeatable (``--set a=1 --set b=2``)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config value, e.g. --set model_conf.hidden=192 (repeatable).",
    )(f)


def nj_option(f: F) -> F:
    """``--nj N`` parallel jobs."""
    return click.option("--nj", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel jobs.")(f)
