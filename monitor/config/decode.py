"""Generic decoding of parsed YAML into frozen dataclasses, driven by their type hints.

Owns ConfigError and the mechanics shared by every config section: camelCase YAML keys for
snake_case fields, unknown-key detection (with a "did you mean" hint), required fields,
defaults, and the supported field types: str, int, bool, float, Literal, Optional, unions,
tuple[T, ...], nested dataclasses, timedelta, date and pathlib.Path (resolved against the
config file's directory). Field-level rules are attached with `Annotated[T, Rule(fn)]`.
Cross-field and cross-reference checks live in monitor.config.schema, not here.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

from monitor.config import strictyaml
from monitor.config.durations import parse_duration
from monitor.config.strictyaml import quote

T = TypeVar("T")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ConfigError(Exception):
    """A config problem, located by its YAML path (`bigip[0].caFile`, or "" for the file)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class Invalid(ValueError):
    """Raised by a Rule; `at` is a path suffix relative to the checked value, e.g. "[1]"."""

    def __init__(self, message: str, at: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.at = at


@dataclass(frozen=True, slots=True)
class Rule:
    """Validates (and may normalise) a decoded value: returns the value or raises Invalid."""

    check: Callable[[Any], Any]


def pattern(regex: str, what: str, example: str) -> Rule:
    """A string must match `regex` in full."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise Invalid(f"invalid {what} {quote(value)} (e.g. {quote(example)})")
        return value

    return Rule(check)


def between(low: int, high: int) -> Rule:
    """An integer must lie in [low, high]."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise Invalid(f"{value} is out of range {low}-{high}")
        return value

    return Rule(check)


def _non_empty(value: tuple[object, ...]) -> tuple[object, ...]:
    if not value:
        raise Invalid("must not be empty")
    return value


def _unique(value: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    seen: set[Hashable] = set()
    for index, item in enumerate(value):
        if item in seen:
            shown = quote(item) if isinstance(item, str) else repr(item)
            raise Invalid(f"duplicate value {shown}", at=f"[{index}]")
        seen.add(item)
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise Invalid("must be longer than 0s")
    return value


NON_EMPTY = Rule(_non_empty)
UNIQUE = Rule(_unique)
POSITIVE = Rule(_positive)


# Keys whose units would lose their capitals in camel case (`maxResponseMib`).
KEY_NAMES = {"max_response_mib": "maxResponseMiB"}


def camel_case(name: str) -> str:
    """The YAML key for a dataclass field: `f5_page_size` -> `f5PageSize`."""
    if name in KEY_NAMES:
        return KEY_NAMES[name]
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe(value: object) -> str:
    """What a parsed YAML value is, for `expected X, got Y` messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {quote(value)}"
    if isinstance(value, datetime):
        return f"timestamp {value.isoformat()}"
    if isinstance(value, date):
        return f"date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    """` (did you mean "x"?)` for the closest choice, or "" if nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {quote(close[0])}?)" if close else ""


def decode(cls: type[T], data: object, base_dir: Path, path: str = "") -> T:
    """Decode `data` (from yaml.safe_load) into dataclass `cls`; raises ConfigError."""
    return typing.cast(T, _Decoder(base_dir).value(cls, data, path, _MISSING))


_MISSING: Any = object()

_TYPE_NAMES: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    float: "a number",
    timedelta: "a duration (e.g. 30s, 15m, 60d)",
    date: "a date (YYYY-MM-DD)",
    Path: "a path",
}


def _strip(tp: Any) -> Any:
    """The type under any Annotated wrapper."""
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _expected(tp: Any) -> str:
    """A type as named in messages: `an integer`, `a list`, `one of "a", "b"`."""
    tp = _strip(tp)
    if _is_union(tp):
        names = [_expected(arg) for arg in typing.get_args(tp) if arg is not type(None)]
        return " or ".join(names)
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(quote(str(arg)) for arg in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return _TYPE_NAMES[tp]


def _accepts(tp: Any, value: object) -> bool:
    """Whether `value` has the YAML shape `tp` is decoded from (the union branch picker)."""
    tp = _strip(tp)
    if typing.get_origin(tp) is Literal:
        return any(type(arg) is type(value) for arg in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return isinstance(value, list)
    if dataclasses.is_dataclass(tp):
        return isinstance(value, dict)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is bool:
        return isinstance(value, bool)
    if tp is timedelta:
        return isinstance(value, str) or (type(value) is int and value == 0)
    if tp is date:
        return isinstance(value, str | date) and not isinstance(value, datetime)
    return isinstance(value, str)  # str and Path


class _Decoder:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def value(self, tp: Any, data: object, path: str, default: Any) -> Any:
        """Decode one value; `default` (or _MISSING) is the field default, used for nulls."""
        if typing.get_origin(tp) is Annotated:
            base, *rules = typing.get_args(tp)
            result = self.value(base, data, path, default)
            for rule in rules:
                if isinstance(rule, Rule):
                    try:
                        result = rule.check(result)
                    except Invalid as err:
                        raise ConfigError(path + err.at, err.message) from None
            return result
        if data is None:
            if _is_union(tp) and type(None) in typing.get_args(tp):
                return None
            if default is not _MISSING:
                return default  # an empty section (`mesh:`) means "all defaults"
        if _is_union(tp):
            for arg in typing.get_args(tp):
                if arg is not type(None) and _accepts(arg, data):
                    return self.value(arg, data, path, default)
            raise ConfigError(path, f"expected {_expected(tp)}, got {describe(data)}")
        if not _accepts(tp, data):
            raise ConfigError(path, f"expected {_expected(tp)}, got {describe(data)}")
        if typing.get_origin(tp) is Literal:
            return self._literal(tp, data, path)
        if typing.get_origin(tp) is tuple:
            return self._tuple(tp, typing.cast(list[Any], data), path)
        if dataclasses.is_dataclass(tp):
            base = default if dataclasses.is_dataclass(default) else None
            return self.dataclass(
                typing.cast(type, tp), typing.cast(dict[Any, Any], data), path, base
            )
        return self._scalar(tp, data, path)

    def _literal(self, tp: Any, data: object, path: str) -> object:
        choices = typing.get_args(tp)
        if data in choices:
            return data
        hint = did_you_mean(data, [str(c) for c in choices]) if isinstance(data, str) else ""
        raise ConfigError(path, f"expected {_expected(tp)}, got {describe(data)}{hint}")

    def _tuple(self, tp: Any, data: list[Any], path: str) -> tuple[Any, ...]:
        item_type = typing.get_args(tp)[0]  # tuple[T, ...]
        return tuple(
            self.value(item_type, item, f"{path}[{i}]", _MISSING) for i, item in enumerate(data)
        )

    def _scalar(self, tp: Any, data: Any, path: str) -> object:
        if isinstance(data, str) and not data.strip():
            raise ConfigError(path, "must not be empty")
        if tp is timedelta:
            try:
                return parse_duration(str(data))
            except ValueError as err:
                raise ConfigError(path, str(err)) from None
        if tp is date:
            return self._date(data, path)
        if tp is Path:
            return self.base_dir / data
        if tp is float:
            return float(data)
        return data

    @staticmethod
    def _date(data: date | str, path: str) -> date:
        if isinstance(data, date):
            return data
        try:
            if _DATE.fullmatch(data):
                return date.fromisoformat(data)
        except ValueError:
            pass
        raise ConfigError(path, f"invalid date {quote(data)} (expected YYYY-MM-DD)")

    def dataclass(self, cls: type[Any], data: dict[Any, Any], path: str, base: Any) -> Any:
        """Decode a mapping; missing keys come from `base` (an instance) or field defaults."""
        fields = {camel_case(f.name): f for f in dataclasses.fields(cls)}
        forbidden: Mapping[str, str] = getattr(cls, "forbidden_keys", {})
        hints = typing.get_type_hints(cls, include_extras=True)
        values: dict[str, Any] = {}
        for key, item in data.items():
            if not isinstance(key, str):
                raise ConfigError(path, f"keys must be strings, got {describe(key)}")
            key_path = join_path(path, key)
            if key in forbidden:
                raise ConfigError(key_path, forbidden[key])
            field = fields.get(key)
            if field is None:
                raise ConfigError(key_path, "unknown key" + did_you_mean(key, fields))
            default = self._default(field, base)
            values[field.name] = self.value(hints[field.name], item, key_path, default)
        for key, field in fields.items():
            if field.name in values:
                continue
            default = self._default(field, base)
            if default is _MISSING:
                raise ConfigError(join_path(path, key), "required")
            values[field.name] = default
        return cls(**values)

    @staticmethod
    def _default(field: dataclasses.Field[Any], base: Any) -> Any:
        if base is not None:
            return getattr(base, field.name)
        if field.default is not dataclasses.MISSING:
            return field.default
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        return _MISSING


# YAML -------------------------------------------------------------------------------------


def load_yaml(text: str) -> object:
    """yaml.safe_load, but duplicate keys are errors; every failure is a one-line ConfigError."""
    try:
        return strictyaml.load(text)
    except strictyaml.YamlError as err:
        raise ConfigError(err.path, err.message) from None
