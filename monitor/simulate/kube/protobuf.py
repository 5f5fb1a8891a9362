"""The apiserver's protobuf request encoding, read far enough for a SelfSubjectAccessReview.

kubectl (client-go's typed clients) posts SelfSubjectAccessReviews as
`application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a `runtime.Unknown`
(`typeMeta` = 1 {apiVersion = 1, kind = 2}, `raw` = 2) whose `raw` is the review
(`spec` = 2 {`resourceAttributes` = 1 {namespace 1, verb 2, group 3, version 4, resource 5,
subresource 6, name 7}, `nonResourceAttributes` = 2 {path 1, verb 2}}), field numbers
from `k8s.io/api/authorization/v1/generated.proto`. `review_from_protobuf` turns it into
the JSON document `review` answers; anything malformed is 400, as a decode error is.
"""

from __future__ import annotations

from typing import Any

from monitor.simulate.kube.status import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_RESOURCE = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
_NON_RESOURCE = ("path", "verb")
_MAX_DEPTH = 8


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of one message by number (the last one wins)."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            out[number] = data[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _strings(data: bytes, names: tuple[str, ...]) -> dict[str, str]:
    fields = _fields(data)
    return {name: fields[i + 1].decode() for i, name in enumerate(names) if i + 1 in fields}


def review_from_protobuf(body: bytes) -> dict[str, Any]:
    """A protobuf SelfSubjectAccessReview as its JSON document; 400 when malformed."""
    try:
        if not body.startswith(MAGIC):
            raise ValueError("missing the k8s protobuf magic")
        unknown = _fields(body[len(MAGIC) :])
        type_meta = _strings(unknown.get(1, b""), ("apiVersion", "kind"))
        review = _fields(unknown.get(2, b""))
        spec_fields = _fields(review.get(2, b""))
        spec: dict[str, Any] = {}
        if 1 in spec_fields:
            spec["resourceAttributes"] = _strings(spec_fields[1], _RESOURCE)
        if 2 in spec_fields:
            spec["nonResourceAttributes"] = _strings(spec_fields[2], _NON_RESOURCE)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, "BadRequest", f"unable to decode protobuf body: {err}") from None
    return {**type_meta, "spec": spec}
