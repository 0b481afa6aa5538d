"""A whole experiment config (task, model, optim, scheduler, trainer), validated in one place.

Layout (see :mod:`speechtools.tasks.base`)::

    task: toy_regression
    task_conf: {...}
    model: toy_regressor
    model_conf: {...}
    optim: {...}
    scheduler: {...}
    trainer: {...}

Every block is validated into its dataclass with :func:`speechtools.config.from_dict`, so an
unknown key anywhere is a :class:`~speechtools.errors.ConfigError` naming the dotted key and
the file (or ``--set``) it came from. A task that declares several optimisers
(:attr:`~speechtools.tasks.base.Task.optimizers`) takes ``optim:`` and ``scheduler:`` as one
block per optimiser name (a name missing from ``scheduler:`` gets the default schedule).

Configs written before ``trainer.init_from`` existed named the initial weights in
``task_conf.init_from``; such a config still loads (a model directory must always load), with
the path moved to ``trainer.init_from`` and a warning.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Union

from speechtools.config import Config, from_dict, load_config, to_dict
from speechtools.errors import ConfigError, PathLike
from speechtools.models import MODELS
from speechtools.tasks import TASKS
from speechtools.tasks.base import Task
from speechtools.train.config import OptimConfig, SchedulerConfig, TrainerConfig
from speechtools.train.optim import OptimBlock, SchedulerBlock

TOP_LEVEL_KEYS = ("task", "task_conf", "model", "model_conf", "optim", "scheduler", "trainer")


@dataclass
class Experiment:
    """The validated experiment: names plus one dataclass per block."""

    task: str
    task_conf: Any
    model: str
    model_conf: Any
    optim: OptimBlock
    scheduler: SchedulerBlock
    trainer: TrainerConfig

    def build_task(self) -> Task:
        """Instantiate the registered task class with its config and the model choice."""
        entry = TASKS.get(self.task)
        return entry.cls(self.task_conf, self.model, self.model_conf)

    def to_dict(self) -> Dict[str, Any]:
        """Plain YAML-serialisable resolved config (what ``config.yaml`` holds)."""
        return {key: to_dict(getattr(self, key)) for key in TOP_LEVEL_KEYS}


def _block(config: Config, key: str) -> Mapping[str, Any]:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {value!r}", config.origin(key))
    return value


def _name(config: Config, key: str, source: str) -> str:
    value = config.get(key)
    if value is None:
        raise ConfigError(f"missing required key {key!r}", source)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a name, got {value!r}", config.origin(key))
    return value


def experiment_from_config(config: Union[Config, Mapping[str, Any]], source: str = "<config>") -> Experiment:
    """Validate a merged config mapping into an :class:`Experiment`.

    Raises:
        ConfigError: unknown top-level key or block key (naming it and its file), unknown
            task/model name, wrong types, or values rejected by a dataclass.
    """
    if not isinstance(config, Config):
        config = Config(dict(config), {"": source})
    source = config.origin("")
    for key in config:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown key {key!r}{hint}; valid top-level keys: {', '.join(TOP_LEVEL_KEYS)}", config.origin(str(key))
            )
    task_name = _name(config, "task", source)
    model_name = _name(config, "model", source)
    task_entry = TASKS.get(task_name, config.origin("task"))
    model_entry = MODELS.get(model_name, config.origin("model"))
    _migrate_init_from(config)
    task_conf = _validate(task_entry.config, _block(config, "task_conf"), "task_conf", config)
    model_conf = _validate(model_entry.config, _block(config, "model_conf"), "model_conf", config)
    names = tuple(getattr(task_entry.cls, "optimizers", ()))
    return Experiment(
        task=task_name,
        task_conf=task_conf,
        model=model_name,
        model_conf=model_conf,
        optim=_per_optimizer(OptimConfig, config, "optim", names, required=True),
        scheduler=_per_optimizer(SchedulerConfig, config, "scheduler", names, required=False),
        trainer=from_dict(TrainerConfig, _block(config, "trainer"), "trainer", config),
    )


def _per_optimizer(cls: type, config: Config, key: str, names: tuple, required: bool) -> Any:
    """One ``cls`` block, or (a task with several optimisers) a mapping ``{name: cls}`` from ``key.<name>`` blocks."""
    block = _block(config, key)
    if not names:
        return from_dict(cls, block, key, config)
    unknown = [k for k in block if k not in names]
    if unknown:
        raise ConfigError(f"unknown key '{key}.{unknown[0]}': this task's optimisers are {', '.join(names)} "
                          f"(one {key} block each)", config.origin(f"{key}.{unknown[0]}"))
    missing = [n for n in names if n not in block]
    if required and missing:
        raise ConfigError(f"missing required key(s): {', '.join(f'{key}.{n}' for n in missing)} "
                          f"(this task trains with optimisers {', '.join(names)})", config.origin(key))
    out = {}
    for n in names:
        sub = block.get(n) or {}
        if not isinstance(sub, dict):
            raise ConfigError(f"{key}.{n}: expected a mapping, got {sub!r}", config.origin(f"{key}.{n}"))
        out[n] = from_dict(cls, sub, f"{key}.{n}", config)
    return out


def _migrate_init_from(config: Config) -> None:
    """Move a legacy ``task_conf.init_from: PATH`` to ``trainer.init_from.path`` (with a warning)."""
    task_conf = config.get("task_conf")
    if not isinstance(task_conf, dict) or "init_from" not in task_conf:
        return
    path = task_conf.pop("init_from")
    trainer = config.setdefault("trainer", {})
    if isinstance(trainer, dict) and path:
        init = trainer.setdefault("init_from", {})
        if isinstance(init, dict) and not init.get("path"):
            init["path"] = path
            init.setdefault("strict", False)
            warnings.warn(f"{config.origin('task_conf.init_from')}: task_conf.init_from is now trainer.init_from.path "
                          "(moved; loaded with strict: false)", stacklevel=3)


def _validate(cls: Optional[type], data: Mapping[str, Any], prefix: str, config: Config) -> Any:
    if cls is None:
        if data:
            raise ConfigError(f"{prefix}: this entry takes no options, got {sorted(data)}", config.origin(prefix))
        return None
    return from_dict(cls, data, prefix, config)


def load_experiment(path: PathLike, overrides: Iterable[str] = ()) -> Experiment:
    """Load ``path`` (with ``base:`` inheritance and ``--set`` overrides) and validate it."""
    config = load_config(Path(path), overrides)
    return experiment_from_config(config, str(path))
