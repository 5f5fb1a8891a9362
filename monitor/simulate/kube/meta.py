"""Small shared pieces of the Kubernetes rendering: metadata, names, ids, references.

Owns the deterministic identifiers (uids from namespace/kind/name, ReplicaSet
hashes and pod suffixes in the alphabet Kubernetes uses for generated names),
timestamp formatting, certificate references by id with path-naming errors, and
the input dataclasses shared by the Linkerd and workload renderers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import get_close_matches
from typing import Any

import yaml

from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.spec import Node

_UID_NAMESPACE = uuid.UUID("6f1c1f0e-4d1b-4c59-9a55-5f2d6f6b2a10")
# k8s.io/apimachinery/pkg/util/rand: the alphabet of generated names (no vowels, no 0/1/3).
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def uid_for(namespace: str, kind: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{kind}/{name}"))


def safe_hash(material: Any, length: int) -> str:
    """A `length`-character name fragment derived from `material`."""
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    number = int.from_bytes(hashlib.sha256(blob).digest(), "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        out.append(_ALPHABET[digit])
    return "".join(out)


def generated_name(base: str, material: Any) -> str:
    """`<base><5 chars>` as names.SimpleNameGenerator makes it (base cut to 58 characters)."""
    return base[:58] + safe_hash(material, 5)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    out.update(extra)
    return out


def cert_ref(node: Node, certs: Mapping[str, GeneratedCert]) -> GeneratedCert:
    """The certificate a scenario names by id, or an error naming the path."""
    cert_id = node.text()
    if cert_id not in certs:
        hint = get_close_matches(cert_id, list(certs), n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise node.fail(f'unknown certificate "{cert_id}"{extra}')
    return certs[cert_id]


def cert_refs(node: Node, certs: Mapping[str, GeneratedCert]) -> tuple[GeneratedCert, ...]:
    return tuple(cert_ref(item, certs) for item in node.items())


def string_map(node: Node) -> dict[str, str]:
    """labels/annotations: a mapping of strings (numbers and booleans are refused, as kubectl)."""
    if node.value is None:
        return {}
    out: dict[str, str] = {}
    for key in node.mapping():
        out[str(key)] = Node(node.value[key], node.child_path(str(key))).text()
    return out


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_block(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _str_block)


def helm_yaml(values: Mapping[str, Any]) -> str:
    """YAML as Helm's toYaml writes it: sorted keys, block scalars for multi-line text."""
    return yaml.dump(dict(values), Dumper=_BlockDumper, sort_keys=True, default_flow_style=False)


@dataclass(frozen=True)
class ContainerPort:
    name: str | None
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class AppContainer:
    name: str
    image: str
    ports: tuple[ContainerPort, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PodInput:
    ip: str | None
    ready: bool = True
    node: str = "node-1"
    trust_anchors: tuple[GeneratedCert, ...] | None = None  # None: the mesh's bundle
    phase: str = "Running"
    terminating: bool = False


@dataclass(frozen=True)
class Workload:
    """A Deployment, rendered as its pods (and its ServiceAccount)."""

    namespace: str
    name: str
    service_account: str
    labels: Mapping[str, str]
    containers: tuple[AppContainer, ...]
    pods: tuple[PodInput, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    meshed: bool = False
    native_sidecar: bool = False
    ingress_mode: bool = False
    component: str | None = None  # a Linkerd control-plane component
    volumes: tuple[Mapping[str, Any], ...] = ()
    path: str = ""


@dataclass(frozen=True)
class ServicePort:
    name: str | None
    port: int
    target: int | str
    protocol: str = "TCP"
    node_port: int | None = None


@dataclass(frozen=True)
class ServiceInput:
    namespace: str
    name: str
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    type: str = "ClusterIP"
    cluster_ip: str | None = None  # None: allocated; "None": headless
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    publish_not_ready: bool = False
    path: str = ""
