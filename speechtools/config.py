"""YAML configuration: ``base:`` inheritance, ``key.sub=value`` overrides, dataclass validation.

A config file may name one or more parents with ``base: ../../../conf/tts/fastspeech2.yaml``
(paths relative to the file that names them); parents are merged first, children win,
mappings merge recursively and every other value is replaced. Overrides from the command
line (``--set model_conf.hidden=192 optim.lr=1e-3``) are applied last, their values parsed
as YAML scalars.

Validation turns the merged mapping into a dataclass: an unknown or mistyped key is a
:class:`~speechtools.errors.ConfigError` that names the dotted key, the file it came from
and, for a typo, the closest valid key.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

import yaml

from speechtools.errors import ConfigError, PathLike
from speechtools.fileio import atomic_write

T = TypeVar("T")
Origins = Dict[str, str]
OVERRIDE_ORIGIN = "--set"


class Config(dict):
    """A merged configuration mapping that remembers which file each key came from."""

    def __init__(self, data: Mapping[str, Any], origins: Optional[Origins] = None) -> None:
        super().__init__(data)
        self.origins: Origins = dict(origins or {})

    def origin(self, dotted_key: str) -> str:
        """The file (or ``--set``) that set ``dotted_key`` or its closest ancestor."""
        key = dotted_key
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition(".")[0]
        return self.origins.get("", "<config>")


class DuplicateKeyError(yaml.YAMLError):
    """A mapping that names one key twice (PyYAML would silently keep the last value)."""

    def __init__(self, key: Any, first_line: int, line: int) -> None:
        super().__init__(f"duplicate key {key!r} (first on line {first_line})")
        self.key, self.first_line, self.line = key, first_line, line


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (merge keys ``<<`` may be overridden)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Any, Any]:
        seen: Dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise DuplicateKeyError(key, seen[key], line)
                seen[key] = line
            except TypeError:  # an unhashable key: the base class reports it
                continue
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """Parse YAML like ``yaml.safe_load`` but a duplicate key is a :class:`DuplicateKeyError`."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def _record_origins(data: Any, source: str, prefix: str, origins: Origins) -> None:
    origins[prefix] = source
    if isinstance(data, dict):
        for key, value in data.items():
            _record_origins(value, source, f"{prefix}.{key}" if prefix else str(key), origins)


def _merge(base: Dict[str, Any], child: Mapping[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_tree(path: Path, stack: Tuple[Path, ...]) -> Tuple[Dict[str, Any], Origins]:
    try:
        path = path.resolve()
    except (OSError, RuntimeError):  # a symbolic-link loop
        raise ConfigError("config file is a symbolic link that never ends (a loop)", path) from None
    if path in stack:
        chain = " -> ".join(str(p) for p in stack + (path,))
        raise ConfigError(f"circular base: {chain}", path)
    if not path.is_file():
        raise ConfigError("config file not found", path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except DuplicateKeyError as exc:
        raise ConfigError(str(exc), path, exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path, line) from None
    except UnicodeDecodeError:
        raise ConfigError("not valid UTF-8", path) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("top level must be a mapping of keys to values", path)
    bases = raw.pop("base", None)
    if bases is None:
        bases = []
    elif isinstance(bases, str):
        bases = [bases]
    elif not (isinstance(bases, list) and all(isinstance(b, str) for b in bases)):
        raise ConfigError("'base' must be a path or a list of paths", path)
    merged: Dict[str, Any] = {}
    origins: Origins = {}
    for base in bases:
        data, base_origins = _load_tree((path.parent / base), stack + (path,))
        merged = _merge(merged, data)
        origins.update(base_origins)
    merged = _merge(merged, raw)
    for key, value in raw.items():
        _record_origins(value, str(path), str(key), origins)
    origins.setdefault("", str(path))
    return merged, origins


def load_config(path: PathLike, overrides: Iterable[str] = ()) -> Config:
    """Load a YAML config with its ``base:`` chain and apply ``key.sub=value`` overrides.

    Raises:
        ConfigError: missing or malformed file, circular ``base``, or a malformed override.
    """
    data, origins = _load_tree(Path(path), ())
    origins[""] = str(path)
    config = Config(data, origins)
    apply_overrides(config, overrides)
    return config


def parse_override(text: str) -> Tuple[str, Any]:
    """Split ``a.b.c=value`` into the dotted key and the YAML-parsed value."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} is not of the form key.sub=value", OVERRIDE_ORIGIN)
    try:
        parsed = load_yaml(value) if value.strip() else ""
    except DuplicateKeyError as exc:
        raise ConfigError(f"override {text!r}: {exc}", OVERRIDE_ORIGIN) from None
    except yaml.YAMLError:
        parsed = value
    return key, parsed


def apply_overrides(config: Config, overrides: Iterable[str]) -> None:
    """Apply ``--set`` overrides in place, creating intermediate mappings as needed."""
    for text in overrides:
        key, value = parse_override(text)
        parts = key.split(".")
        node: Dict[str, Any] = config
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"cannot set {key!r}: {'.'.join(parts[: i + 1])!r} is not a mapping", OVERRIDE_ORIGIN)
            node = child
        node[parts[-1]] = value
        _record_origins(value, OVERRIDE_ORIGIN, key, config.origins)


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, key: str, origin: str, config: Optional[Config] = None) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert where lossless.

    ``config`` (when known) lets nested dataclass fields name the file that set each key.
    """
    if tp is Any:
        return value
    type_origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if type_origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key, origin, config)
            except ConfigError as exc:
                errors.append(exc.message)
        if len(errors) == 1:  # Optional[X]: X's own message (e.g. a Literal's choices), None named beside it
            raise ConfigError(f"{errors[0]} (or null)", origin)
        names = " | ".join("null" if arg is type(None) else _type_name(arg) for arg in args)
        raise ConfigError(f"{key}: {value!r} is not a valid {names}", origin)
    if type_origin is typing.Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{key}: {value!r} is not one of {choices}", origin)
        return value
    if type_origin in (list, List, tuple, typing.Sequence) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}", origin)
        if type_origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected {len(args)} items, got {len(value)}", origin)
            return tuple(_convert(v, a, f"{key}[{i}]", origin) for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_convert(v, item, f"{key}[{i}]", origin) for i, v in enumerate(value)]
        return tuple(items) if (type_origin is tuple or tp is tuple) else items
    if type_origin in (dict, Dict, typing.Mapping) or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}", origin)
        vt = args[1] if len(args) == 2 else Any
        return {k: _convert(v, vt, f"{key}.{k}", origin) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}", origin)
        return _build(tp, value, key, config, origin)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}", origin)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}: expected an integer, got {value!r}", origin)
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{key}: expected a number, got {value!r}", origin)
        if not math.isfinite(number):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}", origin)
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}", origin)
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}", origin)
    return value


def _build(cls: Type[T], data: Mapping[str, Any], prefix: str, config: Optional[Config], origin: str) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: Dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        where = config.origin(dotted) if config is not None else origin
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            valid = ", ".join(sorted(fields))
            raise ConfigError(f"unknown key {dotted!r}{hint}; valid keys here: {valid}", where)
        kwargs[key] = _convert(value, hints[key], dotted, where, config)
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        where = config.origin(prefix) if config is not None else origin
        dotted = ", ".join(f"{prefix}.{m}" if prefix else m for m in missing)
        raise ConfigError(f"missing required key(s): {dotted}", where)
    try:
        instance = cls(**kwargs)
    except (ValueError, TypeError) as exc:
        where = config.origin(prefix) if config is not None else origin
        raise ConfigError(f"{prefix or cls.__name__}: {exc}", where) from None
    return instance


def check_ranges(conf: Any, positive: Sequence[str] = (), non_negative: Sequence[str] = (),
                 probability: Sequence[str] = ()) -> None:
    """Check a config dataclass's fields from its ``__post_init__``: ``positive`` >= 1 (sizes,
    counts), ``non_negative`` >= 0, ``probability`` in [0, 1) (dropouts). Raises ``ValueError``
    naming the first bad field; :func:`from_dict` reports it with the file it came from."""
    for name in positive:
        if getattr(conf, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(conf, name)}")
    for name in non_negative:
        if getattr(conf, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(conf, name)}")
    for name in probability:
        if not 0.0 <= getattr(conf, name) < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {getattr(conf, name)}")


def from_dict(cls: Type[T], data: Mapping[str, Any], prefix: str = "", source: Optional[Union[Config, str]] = None) -> T:
    """Validate ``data`` into the dataclass ``cls``.

    Args:
        cls: the dataclass; nested dataclass fields are validated recursively.
        data: the mapping (a :class:`Config` or plain dict).
        prefix: dotted path of ``data`` inside the whole config, for messages.
        source: the :class:`Config` that ``data`` came from (to name files per key) or a
            file name. Defaults to ``data`` itself when it is a :class:`Config`.

    Raises:
        ConfigError: unknown key (with a suggestion), wrong type, or missing required key.
            Dataclasses may raise ``ValueError`` in ``__post_init__``; it is reported the same way.
    """
    if source is None and isinstance(data, Config):
        source = data
    if isinstance(source, Config):
        return _build(cls, data, prefix, source, source.origin(prefix))
    return _build(cls, data, prefix, None, source or "<config>")


def to_dict(instance: Any) -> Any:
    """Turn a (nested) config dataclass into plain YAML-serialisable data."""
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return {f.name: to_dict(getattr(instance, f.name)) for f in dataclasses.fields(instance)}
    if isinstance(instance, (list, tuple)):
        return [to_dict(v) for v in instance]
    if isinstance(instance, dict):
        return {str(k): to_dict(v) for k, v in instance.items()}
    return instance


def save_config(data: Any, path: PathLike) -> None:
    """Write the resolved config (dataclass or mapping) as YAML, atomically."""
    plain = to_dict(data)
    if isinstance(plain, Config):
        plain = dict(plain)
    with atomic_write(path) as handle:
        yaml.safe_dump(plain, handle, sort_keys=False, allow_unicode=True)
