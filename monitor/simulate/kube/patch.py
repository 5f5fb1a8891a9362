"""PATCH documents applied to a stored object, as the apiserver's patchers do (`patch.go`).

JSON merge patch (RFC 7386, `application/merge-patch+json`), strategic merge patch
(`application/strategic-merge-patch+json`: a merge patch with the `$patch: replace|delete`
and `$retainKeys` directives, `metadata.ownerReferences` merged by `uid` and
`metadata.finalizers` as a set, other lists replaced) and JSON patch (RFC 6902,
`application/json-patch+json`: add, remove, replace, move, copy, test). Any other
Content-Type is 415 with the apiserver's list of accepted types
(`negotiation.NewUnsupportedMediaTypeError`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from monitor.simulate.kube.status import ApiError

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
ACCEPTED = (JSON_PATCH, MERGE, STRATEGIC, APPLY)
_MERGE_KEYS = {"ownerReferences": "uid"}
_SET_LISTS = {"finalizers"}


def media_type(header: str) -> str:
    """The patch type of a Content-Type (parameters after `;` dropped); 415 if unknown."""
    kind = header.split(";", 1)[0].strip().lower()
    if kind not in (MERGE, STRATEGIC, JSON_PATCH):
        message = (
            "the body of the request was in an unknown format - accepted media types "
            "include: " + ", ".join(ACCEPTED)
        )
        raise ApiError(415, "UnsupportedMediaType", message)
    return kind


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _strategic(target: Any, patch: Any, key: str = "") -> Any:
    if isinstance(patch, list) and isinstance(target, list):
        if key in _MERGE_KEYS:
            merge_key = _MERGE_KEYS[key]
            items = list(target)
            for item in patch:
                found = [
                    i
                    for i, old in enumerate(items)
                    if isinstance(old, dict)
                    and isinstance(item, dict)
                    and old.get(merge_key) == item.get(merge_key)
                ]
                if found:
                    items[found[0]] = _strategic(items[found[0]], item)
                else:
                    items.append(item)
            return [i for i in items if not (isinstance(i, dict) and i.get("$patch") == "delete")]
        if key in _SET_LISTS:
            return list(target) + [i for i in patch if i not in target]
        return patch
    if not isinstance(patch, dict):
        return patch
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != "$patch" and v is not None}
    out = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for name, value in patch.items():
        if name in ("$patch", "$retainKeys"):
            continue
        if value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            out.pop(name, None)
        else:
            out[name] = _strategic(out.get(name), value, name)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def _json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise ValueError("json patch is not a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, parts = op.get("op"), _pointer(str(op.get("path", "")))
        if not parts:
            raise ValueError("the whole document cannot be patched")
        parent, last = _parent(doc, parts)
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent[last]
            if current != op.get("value"):
                raise ValueError(f"testing value {op.get('path')} failed")
            continue
        value = op.get("value")
        if kind in ("move", "copy"):
            source, name = _parent(doc, _pointer(str(op.get("from", ""))))
            value = copy.deepcopy(source[int(name)] if isinstance(source, list) else source[name])
            if kind == "move":
                del source[int(name) if isinstance(source, list) else name]
        if kind in ("remove", "replace"):
            del parent[int(last) if isinstance(parent, list) else last]
        if kind in ("add", "replace", "move", "copy"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), value)
            else:
                parent[last] = value
        elif kind != "remove":
            raise ValueError(f"Unexpected kind: {kind}")
    return doc


def apply_patch(current: dict[str, Any], patch_type: str, raw: bytes) -> Any:
    """The patched document (not yet decoded or validated); 400 for a malformed patch."""
    try:
        patch = json.loads(raw or b"null")
    except ValueError as err:
        raise ApiError(400, "BadRequest", f"error decoding patch: {err}") from None
    if patch_type == JSON_PATCH:
        try:
            return _json_patch(current, patch)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
            raise ApiError(422, "Invalid", str(err)) from None  # jsonpatch errors: 422
    if not isinstance(patch, dict):
        raise ApiError(400, "BadRequest", "error decoding patch: not a JSON object")
    return _strategic(current, patch) if patch_type == STRATEGIC else _merge(current, patch)
