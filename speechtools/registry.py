"""Name → class registries (fairseq style) for models, tasks and other pluggable parts.

A model module registers itself with ``@MODELS.register("fastspeech2", config=FastSpeech2Config)``;
YAML then chooses it by name (``model: fastspeech2`` with a ``model_conf:`` block that is
validated into ``FastSpeech2Config``). Registries import their provider modules lazily, so a
registry lookup never depends on import order.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Generic, List, Optional, Type, TypeVar

from speechtools.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered implementation and the dataclass that configures it."""

    name: str
    cls: Type[T]
    config: Optional[type]


class Registry(Generic[T]):
    """A named collection of implementations of one kind.

    Args:
        kind: what is registered ("model", "task", ...), used in messages.
        package: package whose modules register entries. A lookup of ``name`` first imports
            ``<package>.<name>`` (the convention: model ``fastspeech2`` lives in
            ``speechtools/models/fastspeech2.py``), then, if still unknown, every module of it.
        providers: extra modules to import before listing (plugins, ``--user-dir``).
    """

    def __init__(self, kind: str, package: Optional[str] = None, providers: Optional[List[str]] = None) -> None:
        self.kind = kind
        self._package = package
        self._providers = list(providers or [])
        self._entries: Dict[str, Entry[T]] = {}
        self._loaded = False

    def add_provider(self, module: str) -> None:
        """Register a module to import before the first lookup (plugins, ``--user-dir``)."""
        self._providers.append(module)
        self._loaded = False

    def register(self, name: str, config: Optional[type] = None) -> Callable[[Type[T]], Type[T]]:
        """Class decorator registering ``cls`` under ``name`` with its config dataclass."""

        def wrap(cls: Type[T]) -> Type[T]:
            existing = self._entries.get(name)
            if existing is not None and existing.cls is not cls:
                raise ValueError(f"{self.kind} {name!r} registered twice ({existing.cls} and {cls})")
            self._entries[name] = Entry(name, cls, config)
            return cls

        return wrap

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._providers:
            importlib.import_module(module)
        if self._package is not None:
            package = importlib.import_module(self._package)
            for info in pkgutil.iter_modules(package.__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{self._package}.{info.name}")

    def get(self, name: str, source: str = "<config>") -> Entry[T]:
        """Look ``name`` up; an unknown name is a :class:`ConfigError` listing the choices."""
        if name not in self._entries and self._package is not None and name.isidentifier():
            try:
                importlib.import_module(f"{self._package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{self._package}.{name}":
                    raise
        if name not in self._entries:
            self._load()
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown {self.kind} {name!r}{hint}; choose from: {', '.join(self.names())}", source)
        return self._entries[name]

    def names(self) -> List[str]:
        """All registered names, sorted."""
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: Any) -> bool:
        self._load()
        return name in self._entries


def import_plugin(spec: str) -> ModuleType:
    """Import a plugin that registers tasks/models (``--import``, fairseq's ``--user-dir``).

    ``spec`` is a dotted module name (``mypkg.tasks``), a ``.py`` file or a package directory.
    A file or directory is imported under its own name (the file's stem, the directory's name)
    with its parent folder put on ``sys.path``, so importing it again, by path or by name,
    returns the same module and registers nothing twice.

    Raises:
        ConfigError: the module cannot be found or fails to import (naming ``spec``).
    """
    path = Path(spec)
    if spec.endswith(".py") or path.is_dir():
        if not path.exists():
            raise ConfigError(f"plugin {spec!r} not found", spec)
        folder, name = str(path.resolve().parent), path.stem if path.is_file() else path.name
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = name
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise ConfigError(f"cannot import plugin {spec!r} ({exc})", spec) from None
