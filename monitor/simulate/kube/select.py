"""Label and field selectors, parsed and matched as the Kubernetes apiserver does.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, joined
by commas (all must hold).  Field selectors: `f=v`, `f==v`, `f!=v` over the fields
a resource supports; any other field is refused with the apiserver's own message,
`field label not supported: <field>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    """A selector the apiserver would answer with 400 BadRequest; str() is its message."""


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=", "notin"


_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SET = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t.strip() for t in terms]


def _check(key: str, values: Sequence[str], term: str) -> None:
    if not _KEY.match(key):
        raise SelectorError(f'unable to parse requirement: invalid label key "{key}" in "{term}"')
    for v in values:
        if len(v) > 63 or not _VALUE.match(v):
            raise SelectorError(
                f'unable to parse requirement: invalid label value: "{v}" in "{term}"'
            )


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    if text is None or not text.strip():
        return ()
    out: list[Requirement] = []
    for term in _split_terms(text):
        if not term:
            raise SelectorError(f'unable to parse requirement: empty term in "{text}"')
        m = _SET.match(term)
        if m:
            key, op, inner = m.groups()
            values = tuple(v.strip() for v in inner.split(",")) if inner.strip() else ()
            if not values:
                raise SelectorError(
                    f'unable to parse requirement: for "{op}" operator, values set can\'t be empty'
                )
            _check(key, values, term)
            out.append(Requirement(key, op, values))
            continue
        for op, norm in (("!=", "!="), ("==", "="), ("=", "=")):
            if op in term:
                key, _, value = term.partition(op)
                key, value = key.strip(), value.strip()
                _check(key, (value,), term)
                out.append(Requirement(key, norm, (value,)))
                break
        else:
            if term.startswith("!"):
                key = term[1:].strip()
                _check(key, (), term)
                out.append(Requirement(key, "!"))
            else:
                _check(term, (), term)
                out.append(Requirement(term, "exists"))
    return tuple(out)


def labels_match(requirements: Sequence[Requirement], labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in requirements)


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str
    negate: bool
    value: str


def parse_field_selector(text: str | None, supported: Sequence[str]) -> tuple[FieldTerm, ...]:
    if text is None or not text.strip():
        return ()
    out: list[FieldTerm] = []
    for term in text.split(","):
        term = term.strip()
        for op in ("!=", "==", "="):
            if op in term:
                field, _, value = term.partition(op)
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field = field.strip()
        if field not in supported:
            raise SelectorError(f"field label not supported: {field}")
        out.append(FieldTerm(field, op == "!=", value.strip()))
    return tuple(out)


def field_value(obj: Mapping[str, Any], field: str) -> str:
    """The string the apiserver compares a field selector against ("" when unset)."""
    if field == "source":  # events: the reporting component
        src = obj.get("source") or {}
        return str(src.get("component", "")) if isinstance(src, Mapping) else ""
    if field == "spec.hostNetwork":
        spec = obj.get("spec") or {}
        return "true" if spec.get("hostNetwork") else "false"
    value: Any = obj
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fields_match(terms: Sequence[FieldTerm], obj: Mapping[str, Any]) -> bool:
    return all((field_value(obj, t.field) == t.value) != t.negate for t in terms)
