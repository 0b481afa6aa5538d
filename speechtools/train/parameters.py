"""Which weights a run loads and trains: ``trainer.init_from`` (partial loading) and ``trainer.freeze``/``trainable``.

Both select parameters by name with ``fnmatch`` patterns (``encoder.*``, ``*.cond_norm*``) on
the names of ``model.state_dict()`` / ``model.named_parameters()``. A pattern that matches
nothing is an error naming it: a typo would otherwise silently load or train everything.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import torch

from speechtools.errors import UserError
from speechtools.train.checkpoint import load_checkpoint, model_state
from speechtools.train.config import InitFromConfig

MODEL_FILE = "model.pt"


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` matches one of the ``fnmatch`` ``patterns``."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def check_patterns(patterns: Sequence[str], names: Sequence[str], key: str) -> None:
    """Every pattern must match at least one of ``names``; otherwise a :class:`UserError` naming ``key`` and the pattern."""
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            raise UserError(f"{key}: pattern {pattern!r} matches no parameter of the model (e.g. {names[0] if names else '-'})")


@dataclass
class InitReport:
    """What :func:`init_from` did, for one log line."""

    source: Path
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)

    def line(self) -> str:
        """``init_from PATH: loaded N tensors; missing M (a, b...); unexpected K (...); shape-mismatched J (...)``."""

        def some(names: List[str]) -> str:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            return f"{len(names)}" + (f" ({shown})" if names else "")

        return (f"init_from {self.source}: loaded {len(self.loaded)} tensors; missing {some(self.missing)}; "
                f"unexpected {some(self.unexpected)}; shape-mismatched {some(self.mismatched)}")


def weights_file(path: Path) -> Path:
    """The weights a ``trainer.init_from.path`` names: a model directory's ``model.pt``, or the file itself."""
    return path / MODEL_FILE if path.is_dir() else path


def init_from(model: torch.nn.Module, conf: InitFromConfig) -> InitReport:
    """Load the selected weights of ``conf.path`` into ``model`` (in place) and report what happened.

    The source may be a model directory, a ``model.pt`` or a training checkpoint. Names are
    selected by ``include`` minus ``exclude`` on both sides. ``strict``: a missing, unexpected
    or shape-mismatched selected name is an error; otherwise those are skipped and reported.

    Raises:
        UserError: unreadable source, a pattern that matches nothing, or (strict) any mismatch.
    """
    source = Path(conf.path)
    path = weights_file(source)
    state = model_state(load_checkpoint(path, map_location="cpu"), path)
    own = model.state_dict()
    check_patterns([p for p in conf.include if p != "*"], list(own), "trainer.init_from.include")
    check_patterns(conf.exclude, list(own) + list(state), "trainer.init_from.exclude")

    def selected(names: Iterable[str]) -> List[str]:
        return [n for n in names if matches(n, conf.include) and not matches(n, conf.exclude)]

    report = InitReport(source)
    wanted = selected(own)
    report.unexpected = [n for n in selected(state) if n not in own]
    report.missing = [n for n in wanted if n not in state]
    report.mismatched = [n for n in wanted if n in state and state[n].shape != own[n].shape]
    update: Dict[str, torch.Tensor] = {n: state[n] for n in wanted if n in state and state[n].shape == own[n].shape}
    report.loaded = sorted(update)
    if conf.strict and (report.missing or report.unexpected or report.mismatched):
        raise UserError(f"trainer.init_from (strict) would load only part: {report.line()}; "
                        "set trainer.init_from.strict=false or narrow include/exclude", path)
    if not update:
        raise UserError(f"trainer.init_from: no weight of this source fits the model ({report.line()})", path)
    own.update(update)
    model.load_state_dict(own)
    return report


def apply_freeze(model: torch.nn.Module, trainable: Sequence[str], freeze: Sequence[str]) -> int:
    """Set ``requires_grad``: only ``trainable`` patterns (all if empty) minus ``freeze`` patterns train.

    Returns the number of trainable parameter elements.

    Raises:
        UserError: a pattern that matches no parameter, or nothing left to train.
    """
    names = [n for n, _ in model.named_parameters()]
    check_patterns(trainable, names, "trainer.trainable")
    check_patterns(freeze, names, "trainer.freeze")
    count = 0
    for name, param in model.named_parameters():
        param.requires_grad_((not trainable or matches(name, trainable)) and not matches(name, freeze))
        count += param.numel() if param.requires_grad else 0
    if count == 0:
        raise UserError("trainer.trainable/freeze leave no parameter to train")
    return count
