"""What a LIST page holds and how an object is stored: hostile input, checked as it is read.

`page_items` yields (key, object) for every object of a LIST page (typed lists leave out
each item's `kind` and `apiVersion`: they are put back); `prepared` applies a watch spec's
transform (which keeps only what the checks need, or drops the object), turning any failure of it into a
`bad_json` that names the object, never its content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from monitor.model import SourceError
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.spec import object_key

Json = dict[str, Any]


def page_items(doc: Json, target: str) -> Iterator[tuple[str, Json]]:
    """(key, object) of every item of one LIST page; `bad_json` when `items` is no list."""
    items = doc.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise SourceFailure(SourceError("bad_json", f"{target}: LIST items is not a list", target))
    kind = str(doc.get("kind") or "").removesuffix("List")
    api_version = doc.get("apiVersion")
    for item in items:
        if not isinstance(item, dict):
            continue
        if kind and "kind" not in item:  # typed lists leave them out of their items
            item = {"apiVersion": api_version, "kind": kind, **item}
        key = object_key(item)
        if key is not None:
            yield key, item


def prepared(transform: Callable[[Json], Any] | None, obj: Json, key: str, target: str) -> Any:
    """`obj` as stored: after `transform` (None: not kept), whose failure is a `bad_json`
    naming `key`."""
    if transform is None:
        return obj
    try:
        return transform(obj)
    except Exception as err:  # the message names the object, never its content
        message = f"{target}: {key} could not be read ({type(err).__name__})"
        raise SourceFailure(SourceError("bad_json", message, target)) from None
