"""The Linkerd install a scenario describes: `kubernetes.linkerd`, parsed.

Owns the parsed install (`LinkerdInstall`: release, anchors, issuer and scheme,
cert-manager, trust domain), the bundle text rules (what the trust-roots ConfigMap
and the injector hold, per version: research/linkerd.md §1.1–1.2), and the control
plane as Deployments and Services (identity, destination, proxy-injector), which
`pods` and `services` render like any workload.  The install's other objects
are rendered by `controlplane`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.kube.meta import (
    AppContainer,
    ContainerPort,
    PodInput,
    ServiceInput,
    ServicePort,
    Workload,
    cert_ref,
    cert_refs,
)
from monitor.simulate.kube.releases import LinkerdRelease, parse_release
from monitor.simulate.spec import Node

SCHEMES = ("linkerd.io/tls", "kubernetes.io/tls")
POLICIES = (
    "all-unauthenticated",
    "all-authenticated",
    "cluster-authenticated",
    "cluster-unauthenticated",
    "deny",
    "audit",
)
CLUSTER_NETWORKS = "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16"
TRUST_ROOTS = "linkerd-identity-trust-roots"
ISSUER = "linkerd-identity-issuer"
CONTROL_PLANE_IPS = ("10.42.255.2", "10.42.255.3", "10.42.255.4")
_KEYS = (
    "version", "namespace", "trustDomain", "anchors", "configAnchors", "externalCA", "issuer",
    "certManager", "defaultInboundPolicy", "cniEnabled",
)  # fmt: skip
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@dataclass(frozen=True)
class CertManager:
    duration: timedelta
    renew_before: timedelta
    # the certificates of the earlier issuances, oldest first (the current one is the issuer)
    history: tuple[GeneratedCert, ...] = ()
    revision_history_limit: int | None = 1  # cert-manager's default since v1.18; None: all

    @property
    def revision(self) -> int:
        """The Certificate's `status.revision`: one per issuance."""
        return len(self.history) + 1


@dataclass(frozen=True)
class LinkerdInstall:
    release: LinkerdRelease
    namespace: str
    trust_domain: str
    anchors: tuple[GeneratedCert, ...]
    config_anchors: tuple[GeneratedCert, ...]
    external_ca: bool
    scheme: str
    issuer: GeneratedCert
    chain: tuple[GeneratedCert, ...]
    ca_cert: GeneratedCert
    cert_manager: CertManager | None
    default_inbound_policy: str
    cni: bool
    published_config_map: str | None = None  # a ConfigMap publishing the issuer certificate

    @property
    def version(self) -> str:
        return self.release.text

    @property
    def values_anchors_text(self) -> str:
        """`identityTrustAnchorsPEM` as installed: the PEM file, trailing newline included."""
        return "".join(c.pem for c in self.config_anchors)

    def bundle_text(self, anchors: tuple[GeneratedCert, ...] | None = None) -> str:
        """The bundle text the injector copies into proxies (and the trust-roots ConfigMap).

        2.10 has no trust-roots ConfigMap: the injector (and the chart, for the control
        plane) takes `identityTrustAnchorsPEM` from the values, i.e. `configAnchors`.
        """
        if not self.release.trust_roots_configmap:
            return "".join(c.pem for c in (self.config_anchors if anchors is None else anchors))
        text = "".join(c.pem for c in (self.anchors if anchors is None else anchors))
        if self.external_ca or self.release.bundle_trailing_newline:
            return text
        return text.rstrip("\n")

    def identity(self, service_account: str, namespace: str) -> str:
        ns, td = self.namespace, self.trust_domain
        return f"{service_account}.{namespace}.serviceaccount.identity.{ns}.{td}"


def go_duration(delta: timedelta) -> str:
    """metav1.Duration as the API returns it (`25h0m0s`)."""
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def _duration(node: Node, default: str) -> timedelta:
    text = node.text(default)
    m = _DURATION.match(text)
    if not text or not m:
        raise node.fail(f'expected a duration like 48h or 25h0m0s, got "{text}"')
    h, mi, s = (int(g or 0) for g in m.groups())
    return timedelta(hours=h, minutes=mi, seconds=s)


def _history_limit(cm_node: Node) -> int | None:
    """`revisionHistoryLimit`: 1 when left out (cert-manager's default since v1.18), null
    to keep every request (before v1.18), or at least 1 (cert-manager's webhook)."""
    if "revisionHistoryLimit" not in cm_node.mapping():
        return 1
    node = cm_node.get("revisionHistoryLimit")
    if node.value is None:
        return None
    limit = node.integer()
    if limit < 1:
        raise node.fail("revisionHistoryLimit must be 1 or more (cert-manager's webhook)")
    return limit


def parse_linkerd(node: Node, certs: Mapping[str, GeneratedCert]) -> LinkerdInstall | None:
    if node.value is None:
        return None
    node.mapping(_KEYS)
    release = parse_release(node.require("version"))
    anchors = cert_refs(node.require("anchors"), certs)
    if not anchors:
        raise node.get("anchors").fail("at least one trust anchor is required")
    config_node = node.get("configAnchors")
    config_anchors = anchors if config_node.value is None else cert_refs(config_node, certs)
    issuer_node = node.require("issuer")
    issuer_node.mapping(("scheme", "cert", "chain", "caCert", "publishedConfigMap"))
    scheme = issuer_node.get("scheme").choice(SCHEMES, "linkerd.io/tls")
    ca_node = issuer_node.get("caCert")
    if ca_node.value is not None and scheme != "kubernetes.io/tls":
        raise ca_node.fail("caCert is only written with the kubernetes.io/tls scheme")
    external_ca = node.get("externalCA").boolean(False)
    if external_ca and not release.trust_roots_configmap:
        raise node.get("externalCA").fail(
            f"Linkerd {release.text} has no linkerd-identity-trust-roots ConfigMap (2.11+)"
        )
    cm_node = node.get("certManager")
    cert_manager = None
    if cm_node.value is not None:
        cm_node.mapping(("renewBefore", "duration", "history", "revisionHistoryLimit"))
        if scheme != "kubernetes.io/tls":
            raise cm_node.fail(
                "cert-manager writes a kubernetes.io/tls Secret: "
                "set issuer.scheme: kubernetes.io/tls"
            )
        cert_manager = CertManager(
            duration=_duration(cm_node.get("duration"), "48h"),
            renew_before=_duration(cm_node.get("renewBefore"), "25h"),
            history=cert_refs(cm_node.get("history"), certs),
            revision_history_limit=_history_limit(cm_node),
        )
    return LinkerdInstall(
        release=release,
        namespace=node.get("namespace").text("linkerd"),
        trust_domain=node.get("trustDomain").text("cluster.local"),
        anchors=anchors,
        config_anchors=config_anchors,
        external_ca=external_ca,
        scheme=scheme,
        issuer=cert_ref(issuer_node.require("cert"), certs),
        chain=cert_refs(issuer_node.get("chain"), certs),
        ca_cert=anchors[0] if ca_node.value is None else cert_ref(ca_node, certs),
        cert_manager=cert_manager,
        default_inbound_policy=node.get("defaultInboundPolicy").choice(
            POLICIES, "all-unauthenticated"
        ),
        cni=node.get("cniEnabled").boolean(False),
        published_config_map=issuer_node.get("publishedConfigMap").text("") or None,
    )


def created_by(install: LinkerdInstall) -> dict[str, str]:
    return {"linkerd.io/created-by": f"linkerd/helm {install.version}"}


def component_labels(install: LinkerdInstall, component: str) -> dict[str, str]:
    return {
        "linkerd.io/control-plane-component": component,
        "linkerd.io/control-plane-ns": install.namespace,
    }


def control_plane(install: LinkerdInstall) -> tuple[list[Workload], list[ServiceInput]]:
    """The identity, destination and proxy-injector Deployments and their Services."""
    ns, v, minor = install.namespace, install.version, install.release.minor
    ctrl = f"cr.l5d.io/linkerd/controller:{v}"

    def port(name: str, number: int) -> ContainerPort:
        return ContainerPort(name, number)

    trust_volume = {"name": "trust-roots", "configMap": {"name": TRUST_ROOTS}}
    identity_ports = (port("grpc", 8080), port("admin-http", 9990))
    identity_env: tuple[tuple[str, str], ...] = ()
    if minor == 10:  # 2.10: the identity controller's anchors come from its env (base64)
        pems = "".join(c.pem for c in install.anchors).encode()
        identity_env = (("LINKERD2_IDENTITY_TRUST_ANCHORS", base64.b64encode(pems).decode()),)
    identity_volumes: list[Mapping[str, Any]] = [
        {"name": "identity-issuer", "secret": {"secretName": ISSUER}}
    ]
    if minor >= 11:
        identity_volumes.append(trust_volume)
    destination = [
        AppContainer("destination", ctrl, (port("grpc", 8086), port("admin-http", 9996))),
        AppContainer("sp-validator", ctrl, (port("sp-validator", 8443), port("admin-http", 9997))),
    ]
    if minor >= 11:
        policy_image = f"cr.l5d.io/linkerd/policy-controller:{v}"
        policy_ports = (port("grpc", 8090), port("admin-http", 9990), port("policy-https", 9443))
        destination.append(AppContainer("policy", policy_image, policy_ports))
    specs: tuple[tuple[str, list[AppContainer], list[Mapping[str, Any]]], ...] = (
        (
            "identity",
            [AppContainer("identity", ctrl, identity_ports, env=identity_env)],
            identity_volumes,
        ),
        ("destination", destination, []),
        (
            "proxy-injector",
            [
                AppContainer(
                    "proxy-injector", ctrl, (port("proxy-injector", 8443), port("admin-http", 9995))
                )
            ],
            [trust_volume] if minor >= 11 else [],
        ),
    )
    workloads = [
        Workload(
            namespace=ns,
            name=f"linkerd-{component}",
            service_account=f"linkerd-{component}",
            labels=component_labels(install, component),
            containers=tuple(containers),
            pods=(PodInput(ip=ip, node="node-1"),),
            meshed=True,
            component=component,
            volumes=tuple(volumes),
            path="kubernetes.linkerd",
        )
        for (component, containers, volumes), ip in zip(specs, CONTROL_PLANE_IPS, strict=True)
    ]

    def svc(
        name: str,
        component: str,
        number: int,
        target: int | str,
        headless: bool = False,
        port_name: str = "grpc",
    ) -> ServiceInput:
        return ServiceInput(
            namespace=ns,
            name=name,
            selector={"linkerd.io/control-plane-component": component},
            ports=(ServicePort(port_name, number, target),),
            cluster_ip="None" if headless else None,
            labels=component_labels(install, component),
            annotations=created_by(install),
            path="kubernetes.linkerd",
        )

    services = [
        svc("linkerd-identity", "identity", 8080, 8080),
        svc("linkerd-identity-headless", "identity", 8080, 8080, headless=True),
        svc("linkerd-dst", "destination", 8086, 8086),
        svc("linkerd-dst-headless", "destination", 8086, 8086, headless=True),
        svc(
            "linkerd-proxy-injector",
            "proxy-injector",
            443,
            "proxy-injector",
            port_name="proxy-injector",
        ),
    ]
    if minor >= 11:
        services.insert(4, svc("linkerd-policy", "destination", 8090, 8090, headless=True))
    return workloads, services
