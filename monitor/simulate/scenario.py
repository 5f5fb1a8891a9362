"""Scenario documents: loading, the certificate section, the timeline and patches.

A scenario is one YAML document describing both sides of the simulated world
(docs/scenario.md).  This module reads the parts that are not specific to either
side: the top level, the `certificates` section, the `timeline` (patches on the
document itself and faults), and the JSON-Pointer patch engine with its
`key=value` list selector.  The BIG-IP and Kubernetes sections are read by their
own renderers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.config import strictyaml
from monitor.simulate.certgen import KEY_TYPES, CertSpec
from monitor.simulate.faults import Fault
from monitor.simulate.spec import Node, ScenarioError

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "seed",
    "certificates",
    "bigip",
    "kubernetes",
    "timeline",
    "expected",
    "identityProviders",
)
CERT_KEYS = (
    "cn",
    "sans",
    "key",
    "signer",
    "ca",
    "pathLen",
    "notBefore",
    "notAfter",
    "signatureHash",
    "organization",
    "eku",
)
_AT = re.compile(r"^(\d+)(ms|s|m|h)$")
_AT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True, slots=True)
class PatchOp:
    op: str  # add | replace | remove
    path: str
    value: Any
    where: str  # scenario path of this operation, for error messages


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: timedelta
    description: str
    patch: tuple[PatchOp, ...]
    fault: Fault | None
    where: str


def load_document(path: Path) -> dict[str, Any]:
    """Read a scenario file into a plain dict; every failure is a ScenarioError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError("", f"cannot read scenario {path}: {err.strerror or err}") from None
    try:
        data = strictyaml.load(text)
    except strictyaml.YamlError as err:
        raise ScenarioError(err.path, err.message) from None
    if not isinstance(data, dict):
        raise ScenarioError("", f"{path}: a scenario must be a YAML mapping")
    Node(data).mapping(TOP_LEVEL_KEYS)
    Node(data).require("name").text()
    return data


def cert_specs(doc: Mapping[str, Any]) -> dict[str, CertSpec]:
    """The `certificates` section as CertSpecs (signers are checked when generating)."""
    section = Node(doc).get("certificates", {})
    specs: dict[str, CertSpec] = {}
    for cert_id, raw in section.mapping().items():
        node = Node(raw, section.child_path(str(cert_id)))
        node.mapping(CERT_KEYS)
        eku = node.get("eku")
        specs[str(cert_id)] = CertSpec(
            id=str(cert_id),
            cn=node.require("cn").text(),
            sans=node.get("sans").texts(),
            key=node.get("key").choice(KEY_TYPES, "ecdsa-p256"),
            signer=node.get("signer").opt_text(),
            ca=node.get("ca").boolean(False),
            path_len=None if node.get("pathLen").value is None else node.get("pathLen").integer(),
            not_before=node.get("notBefore").text("-1d"),
            not_after=node.get("notAfter").text("+365d"),
            signature_hash=node.get("signatureHash").choice(
                ("sha256", "sha384", "sha512"), "sha256"
            ),
            organization=node.get("organization").opt_text(),
            eku=None if eku.value is None else eku.texts(),
        )
    for cert_id, spec in specs.items():
        if spec.signer is not None and spec.signer not in specs:
            raise ScenarioError(
                f"certificates.{cert_id}.signer", f'unknown certificate "{spec.signer}"'
            )
    return specs


def parse_at(node: Node) -> timedelta:
    text = node.text()
    m = _AT.match(text)
    if not m:
        raise node.fail(f'invalid time "{text}" (use e.g. 30s, 2m, 500ms)')
    return timedelta(seconds=int(m.group(1)) * _AT_SECONDS[m.group(2)])


def timeline(doc: Mapping[str, Any]) -> tuple[TimelineEvent, ...]:
    events = []
    for node in Node(doc).get("timeline").items():
        node.mapping(("at", "description", "patch", "fault"))
        ops = []
        for op_node in node.get("patch").items():
            op_node.mapping(("op", "path", "value"))
            op = op_node.require("op").choice(("add", "replace", "remove"))
            if op != "remove" and "value" not in op_node.mapping():
                raise op_node.fail(f"a {op} operation needs a value")
            ops.append(
                PatchOp(
                    op, op_node.require("path").text(), op_node.get("value").value, op_node.path
                )
            )
        fault_node = node.get("fault")
        fault = None if fault_node.value is None else Fault.parse(fault_node)
        if not ops and fault is None:
            raise node.fail("a timeline entry needs a patch or a fault")
        events.append(
            TimelineEvent(
                at=parse_at(node.require("at")),
                description=node.get("description").text(""),
                patch=tuple(ops),
                fault=fault,
                where=node.path,
            )
        )
    return tuple(sorted(events, key=lambda e: e.at))


def apply_patch(doc: Mapping[str, Any], ops: tuple[PatchOp, ...]) -> dict[str, Any]:
    """A new document with the operations applied (the input is not modified)."""
    out = copy.deepcopy(dict(doc))
    for op in ops:
        _apply_one(out, op)
    return out


def _segments(op: PatchOp) -> list[str]:
    """Split a JSON Pointer; a `[key=value]` segment may contain "/" (BIG-IP paths)."""
    if not op.path.startswith("/"):
        raise ScenarioError(f"{op.where}.path", f'"{op.path}" must start with "/"')
    segments: list[str] = []
    current = ""
    depth = 0
    for char in op.path[1:]:
        if char == "[" and not current:
            depth = 1
            continue
        if char == "]" and depth:
            depth = 0
            continue
        if char == "/" and not depth:
            segments.append(current)
            current = ""
            continue
        current += char
    if depth:
        raise ScenarioError(f"{op.where}.path", f'"{op.path}": "[" without a closing "]"')
    segments.append(current)
    return [seg.replace("~1", "/").replace("~0", "~") for seg in segments]


def _step(container: Any, seg: str, op: PatchOp, create: bool) -> Any:
    where = f"{op.where}.path"
    if isinstance(container, dict):
        if seg not in container:
            if create:
                return None
            raise ScenarioError(where, f'"{op.path}": no key "{seg}"')
        return container[seg]
    if isinstance(container, list):
        return container[_index(container, seg, op)]
    raise ScenarioError(where, f'"{op.path}": cannot descend into a {type(container).__name__}')


def _index(items: list[Any], seg: str, op: PatchOp) -> int:
    where = f"{op.where}.path"
    if "=" in seg:
        key, _, value = seg.partition("=")
        for i, item in enumerate(items):
            if isinstance(item, dict) and str(item.get(key)) == value:
                return i
        raise ScenarioError(where, f'"{op.path}": no list item with {key} = {value}')
    if seg.isdigit() and int(seg) < len(items):
        return int(seg)
    raise ScenarioError(where, f'"{op.path}": no list item "{seg}"')


def _apply_one(doc: dict[str, Any], op: PatchOp) -> None:
    segs = _segments(op)
    if not segs or segs == [""]:
        raise ScenarioError(f"{op.where}.path", "cannot patch the whole document")
    parent: Any = doc
    for seg in segs[:-1]:
        parent = _step(parent, seg, op, create=False)
    last = segs[-1]
    where = f"{op.where}.path"
    if isinstance(parent, dict):
        if op.op == "remove":
            if last not in parent:
                raise ScenarioError(where, f'"{op.path}": no key "{last}"')
            del parent[last]
        elif op.op == "replace" and last not in parent:
            raise ScenarioError(where, f'"{op.path}": no key "{last}" to replace (use add)')
        else:
            parent[last] = copy.deepcopy(op.value)
    elif isinstance(parent, list):
        if op.op == "add" and last == "-":
            parent.append(copy.deepcopy(op.value))
            return
        index = _index(parent, last, op)
        if op.op == "remove":
            del parent[index]
        elif op.op == "replace":
            parent[index] = copy.deepcopy(op.value)
        else:
            parent.insert(index, copy.deepcopy(op.value))
    else:
        raise ScenarioError(where, f'"{op.path}": cannot patch inside a {type(parent).__name__}')
