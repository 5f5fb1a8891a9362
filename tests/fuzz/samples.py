"""What the fuzz tests start from: real objects of the simulated demo world, and strategies
that produce hostile variants of them.

`json_values()` is any JSON document (as `json.loads` gives it, NaN and huge numbers
included, plus strings that have broken parsers before: impossible dates, Unicode digits,
`"none"`); `mutated(sample)` is the sample with a few of its subtrees replaced, removed or
added to, so that a parser gets past its first checks and meets odd values deep inside.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from monitor.simulate.world import Scenario, World
from tests.support.paths import DEMO

# Strings that look like what a parser expects, or broke one once.
ODD_TEXT = (
    "",
    " ",
    "none",
    "true",
    "false",
    "0",
    "-1",
    "99999999999999999999",
    "１２",  # fullwidth digits: str.isdigit() is true, int() accepts them
    "²",  # a digit for str.isdigit(), not for int()
    "2025-02-30",
    "2025-02-30T25:61:00Z",
    "1e999",
    "NaN",
    "%",
    "/",
    "//",
    "/Common/",
    "/Common/x",
    "~Common~x",
    "a:b",
    "::",
    "10.0.0.1%2",
    "2001:db8::1.443",
    "SHA256/",
    "SHA256/ZZ:ZZ",
    "{ }",
    "{",
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "\x00",
    "\ud800",
)


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(),
        st.text(max_size=30),
        st.sampled_from(ODD_TEXT),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (dicts with string keys), small."""
    return st.recursive(
        _scalars(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=12) | st.sampled_from(ODD_TEXT), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


JSON = json_values()
_DEEP = st.sampled_from(("descend", "descend", "descend", "replace", "drop", "add"))
_FLAT = st.sampled_from(("replace", "add"))
_NEW_KEY = st.text(max_size=12)


@functools.cache
def _index(size: int) -> st.SearchStrategy[int]:
    return st.integers(0, size - 1)


@functools.cache
def _known_key(keys: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(keys) | _NEW_KEY if keys else _NEW_KEY


def _mutate_once(draw: st.DrawFn, value: Any, keys: tuple[str, ...]) -> Any:
    """`value` with one subtree changed (in place where possible; returns the new root).
    Strategies are built once and cached: building them per draw costs more than the test."""
    action = draw(_DEEP if isinstance(value, dict | list) and value else _FLAT)
    if action == "replace" or (action == "add" and not isinstance(value, dict | list)):
        return draw(JSON)
    if isinstance(value, dict):
        if action == "add":
            value[draw(_known_key(keys))] = draw(JSON)
            return value
        key = list(value)[draw(_index(len(value)))]
        if action == "drop":
            del value[key]
        else:
            value[key] = _mutate_once(draw, value[key], keys)
        return value
    assert isinstance(value, list)
    if action == "add":
        value.insert(draw(_index(len(value) + 1)), draw(JSON))
        return value
    index = draw(_index(len(value)))
    if action == "drop":
        del value[index]
    else:
        value[index] = _mutate_once(draw, value[index], keys)
    return value


def _all_keys(value: Any, out: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            out.add(str(key))
            _all_keys(inner, out)
    elif isinstance(value, list):
        for inner in value:
            _all_keys(inner, out)
    return out


_KEYS: dict[int, tuple[str, ...]] = {}


def _sample_keys(sample: Any) -> tuple[str, ...]:
    """Every key in `sample` (samples are module-level objects: cached by identity)."""
    found = _KEYS.get(id(sample))
    if found is None:
        found = _KEYS[id(sample)] = tuple(sorted(_all_keys(sample, set())))
    return found


@st.composite
def mutated(draw: st.DrawFn, sample: Any, most: int = 4) -> Any:
    """A deep copy of `sample` with 0 to `most` subtrees replaced, dropped or added."""
    value = copy.deepcopy(sample)
    keys = _sample_keys(sample)
    for _ in range(draw(_index(most + 1))):
        value = _mutate_once(draw, value, keys)
    return value


# --- the simulated demo world ------------------------------------------------------------------


@functools.cache
def world() -> World:
    """The demo scenario rendered (not served)."""
    return World(Scenario.load(DEMO))


def device_collections() -> dict[str, list[dict[str, Any]]]:
    """bigip-a's collections, as the device serves them."""
    return world().state.bigip.devices["bigip-a"].collections


def device_stats() -> dict[str, dict[str, Any]]:
    """bigip-a's stats documents (`cm/sync-status`, `cm/failover-status`, `sys/version`)."""
    return world().state.bigip.devices["bigip-a"].stats


def expanded(collection: str) -> list[dict[str, Any]]:
    """A collection's items with their subcollections expanded, as
    `expandSubcollections=true` gives them (pool members, virtual profiles)."""
    found = device_collections()
    items = copy.deepcopy(found[collection])
    sub = {
        "ltm/pool": ("members", "membersReference"),
        "ltm/virtual": ("profiles", "profilesReference"),
    }
    if collection in sub:
        name, key = sub[collection]
        for item in items:
            tilde = item["fullPath"].replace("/", "~")
            item[key] = {
                "link": "https://localhost/x",
                "items": found.get(f"{collection}/{tilde}/{name}", []),
            }
    return items


def kube_objects(kind: str | None = None) -> list[dict[str, Any]]:
    """The simulated cluster's objects, optionally of one kind."""
    objects = world().state.kube.objects
    return [o for o in objects if kind is None or o.get("kind") == kind]


def certificate_pems() -> list[str]:
    """Every certificate of the demo world, as PEM."""
    return [cert.pem for cert in world().state.certs.values()]


def base_dir() -> Path:
    return DEMO.parent
