"""Conventions every simulated BIG-IP object shares: paths, links, kinds, times, error bodies.

iControl REST names an object by its full path (`/Partition/name`, or
`/Partition/folder/name` for objects inside an AS3 application / iApp folder),
writes it in URLs with `/` replaced by `~` and `%` (route domains) encoded as
`%25`, and points every link at `https://localhost` with `?ver=<TMOS version>`
appended (research/f5.md §2.0).  Kinds are derived from the collection path
(`ltm/pool` → `tm:ltm:pool:poolstate` / `tm:ltm:pool:poolcollectionstate`).

Error bodies come in two shapes (research/f5.md §1.3): restjavad's
`{code, message, referer, restOperationId, kind: ":resterrorresponse"}` and icrd's
`{code, message, errorStack, apiError}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LOCALHOST = "https://localhost"
TM_PREFIX = f"{LOCALHOST}/mgmt/tm/"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SEGMENT = re.compile(r"^[^/\s~]+$")


@dataclass(frozen=True, slots=True)
class ObjPath:
    """`/k8s/Shared/x` → partition `k8s`, sub_path `Shared`, name `x`."""

    partition: str
    sub_path: str | None
    name: str

    @property
    def full(self) -> str:
        middle = f"/{self.sub_path}" if self.sub_path else ""
        return f"/{self.partition}{middle}/{self.name}"

    @property
    def encoded(self) -> str:
        return encode_path(self.full)

    @staticmethod
    def parse(text: str) -> ObjPath:
        """Raise ValueError unless `text` is `/Partition/name` or `/Partition/folder(s)/name`."""
        parts = text.split("/")
        if len(parts) < 3 or parts[0] != "" or not all(_SEGMENT.match(p) for p in parts[1:]):
            raise ValueError(
                f'"{text}" is not a BIG-IP path (/Partition/name or /Partition/folder/name)'
            )
        sub = "/".join(parts[2:-1]) or None
        return ObjPath(parts[1], sub, parts[-1])


def encode_path(full_path: str) -> str:
    """`/k8s/Shared/x` → `~k8s~Shared~x`; `%` → `%25` (f5-ansible `transform_name`)."""
    return full_path.replace("/", "~").replace("%", "%25")


def link(path: str, version: str) -> str:
    """The absolute link of a REST path below /mgmt/tm (`ltm/pool/~Common~p`)."""
    return f"{TM_PREFIX}{path}?ver={version}"


def reference(path: str, version: str) -> dict[str, Any]:
    return {"link": link(path, version)}


def sub_reference(path: str, version: str) -> dict[str, Any]:
    return {"link": link(path, version), "isSubcollection": True}


def _kind_base(collection: str) -> str:
    parts = [p for p in collection.split("/") if not p.startswith("~")]
    return "tm:" + ":".join(parts) + ":" + parts[-1]


def item_kind(collection: str) -> str:
    """`ltm/pool/~P~p/members` → `tm:ltm:pool:members:membersstate`."""
    return _kind_base(collection) + "state"


def collection_kind(collection: str) -> str:
    return _kind_base(collection) + "collectionstate"


def stats_kind(path: str) -> str:
    """`cm/sync-status` → `tm:cm:sync-status:sync-statusstats`."""
    return _kind_base(path) + "stats"


def header(collection: str, obj: ObjPath, version: str) -> dict[str, Any]:
    """The leading keys of every configuration object, in BIG-IP's order."""
    out: dict[str, Any] = {
        "kind": item_kind(collection),
        "name": obj.name,
        "partition": obj.partition,
    }
    if obj.sub_path:
        out["subPath"] = obj.sub_path
    out["fullPath"] = obj.full
    out["generation"] = 1
    out["selfLink"] = link(f"{collection}/{obj.encoded}", version)
    return out


def iso_time(moment: datetime) -> str:
    """`2019-10-10T14:15:29Z`, the form of createTime / creationTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_time(moment: datetime) -> str:
    """OpenSSL's `Oct  7 14:15:29 2029 GMT` (day padded with a space)."""
    m = moment.astimezone(UTC)
    return f"{_MONTHS[m.month - 1]} {m.day:2d} {m:%H:%M:%S} {m.year} GMT"


def restjavad_error(code: int, message: str, referer: str, operation_id: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "referer": referer,
        "restOperationId": operation_id,
        "kind": ":resterrorresponse",
    }


def icrd_error(code: int, message: str, api_error: int) -> dict[str, Any]:
    return {"code": code, "message": message, "errorStack": [], "apiError": api_error}
