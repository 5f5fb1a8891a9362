"""Reading scenario documents: strict field access whose errors name their path.

The scenario file is written by hand, so every mistake must point at its place
(`bigip.config.pools[1].members[0].port: expected an integer`).  The renderers of
both simulated sides read their sections through `Node`, which carries the path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, TypeVar

T = TypeVar("T")

_TYPE_NAMES: Mapping[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a mapping",
    list: "a list",
}


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; `str()` is `<path>: <message>`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f'string "{value}"'
    return type(value).__name__


@dataclass(frozen=True)
class Node:
    """A value inside the scenario document together with its path."""

    value: Any
    path: str = ""

    def fail(self, message: str) -> ScenarioError:
        return ScenarioError(self.path, message)

    def child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def mapping(self, allowed: Sequence[str] | None = None) -> Mapping[str, Any]:
        """The value as a mapping; with `allowed`, unknown keys are errors."""
        if not isinstance(self.value, Mapping):
            raise self.fail(f"expected a mapping, got {_describe(self.value)}")
        if allowed is not None:
            for key in self.value:
                if key not in allowed:
                    hint = get_close_matches(str(key), allowed, n=1)
                    extra = f' (did you mean "{hint[0]}"?)' if hint else ""
                    raise ScenarioError(self.child_path(str(key)), f"unknown key{extra}")
        return self.value

    def items(self) -> Iterator[Node]:
        """The value as a list of child nodes (null counts as an empty list)."""
        if self.value is None:
            return iter(())
        if not isinstance(self.value, list):
            raise self.fail(f"expected a list, got {_describe(self.value)}")
        return (Node(v, self.child_path(i)) for i, v in enumerate(self.value))

    def get(self, key: str, default: Any = None) -> Node:
        mapping = self.mapping()
        return Node(mapping.get(key, default), self.child_path(key))

    def require(self, key: str) -> Node:
        mapping = self.mapping()
        if key not in mapping or mapping[key] is None:
            raise ScenarioError(self.child_path(key), "required")
        return Node(mapping[key], self.child_path(key))

    def of(self, kind: type[T]) -> T:
        value = self.value
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if not ok:
            raise self.fail(
                f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {_describe(value)}"
            )
        return value  # type: ignore[no-any-return]

    def text(self, default: str | None = None) -> str:
        if self.value is None and default is not None:
            return default
        return self.of(str)

    def opt_text(self) -> str | None:
        return None if self.value is None else self.of(str)

    def integer(self, default: int | None = None) -> int:
        if self.value is None and default is not None:
            return default
        return self.of(int)

    def boolean(self, default: bool | None = None) -> bool:
        if self.value is None and default is not None:
            return default
        return self.of(bool)

    def choice(self, options: Sequence[str], default: str | None = None) -> str:
        text = self.text(default)
        if text not in options:
            raise self.fail(f'"{text}" is not one of {", ".join(options)}')
        return text

    def texts(self) -> tuple[str, ...]:
        return tuple(item.of(str) for item in self.items())
