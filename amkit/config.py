"""Typed configs: nested ``@dataclass``es filled from YAML, with every problem reported at once.

YAML keys mirror dataclass field names. Dotted overrides (``--set train.lr=0.01``) edit the
raw mapping before validation. Validation collects *all* problems (unknown keys with a
"did you mean", wrong types, values out of range or not among the allowed choices) into one
:class:`ConfigError`.

Constraints live in field metadata, built with :func:`option`::

    @dataclass
    class TrainConfig:
        lr: float = option(1e-3, gt=0)
        optimizer: Literal["sgd", "adam"] = "adam"
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from amkit.errors import UserError
from amkit.registry import did_you_mean
from amkit.textfile import decode_utf8

T = TypeVar("T")


class ConfigError(UserError):
    """A config with one or more problems; ``problems`` lists them, one line each."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} config problem(s){where}:\n{lines}")


def option(
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Iterable[str] | Callable[[], Iterable[str]] | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with range / choice constraints checked by :func:`from_dict`.

    ``choices`` may be a callable (e.g. a registry's ``keys``) so that names registered
    later are accepted.
    """
    metadata = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _check_constraints(value: Any, meta: Mapping[str, Any], key: str, problems: list[str]) -> None:
    if value is None:
        return
    bounds = (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    )
    for name, ok, symbol in bounds:
        bound = meta.get(name)
        if bound is not None and isinstance(value, int | float) and not ok(value, bound):
            problems.append(f"{key}: must be {symbol} {bound}, got {value!r}")
    choices = meta.get("choices")
    if choices is not None:
        allowed = sorted(choices() if callable(choices) else choices)
        if value not in allowed:
            problems.append(
                f"{key}: {value!r} is not allowed{did_you_mean(value, allowed)}; "
                f"choose one of {', '.join(map(str, allowed))}"
            )


def _convert(value: Any, tp: Any, key: str, problems: list[str]) -> Any:
    """Convert ``value`` to type ``tp``; append a problem and return ``None`` on failure."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        trial: list[str] = []
        for candidate in inner:
            trial.clear()
            converted = _convert(value, candidate, key, trial)
            if not trial:
                return converted
        problems.append(
            f"{key}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}"
        )
        return None
    if origin is Literal:
        if value not in args:
            problems.append(
                f"{key}: {value!r} is not allowed{did_you_mean(value, map(str, args))}; "
                f"choose one of {', '.join(map(str, args))}"
            )
            return None
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            problems.append(f"{key}: expected a mapping of {tp.__name__} fields, got {value!r}")
            return None
        return build_section(tp, value, key, problems)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            problems.append(f"{key}: expected a list, got {value!r}")
            return None
        item_tp = args[0] if args else Any
        items = [_convert(v, item_tp, f"{key}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            problems.append(f"{key}: expected a mapping, got {value!r}")
            return None
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"{key}: expected true or false, got {value!r}")
        return None
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        problems.append(f"{key}: expected an integer, got {value!r}")
        return None
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                return float(value)
            except ValueError:
                pass
        problems.append(f"{key}: expected a number, got {value!r}")
        return None
    if tp is str:
        if isinstance(value, str):
            return value
        problems.append(f"{key}: expected a string, got {value!r}")
        return None
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    problems.append(f"{key}: expected {_type_name(tp)}, got {value!r}")
    return None


def build_section(
    cls: type[T], data: Mapping[str, Any], prefix: str, problems: list[str]
) -> T | None:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    dotted = f"{prefix}." if prefix else ""
    before = len(problems)
    for key, value in data.items():
        if key not in fields:
            problems.append(
                f"{dotted}{key}: unknown key{did_you_mean(key, fields)}; "
                f"known keys: {', '.join(fields)}"
            )
            continue
        start = len(problems)
        converted = _convert(value, hints[key], f"{dotted}{key}", problems)
        if len(problems) == start:
            _check_constraints(converted, fields[key].metadata, f"{dotted}{key}", problems)
            kwargs[key] = converted
    for name, f in fields.items():
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if name not in data and no_default:
            problems.append(f"{dotted}{name}: required key is missing")
    if len(problems) > before:
        return None
    instance = cls(**kwargs)
    check = getattr(instance, "validate", None)
    if callable(check):
        problems.extend(f"{dotted}{p}" if prefix else p for p in check())
    return instance


def from_dict(cls: type[T], data: Mapping[str, Any] | None, source: str | None = None) -> T:
    """Build dataclass ``cls`` from a mapping, raising one :class:`ConfigError` for all problems.

    A dataclass may define ``validate(self) -> list[str]`` for cross-field rules.
    """
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            [f"expected a mapping at the top level, got {type(data).__name__}"], source
        )
    instance = build_section(cls, data, "", problems)
    if problems or instance is None:
        raise ConfigError(problems, source)
    return instance


def to_dict(obj: Any) -> Any:
    """A dataclass (or nested containers of them) as plain YAML/JSON-able data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=0.01"`` -> ``(["train", "lr"], 0.01)``; the value is read as YAML."""
    if "=" not in text:
        raise ConfigError([f"override {text!r} must look like key.sub=value"])
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError([f"override {text!r} has an empty key"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError([f"override {text!r}: value is not valid YAML ({err})"]) from err
    return key.split("."), value


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted ``key=value`` overrides applied."""
    result: dict[str, Any] = _deep_copy(data)
    problems: list[str] = []
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                problems.append(f"override {text!r}: {part!r} is not a mapping")
                break
            node = child
        else:
            node[path[-1]] = value
    if problems:
        raise ConfigError(problems)
    return result


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``safe_load``; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(decode_utf8(path.read_bytes(), path))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError([f"{where}: invalid YAML: {getattr(err, 'problem', err)}"]) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: top level must be a mapping, got {type(data).__name__}"])
    return data
