"""What Linkerd's proxy injector (or the chart, for the control plane) adds to a pod.

Owns the `linkerd-proxy` container (env, ports, probes; a sidecar, or with native
sidecars an init container with `restartPolicy: Always`), the `linkerd-init`
container, the identity volumes, and the injected labels and annotations
(research/linkerd.md §3.3).  The trust bundle is frozen into the proxy's env
`LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS` as the exact text the injector read, and
`linkerd.io/trust-root-sha256` is the SHA-256 of that text (2.12.1+).  Control-plane
proxies read the bundle through `configMapKeyRef` instead (2.11+).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.simulate.kube.linkerd import CLUSTER_NETWORKS, TRUST_ROOTS, LinkerdInstall
from monitor.simulate.kube.meta import Workload

OPAQUE_PORTS = "25,587,3306,4444,5432,6379,9300,11211"
PROXY_UID = 2102


def _field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def _env(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def _probe(path: str, delay: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": 4191, "scheme": "HTTP"},
        "initialDelaySeconds": delay,
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


def _trust_env(install: LinkerdInstall, workload: Workload, bundle: str) -> dict[str, Any]:
    name = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS"
    if workload.component is not None and install.release.trust_roots_configmap:
        ref = {"name": TRUST_ROOTS, "key": "ca-bundle.crt"}
        return {"name": name, "valueFrom": {"configMapKeyRef": ref}}
    return _env(name, bundle)


def proxy_container(
    install: LinkerdInstall, workload: Workload, bundle: str, native: bool
) -> dict[str, Any]:
    ns, td, minor = install.namespace, install.trust_domain, install.release.minor
    svc = f"serviceaccount.identity.{ns}.{td}"
    policy = install.default_inbound_policy
    if workload.component == "identity":
        policy = "all-unauthenticated"
    ports = sorted({p.port for c in workload.containers for p in c.ports})
    env: list[dict[str, Any]] = [_field("_pod_name", "metadata.name")]
    env.append(_field("_pod_ns", "metadata.namespace"))
    if minor >= 13:
        env.append(_field("_pod_nodeName", "spec.nodeName"))
    dns_log = "hickory=error" if minor >= 15 else "trust_dns=error"
    env += [
        _env("LINKERD2_PROXY_LOG", f"warn,linkerd=info,{dns_log}"),
        _env("LINKERD2_PROXY_LOG_FORMAT", "plain"),
        _env("LINKERD2_PROXY_DESTINATION_SVC_ADDR", f"linkerd-dst-headless.{ns}.svc.{td}.:8086"),
        _env("LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS", CLUSTER_NETWORKS),
    ]
    if minor >= 11:
        workload_env = (
            '{"ns":"$(_pod_ns)", "pod":"$(_pod_name)"}\n'
            if minor >= 15
            else "$(_pod_ns):$(_pod_name)"
        )
        env += [
            _env("LINKERD2_PROXY_POLICY_SVC_ADDR", f"linkerd-policy.{ns}.svc.{td}.:8090"),
            _env("LINKERD2_PROXY_POLICY_WORKLOAD", workload_env),
            _env("LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", policy),
            _env("LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS", CLUSTER_NETWORKS),
        ]
    env += [
        _env("LINKERD2_PROXY_CONTROL_LISTEN_ADDR", "0.0.0.0:4190"),
        _env("LINKERD2_PROXY_ADMIN_LISTEN_ADDR", "0.0.0.0:4191"),
        _env("LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR", "127.0.0.1:4140"),
        _env("LINKERD2_PROXY_INBOUND_LISTEN_ADDR", "0.0.0.0:4143"),
        _field("LINKERD2_PROXY_INBOUND_IPS", "status.podIPs"),
    ]
    if ports:
        env.append(_env("LINKERD2_PROXY_INBOUND_PORTS", ",".join(str(p) for p in ports)))
    context = (
        '{"ns":"$(_pod_ns)", "nodeName":"$(_pod_nodeName)", "pod":"$(_pod_name)"}\n'
        if minor >= 13
        else '{"ns":"$(_pod_ns)", "pod":"$(_pod_name)"}\n'
    )
    env += [
        _env("LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES", f"svc.{td}."),
        _env("LINKERD2_PROXY_INBOUND_ACCEPT_KEEPALIVE", "10000ms"),
        _env("LINKERD2_PROXY_OUTBOUND_CONNECT_KEEPALIVE", "10000ms"),
        _env("LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION", OPAQUE_PORTS),
        _env("LINKERD2_PROXY_DESTINATION_CONTEXT", context),
        _field("_pod_sa", "spec.serviceAccountName"),
        _env("_l5d_ns", ns),
        _env("_l5d_trustdomain", td),
        _env("LINKERD2_PROXY_IDENTITY_DIR", "/var/run/linkerd/identity/end-entity"),
        _trust_env(install, workload, bundle),
        _env(
            "LINKERD2_PROXY_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/tokens/linkerd-identity-token"
            if minor >= 12
            else "/var/run/secrets/kubernetes.io/serviceaccount/token",
        ),
        _env(
            "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
            "localhost.:8080"
            if workload.component == "identity"
            else f"linkerd-identity-headless.{ns}.svc.{td}.:8080",
        ),
        _env("LINKERD2_PROXY_IDENTITY_LOCAL_NAME", f"$(_pod_sa).$(_pod_ns).{svc}"),
        _env("LINKERD2_PROXY_IDENTITY_SVC_NAME", f"linkerd-identity.{ns}.{svc}"),
        _env("LINKERD2_PROXY_DESTINATION_SVC_NAME", f"linkerd-destination.{ns}.{svc}"),
    ]
    if minor >= 11:
        env.append(_env("LINKERD2_PROXY_POLICY_SVC_NAME", f"linkerd-destination.{ns}.{svc}"))
    if workload.ingress_mode:
        env.append(_env("LINKERD2_PROXY_INGRESS_MODE", "true"))
    mounts = [
        {"mountPath": "/var/run/linkerd/identity/end-entity", "name": "linkerd-identity-end-entity"}
    ]
    if minor >= 12:
        mounts.append({"mountPath": "/var/run/secrets/tokens", "name": "linkerd-identity-token"})
    container: dict[str, Any] = {
        "name": "linkerd-proxy",
        "image": f"cr.l5d.io/linkerd/proxy:{install.version}",
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": [
            {"containerPort": 4143, "name": "linkerd-proxy", "protocol": "TCP"},
            {"containerPort": 4191, "name": "linkerd-admin", "protocol": "TCP"},
        ],
        "livenessProbe": _probe("/live", 10),
        "readinessProbe": _probe("/ready", 2),
        "resources": {},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": PROXY_UID,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
    }
    if native:
        container["restartPolicy"] = "Always"
        container["startupProbe"] = {
            **_probe("/ready", 0),
            "periodSeconds": 1,
            "failureThreshold": 120,
        }
    elif install.release.proxy_first:
        await_cmd = ["/usr/lib/linkerd/linkerd-await", "--timeout=2m"]
        container["lifecycle"] = {"postStart": {"exec": {"command": await_cmd}}}
    return container


def init_container(install: LinkerdInstall) -> dict[str, Any] | None:
    """`linkerd-init` (iptables), or with CNI the 2.13+ network validator, or nothing."""
    release = install.release
    if install.cni:
        if release.minor < 13:
            return None
        return {
            "name": "linkerd-network-validator",
            "image": f"cr.l5d.io/linkerd/proxy:{install.version}",
            "imagePullPolicy": "IfNotPresent",
            "command": ["/usr/lib/linkerd/linkerd2-network-validator"],
            "args": [
                "--log-format",
                "plain",
                "--log-level",
                "info",
                "--connect-addr",
                "1.1.1.1:20001",
                "--listen-addr",
                "0.0.0.0:4140",
                "--timeout",
                "10s",
            ],
            "resources": {},
            "securityContext": {"runAsNonRoot": True, "runAsUser": PROXY_UID},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
    root = release.minor <= 11
    return {
        "name": "linkerd-init",
        "image": release.proxy_init_image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--incoming-proxy-port",
            "4143",
            "--outgoing-proxy-port",
            "4140",
            "--proxy-uid",
            str(PROXY_UID),
            "--inbound-ports-to-ignore",
            "4190,4191,4567,4568",
            "--outbound-ports-to-ignore",
            "4567,4568",
        ],
        "resources": {},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": not root,
            "runAsUser": 0 if root else 65534,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"mountPath": "/run", "name": "linkerd-proxy-init-xtables-lock"}],
    }


@dataclass(frozen=True)
class Injection:
    """What the injector adds to every pod of a workload that got the same bundle.

    The container and volume dicts are shared by those pods (rendered objects are
    never mutated), which keeps large worlds cheap to render.
    """

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    proxy: dict[str, Any]
    init: dict[str, Any] | None
    volumes: tuple[dict[str, Any], ...]
    native: bool
    proxy_first: bool


def injection(install: LinkerdInstall, workload: Workload, bundle: str) -> Injection:
    release = install.release
    labels = {
        "linkerd.io/control-plane-ns": install.namespace,
        "linkerd.io/proxy-deployment": workload.name,
        "linkerd.io/workload-ns": workload.namespace,
    }
    annotations: dict[str, str] = {}
    if workload.component is None:
        annotations["linkerd.io/created-by"] = f"linkerd/proxy-injector {install.version}"
        digest_of = bundle
    else:
        annotations["linkerd.io/created-by"] = f"linkerd/helm {install.version}"
        digest_of = install.values_anchors_text  # the chart: identityTrustAnchorsPEM | sha256sum
        if release.minor >= 12:
            annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] = "true"
        if workload.component == "identity" and release.minor >= 11:
            annotations["config.linkerd.io/default-inbound-policy"] = "all-unauthenticated"
    if release.identity_mode_annotation:
        annotations["linkerd.io/identity-mode"] = "default"
    annotations["linkerd.io/proxy-version"] = install.version
    if release.trust_root_sha256:
        annotations["linkerd.io/trust-root-sha256"] = hashlib.sha256(digest_of.encode()).hexdigest()
    init = init_container(install)
    volumes: list[dict[str, Any]] = []
    if init is not None and init["name"] == "linkerd-init":
        volumes.append({"name": "linkerd-proxy-init-xtables-lock", "emptyDir": {}})
    volumes.append({"name": "linkerd-identity-end-entity", "emptyDir": {"medium": "Memory"}})
    if release.minor >= 12:
        token = {
            "audience": "identity.l5d.io",
            "expirationSeconds": 86400,
            "path": "linkerd-identity-token",
        }
        volumes.append(
            {
                "name": "linkerd-identity-token",
                "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": token}]},
            }
        )
    return Injection(
        labels=labels,
        annotations=annotations,
        proxy=proxy_container(install, workload, bundle, workload.native_sidecar),
        init=init,
        volumes=tuple(volumes),
        native=workload.native_sidecar,
        proxy_first=release.proxy_first,
    )


def apply_injection(pod: dict[str, Any], inj: Injection) -> None:
    """Add the proxy, its init container, volumes, labels and annotations to `pod` in place."""
    metadata, spec = pod["metadata"], pod["spec"]
    metadata.setdefault("labels", {}).update(inj.labels)
    metadata.setdefault("annotations", {}).update(inj.annotations)
    inits = [inj.init] if inj.init is not None else []
    if inj.native:
        inits.append(inj.proxy)
    elif inj.proxy_first:
        spec["containers"].insert(0, inj.proxy)
    else:
        spec["containers"].append(inj.proxy)
    if inits:
        spec["initContainers"] = inits
    spec.setdefault("volumes", []).extend(inj.volumes)


def inject(pod: dict[str, Any], install: LinkerdInstall, workload: Workload, bundle: str) -> None:
    """Inject `pod` as the proxy injector (or, for the control plane, the chart) would."""
    apply_injection(pod, injection(install, workload, bundle))
