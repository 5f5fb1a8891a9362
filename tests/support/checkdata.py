"""Test builders for the check tests: a healthy world, and small ways to bend it.

`config()` parses a real expected-state dict; `f5()` and `mesh()` build the observed state
of a world where every implemented check passes for the `shop` (mesh-tls, bigip-a and
bigip-b) and `web` (plaintext, bigip-a) boundaries; tests change one thing with
`dataclasses.replace` (or the keyword arguments here) and assert what the checks conclude.
Certificates are real (tests/support/certhelpers.py); `NOW` is the reference time of every test.

The healthy world's BIG-IPs present a client certificate for `BIGIP_ID` issued by the
identity issuer (chain: the issuer), parsed as if read through util/bash; the shop virtual
serves an edge certificate for `EDGE_NAME` from a public-style CA. The mesh's policy (built
from docs-shaped YAML with `monitor.policy.parse.mesh_policy`) admits `BIGIP_ID` to the shop's
ingress pods and only BIG-IP's SNAT network (192.0.2.0/24) to the plaintext web pods.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.certs import parse_f5_san
from monitor.checks import CHECKS, run_checks
from monitor.config.schema import Config, parse_config
from monitor.model import (
    CaBundle,
    CertKeyChain,
    CheckState,
    ClientSslProfile,
    Endpoint,
    F5State,
    Finding,
    Issuer,
    MeshState,
    Observed,
    Pool,
    PoolMember,
    ProfileRef,
    ProxyBundle,
    ServerSslProfile,
    ServiceEndpoints,
    SourceError,
    SourceStatus,
    SslCert,
    SyncStatus,
    Virtual,
)
from monitor.policy.model import MeshPolicy, PodInfo
from monitor.policy.parse import mesh_policy
from monitor.simulate.bigip.certs import san_text
from tests.support.certhelpers import (
    CLIENT_AUTH,
    SERVER_AUTH,
    T0,
    Issued,
    anchor,
    intermediate,
    key_for,
    leaf,
)

NOW = T0
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)

ANCHOR = anchor("root.linkerd.cluster.local", key=key_for("ec256", 11))
OLD_ANCHOR = anchor("root-old.linkerd.cluster.local", key=key_for("ec256", 12))
ISSUER = intermediate("identity.linkerd.cluster.local", ANCHOR, key=key_for("ec256", 13))

IDENTITY = "nginx-ingress.ingress.serviceaccount.identity.linkerd.cluster.local"
BIGIP_ID = "bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"
CLIENT_CERT = leaf(
    BIGIP_ID, ISSUER, eku=(CLIENT_AUTH,), not_after=NOW + 200 * DAY, key=key_for("ec256", 14)
)
CLIENT_CERT_PATH = "/Common/bigip-client.crt"
CLIENT_CHAIN_PATH = "/Common/bigip-client-chain.crt"

EDGE_NAME = "shop.example.com"
EDGE_ROOT = anchor("Example Edge Root CA", key=key_for("ec256", 15))
EDGE_ISSUING = intermediate("Example Edge Issuing CA", EDGE_ROOT, key=key_for("ec256", 16))
EDGE_CERT = leaf(
    EDGE_NAME,
    EDGE_ISSUING,
    dns=(EDGE_NAME, f"www.{EDGE_NAME}"),
    eku=(SERVER_AUTH,),
    key=key_for("ec256", 17),
)
SHOP_CLIENT_SSL = "/k8s/Shared/shop_443_clientssl"
EDGE_CERT_PATH = "/k8s/Shared/shop_443_cert.crt"
EDGE_CHAIN_PATH = "/k8s/Shared/shop_443_chain.crt"
SHOP_VIRTUAL = "/k8s/Shared/shop_443"
SHOP_POOL = "/k8s/Shared/shop_443_pool"
SHOP_PROFILE = "/k8s/Shared/shop_443_tls_client"
SHOP_BUNDLE = "/k8s/Shared/serverssl_ca_bundle"
WEB_VIRTUAL = "/k8s/Shared/web_80"
WEB_POOL = "/k8s/Shared/web_80_pool"

SHOP = {
    "name": "shop",
    "mode": "mesh-tls",
    "devices": ["bigip-a", "bigip-b"],
    "virtual": SHOP_VIRTUAL,
    "backend": {"service": {"namespace": "ingress", "name": "nginx-ingress", "port": 443}},
}
WEB = {
    "name": "web",
    "mode": "plaintext",
    "devices": ["bigip-a"],
    "virtual": WEB_VIRTUAL,
    "backend": {"service": {"namespace": "web", "name": "web", "port": "http"}},
}


def _device(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "url": f"https://{name}.example.net",
        "usernameFile": "secrets/username",
        "passwordFile": "secrets/password",
        "caFile": "bigip-ca.pem",
    }


def config(*boundaries: Mapping[str, Any], **sections: Any) -> Config:
    """A parsed config with devices bigip-a and bigip-b and the given boundaries
    (default: `shop` only); `sections` are further top-level keys (e.g. thresholds)."""
    data = {
        "bigip": [_device("bigip-a"), _device("bigip-b")],
        "boundaries": [dict(b) for b in boundaries] or [dict(SHOP)],
        **sections,
    }
    return parse_config(data, Path("."))


def shop(**changes: Any) -> dict[str, Any]:
    """The `shop` boundary with top-level keys changed (`backend` replaced whole)."""
    return {**SHOP, **changes}


def ssl_cert(
    issued: Issued,
    path: str,
    *,
    fingerprint: str | None = "auto",
    parsed: bool = False,
    san_field: bool = False,
) -> SslCert:
    """An ssl-cert (or bundle member) as BIG-IP shows it; `fingerprint=None` when BIG-IP did
    not say; `parsed` when its PEM was read (through util/bash), so `facts` is set;
    `san_field` when the object lists `subjectAlternativeName` (TMOS 14.1+, certificates
    with the extension), written as the simulated BIG-IP writes it."""
    facts = issued.facts
    text = san_text(issued.cert) if san_field else None
    return SslCert(
        path=path,
        is_bundle=False,
        fingerprint=facts.fingerprint_sha256 if fingerprint == "auto" else fingerprint,
        not_after=facts.not_after,
        subject=facts.subject,
        issuer=facts.issuer,
        facts=facts if parsed else None,
        alt_names=parse_f5_san(facts.subject, text) if text is not None else None,
    )


def bigip_certs() -> dict[str, SslCert]:
    """The ssl-cert objects of the healthy world that the profiles name (PEMs read)."""
    return {
        CLIENT_CERT_PATH: ssl_cert(CLIENT_CERT, CLIENT_CERT_PATH, parsed=True),
        CLIENT_CHAIN_PATH: ssl_cert(ISSUER, CLIENT_CHAIN_PATH, parsed=True),
        EDGE_CERT_PATH: ssl_cert(EDGE_CERT, EDGE_CERT_PATH, parsed=True),
        EDGE_CHAIN_PATH: ssl_cert(EDGE_ISSUING, EDGE_CHAIN_PATH, parsed=True),
    }


def client_ssl_profile(**changes: Any) -> ClientSslProfile:
    """The shop virtual's client-ssl profile: the edge certificate for `EDGE_NAME`."""
    base = ClientSslProfile(
        path=SHOP_CLIENT_SSL,
        cert_key_chain=(
            CertKeyChain("shop", EDGE_CERT_PATH, "/k8s/Shared/shop_443.key", EDGE_CHAIN_PATH),
        ),
        server_name=EDGE_NAME,
        sni_default=True,
    )
    return dataclasses.replace(base, **changes)


def bundle(*members: SslCert, path: str = SHOP_BUNDLE) -> CaBundle:
    return CaBundle(path=path, members=members, reader="ca-bundle-manager")


def profile(**changes: Any) -> ServerSslProfile:
    base = ServerSslProfile(
        path=SHOP_PROFILE,
        ca_file=SHOP_BUNDLE,
        peer_cert_mode="require",
        server_name=IDENTITY,
        authenticate_name=IDENTITY,
        expire_cert_response_control="drop",
        untrusted_cert_response_control="drop",
        tm_options=("dont-insert-empty-fragments",),
        cert=CLIENT_CERT_PATH,
        key="/Common/bigip-client.key",
        chain=CLIENT_CHAIN_PATH,
    )
    return dataclasses.replace(base, **changes)


def member(address: str, port: int) -> PoolMember:
    return PoolMember(
        address=address,
        port=port,
        name=f"{address}:{port}",
        partition="k8s",
        session="monitor-enabled",
        state="up",
    )


def pool(path: str, *endpoints: tuple[str, int]) -> Pool:
    return Pool(path=path, members=tuple(member(a, p) for a, p in endpoints))


def shop_virtual(**changes: Any) -> Virtual:
    base = Virtual(
        path=SHOP_VIRTUAL,
        destination="/k8s/192.0.2.10:443",
        enabled=True,
        pool=SHOP_POOL,
        profiles=(
            ProfileRef("/Common/tcp", "all", "tcp"),
            ProfileRef(SHOP_CLIENT_SSL, "clientside", "client-ssl"),
            ProfileRef(SHOP_PROFILE, "serverside", "server-ssl"),
        ),
    )
    return dataclasses.replace(base, **changes)


WEB_VIRTUAL_OBJ = Virtual(
    path=WEB_VIRTUAL,
    destination="/k8s/192.0.2.11:80",
    enabled=True,
    pool=WEB_POOL,
    profiles=(ProfileRef("/Common/tcp", "all", "tcp"),),
)

SHOP_MEMBERS = (("10.42.0.11", 443), ("10.42.0.12", 443))
WEB_MEMBERS = (("10.42.1.5", 80),)


def f5(name: str = "bigip-a", **changes: Any) -> F5State:
    """A device that holds the healthy shop and web objects; `changes` replace fields."""
    base = F5State(
        device=name,
        virtuals={SHOP_VIRTUAL: shop_virtual(), WEB_VIRTUAL: WEB_VIRTUAL_OBJ},
        pools={SHOP_POOL: pool(SHOP_POOL, *SHOP_MEMBERS), WEB_POOL: pool(WEB_POOL, *WEB_MEMBERS)},
        server_ssl={SHOP_PROFILE: profile()},
        client_ssl={SHOP_CLIENT_SSL: client_ssl_profile()},
        certs=bigip_certs(),
        bundles={SHOP_BUNDLE: bundle(ssl_cert(ANCHOR, "/Common/linkerd-anchor.crt"))},
        sync=IN_SYNC,  # defined with the HA helpers below
    )
    return dataclasses.replace(base, **changes)


def endpoint(
    address: str,
    port: int,
    *,
    ready: bool = True,
    sa: str | None = "nginx-ingress",
    namespace: str = "ingress",
    meshed: bool | None = True,
) -> Endpoint:
    return Endpoint(
        address=address,
        port=port,
        ready=ready,
        pod=f"{namespace}/pod-{address.replace('.', '-').replace(':', '-')}",
        service_account=sa,
        meshed=meshed,
    )


def service(namespace: str, name: str, port: str, *endpoints: Endpoint) -> ServiceEndpoints:
    return ServiceEndpoints(namespace=namespace, name=name, port=port, endpoints=endpoints)


SHOP_SERVICE = service(
    "ingress", "nginx-ingress", "443", *(endpoint(a, p) for a, p in SHOP_MEMBERS)
)
WEB_SERVICE = service(
    "web", "web", "http", *(endpoint(a, p, sa="web", namespace="web") for a, p in WEB_MEMBERS)
)


def proxy(pod: str, *anchors: Issued) -> ProxyBundle:
    """The bundle frozen into the proxy of `pod` ("namespace/name"): `anchors`, in order."""
    return ProxyBundle(pod=pod, anchors=tuple(a.facts.fingerprint_sha256 for a in anchors))


def healthy_proxies() -> tuple[ProxyBundle, ...]:
    """Every backend pod of the healthy world, its proxy carrying the current bundle."""
    return tuple(
        proxy(f"{svc.namespace}/{e.pod.partition('/')[2]}", ANCHOR)
        for svc in (SHOP_SERVICE, WEB_SERVICE)
        for e in svc.endpoints
        if e.pod
    )


def pod_of(endpoint: Endpoint, labels: Mapping[str, str], ports: Mapping[str, int]) -> PodInfo:
    """The `PodInfo` of the pod behind `endpoint` (meshed as the endpoint says)."""
    assert endpoint.pod is not None
    namespace, _, name = endpoint.pod.partition("/")
    return PodInfo(
        namespace=namespace,
        name=name,
        ip=endpoint.address,
        labels=dict(labels),
        service_account=endpoint.service_account or "default",
        meshed=endpoint.meshed is not False,
        container_ports=dict(ports),
    )


def healthy_pods() -> dict[str, PodInfo]:
    """The pods behind both backend Services, labelled as their Servers select them."""
    pods = [pod_of(e, {"app": "nginx-ingress"}, {"https": 443}) for e in SHOP_SERVICE.endpoints]
    pods += [pod_of(e, {"app": "web"}, {"http": 80}) for e in WEB_SERVICE.endpoints]
    return {p.key: p for p in pods}


HEALTHY_POLICY = f"""
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {{namespace: ingress, name: nginx-https}}
spec: {{podSelector: {{matchLabels: {{app: nginx-ingress}}}}, port: https, proxyProtocol: opaque}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {{namespace: ingress, name: f5-edge}}
spec: {{identities: ["{BIGIP_ID}"]}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {{namespace: ingress, name: from-f5}}
spec:
  targetRef: {{group: policy.linkerd.io, kind: Server, name: nginx-https}}
  requiredAuthenticationRefs:
  - {{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: f5-edge}}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {{namespace: web, name: web-http}}
spec: {{podSelector: {{matchLabels: {{app: web}}}}, port: http}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {{namespace: web, name: f5-snat}}
spec: {{networks: [{{cidr: 192.0.2.0/24}}]}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {{namespace: web, name: f5-plaintext}}
spec:
  targetRef: {{group: policy.linkerd.io, kind: Server, name: web-http}}
  requiredAuthenticationRefs:
  - {{group: policy.linkerd.io, kind: NetworkAuthentication, name: f5-snat}}
"""


def policy_from(text: str, default: str = "all-unauthenticated") -> MeshPolicy:
    """A `MeshPolicy` from docs-shaped YAML objects and a cluster default inbound policy."""
    values = {"proxy": {"defaultInboundPolicy": default}}
    policy, problems = mesh_policy(list(yaml.safe_load_all(text)), values=values)
    assert problems == (), problems
    return policy


HEALTHY_MESH_POLICY = policy_from(HEALTHY_POLICY)


def mesh(**changes: Any) -> MeshState:
    """The healthy mesh: one anchor (also in linkerd-config values), its issuer, both
    backend Services, their pods (proxies on the current bundle) and their policy."""
    base = MeshState(
        anchors=(ANCHOR.facts,),
        issuer=Issuer(scheme="linkerd.io/tls", cert=ISSUER.facts, chain=()),
        services={"ingress/nginx-ingress": SHOP_SERVICE, "web/web": WEB_SERVICE},
        linkerd_version="stable-2.14.10",
        config_anchors=(ANCHOR.facts,),
        external_ca=False,
        proxies=healthy_proxies(),
        pods=healthy_pods(),
        policy=HEALTHY_MESH_POLICY,
        # what the policy names exists: BIG-IP's ServiceAccount, pods for both Servers
        service_accounts={"f5-edge": frozenset({"default", "bigip"})},
        server_pods={"ingress/nginx-https": 2, "web/web-http": 1},
    )
    return dataclasses.replace(base, **changes)


def observed(
    devices: Iterable[F5State] | None = None,
    mesh_state: MeshState | None = None,
    errors: Mapping[str, tuple[SourceError, ...]] | None = None,
) -> Observed:
    """An observation of `devices` (default: healthy bigip-a and bigip-b) and `mesh_state`.

    Every configured device gets a source status: up unless it is missing from `devices`
    or has `errors`."""
    states = list(devices) if devices is not None else [f5("bigip-a"), f5("bigip-b")]
    errors = errors or {}
    by_name = {s.device: s for s in states}
    sources = [
        SourceStatus(
            name, "bigip", up=name in by_name and not errors.get(name), errors=errors.get(name, ())
        )
        for name in ("bigip-a", "bigip-b")
    ]
    sources.append(
        SourceStatus("kubernetes", "kubernetes", up=True, errors=errors.get("kubernetes", ()))
    )
    return Observed(
        f5=by_name, mesh=mesh_state if mesh_state is not None else mesh(), sources=tuple(sources)
    )


def run_one(
    check: str, obs: Observed, cfg: Config | None = None, now: datetime = NOW
) -> tuple[CheckState, tuple[Finding, ...]]:
    """Run one check for the single boundary of `cfg` (default: shop)."""
    cfg = cfg or config()
    assert len(cfg.boundaries) == 1
    chosen = tuple(c for c in CHECKS if c.id == check)
    assert len(chosen) == 1, check
    result = run_checks(cfg, obs, now, checks=chosen)
    assert len(result.states) == 1
    return result.states[0], result.findings


# --- HA (the healthy world above is in sync; it has no haGroup) ---------------------------

HA_GROUP = "edge-pair-1"
IN_SYNC = SyncStatus(
    color="green",
    status="In Sync",
    mode="high-availability",
    summary="All devices in the device group are in sync",
    details=(
        "bigip-a.example.net: connected",
        "bigip-b.example.net: connected",
        "datasync-global-dg (In Sync): All devices in the device group are in sync",
        "device_trust_group (In Sync): All devices in the device group are in sync",
        "edge-sync-failover (In Sync): All devices in the device group are in sync",
    ),
)


def ha_config(*boundaries: Mapping[str, Any], groups: Mapping[str, str] | None = None) -> Config:
    """Like `config()`, with the devices in haGroups: `groups` maps device → haGroup
    (default: bigip-a and bigip-b both in `HA_GROUP`; a device left out has none)."""
    groups = {"bigip-a": HA_GROUP, "bigip-b": HA_GROUP} if groups is None else groups
    devices = []
    for name in ("bigip-a", "bigip-b"):
        entry = _device(name)
        if name in groups:
            entry["haGroup"] = groups[name]
        devices.append(entry)
    return config(*boundaries, bigip=devices)
