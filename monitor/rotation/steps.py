"""How the rotation planner words its next steps: exact objects, exact commands.

Owns the text of `monitor.rotation.plan`'s steps, following Linkerd's documented procedures
(research/linkerd.md section 6): the manual one (`step`, `linkerd upgrade` or Helm) and
the cert-manager + trust-manager one (`cmctl renew`, the `linkerd-previous-anchor`
Secret), chosen by what the mesh shows (`identity.externalCA`, a cert-manager
`Certificate` for the issuer). Every step names the objects to change: BIG-IP devices and
bundle paths, the trust-roots ConfigMap, the issuer Secret, the workloads to restart, and
anchors as `SHA256 ab12cd34ef56ab78…` (the full fingerprints are in the plan's anchors).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from monitor.certs import CertFacts
from monitor.checks.common import when
from monitor.checks.trust.inputs import issuer_secret, roots_where
from monitor.config.schema import Config
from monitor.model import MeshState, ProxyBundle
from monitor.policy.model import PodInfo, pod_owner

_SHOWN: Final = 4  # workloads named per namespace before "…"
ISSUE_4287: Final = "https://github.com/linkerd/linkerd2/issues/4287"
ISSUE_8664: Final = "https://github.com/linkerd/linkerd2/issues/8664"


def short(fingerprint: str) -> str:
    """`SHA256 ab12cd34ef56ab78…`."""
    return f"SHA256 {fingerprint[:16]}…"


def anchor_name(cert: CertFacts) -> str:
    """`anchor SHA256 ab12cd34ef56ab78… (CN=root.linkerd.cluster.local, expires …)`."""
    expires = when(cert.not_after)
    return f"anchor {short(cert.fingerprint_sha256)} ({cert.subject}, expires {expires})"


def and_list(names: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def by_bundle(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(device, bundle path) pairs → bundle path → devices, in the order met."""
    out: dict[str, list[str]] = {}
    for device, path in pairs:
        out.setdefault(path, [])
        if device not in out[path]:
            out[path].append(device)
    return out


def on_devices(bundles: Mapping[str, Sequence[str]]) -> str:
    """`/k8s/Shared/b on bigip-a and bigip-b` (several bundles joined with `;`)."""
    return "; ".join(f"{path} on {and_list(list(devices))}" for path, devices in bundles.items())


_HOW_BIGIP: Final = (
    " (import it as an ssl-cert and list it in the bundle's ca-bundle-manager includeBundle;"
    " where F5 CIS or AS3 manages the partition, change the declaration instead)"
)
# Linkerd proxies refresh their leaf at 70 % of its lifetime (24h by default).
LEAF_REFRESH: Final = "within about 17 hours with Linkerd's default 24h leaf lifetime"


def bigip_add(anchor: CertFacts, bundles: Mapping[str, Sequence[str]], why: str) -> str:
    return f"add {anchor_name(anchor)} to {on_devices(bundles)}{why}{_HOW_BIGIP}"


def bigip_remove(fingerprints: Sequence[str], bundles: Mapping[str, Sequence[str]]) -> str:
    what = and_list([short(fp) for fp in fingerprints])
    return f"remove anchor {what} from {on_devices(bundles)} (and its includeBundle entry)"


@dataclass(frozen=True, slots=True)
class Mesh:
    """The names the steps use for the mesh side."""

    cfg: Config
    state: MeshState

    @property
    def roots(self) -> str:
        return roots_where(self.cfg, self.state)

    @property
    def issuer_secret(self) -> str:
        return issuer_secret(self.cfg, self.state)

    @property
    def trust_manager(self) -> bool:
        return self.state.external_ca is True

    @property
    def cert_manager(self) -> bool:
        return self.state.issuer_certificate is not None

    @property
    def namespace(self) -> str:
        return self.cfg.mesh.linkerd_namespace

    @property
    def issuer_cn(self) -> str:
        return f"identity.{self.namespace}.{self.cfg.mesh.trust_domain}"

    def restart_control_plane(self) -> str:
        return f"kubectl -n {self.namespace} rollout restart deploy"

    def rotate_issuer(self, anchor: CertFacts) -> str:
        """Replace the issuer with one signed by `anchor` (section 6.1 step 5 / 6.2)."""
        after = (
            f"; confirm with `kubectl -n {self.namespace} get events --field-selector"
            f" reason=IssuerUpdated`, then restart the control plane"
            f" (`{self.restart_control_plane()}`)"
        )
        if self.cert_manager:
            cert = self.state.issuer_certificate
            name = cert.name if cert else f"{self.namespace}/linkerd-identity-issuer"
            ns, _, short_name = name.partition("/")
            return (
                f"rotate the identity issuer onto {anchor_name(anchor)}: make sure the CA"
                f" behind cert-manager Certificate {name} signs with it, then"
                f" `cmctl renew -n {ns} {short_name}` ({self.issuer_secret}){after}"
            )
        return (
            f"rotate the identity issuer onto {anchor_name(anchor)}: `step certificate create"
            f" {self.issuer_cn} issuer-new.crt issuer-new.key --profile intermediate-ca"
            " --not-after 8760h --no-password --insecure --ca ca-new.crt --ca-key ca-new.key`"
            " (ca-new.crt: that anchor), then `linkerd upgrade"
            " --identity-issuer-certificate-file=issuer-new.crt"
            " --identity-issuer-key-file=issuer-new.key | kubectl apply -f -` (Helm:"
            " identity.issuer.tls.crtPEM/keyPEM) to replace"
            f" {self.issuer_secret}{after}"
        )

    def add_anchor(self, anchor: CertFacts, why: str) -> str:
        """Put `anchor` (back) into the mesh's trust bundle."""
        if self.trust_manager:
            how = (
                " (a trust-manager Bundle writes it: add the anchor to one of its sources,"
                " e.g. Secret cert-manager/linkerd-previous-anchor)"
            )
        else:
            how = (
                " (`step certificate bundle` it with the current bundle, then `linkerd upgrade"
                " --identity-trust-anchors-file=bundle.crt | kubectl apply -f -` or Helm"
                " --set-file identityTrustAnchorsPEM=bundle.crt)"
            )
        return (
            f"add {anchor_name(anchor)} to {self.roots}{how}, then restart the control plane"
            f" (`{self.restart_control_plane()}`){why}"
        )

    def remove_anchors(self, old: Sequence[CertFacts], keep: Sequence[CertFacts]) -> str:
        """Drop `old` from the mesh's trust bundle (section 6.1 step 6 / 6.2 step 7)."""
        names = and_list([anchor_name(a) for a in old])
        kept = and_list([short(a.fingerprint_sha256) for a in keep])
        if self.trust_manager:
            how = (
                "copy Secret cert-manager/linkerd-trust-anchor onto"
                " cert-manager/linkerd-previous-anchor, so trust-manager's Bundle"
                " linkerd-identity-trust-roots keeps only"
            )
            return (
                f"remove {names} from {self.roots}: {how} {kept}; then restart the control plane"
                f" (`{self.restart_control_plane()}`) and the meshed workloads again"
            )
        return (
            f"remove {names} from {self.roots}: `linkerd upgrade"
            " --identity-trust-anchors-file=ca-new.crt | kubectl apply -f -` (Helm: --set-file"
            f" identityTrustAnchorsPEM=ca-new.crt) with ca-new.crt holding only {kept}; then"
            f" restart the control plane (`{self.restart_control_plane()}`) and the meshed"
            " workloads again"
        )


def restart_commands(proxies: Sequence[ProxyBundle], pods: Mapping[str, PodInfo]) -> str:
    """`kubectl -n ingress rollout restart deployment/nginx-ingress (3 pods); …`, naming the
    owners the injector's labels tell, else `<workload>`."""
    by_namespace: dict[str, dict[str, None]] = {}
    counts: dict[str, int] = {}
    for proxy in proxies:
        namespace = proxy.namespace
        counts[namespace] = counts.get(namespace, 0) + 1
        owners = by_namespace.setdefault(namespace, {})
        owner = pod_owner(pods.get(proxy.pod))
        if owner:
            owners[f"{owner[0]}/{owner[1]}"] = None
    commands = []
    for namespace in sorted(by_namespace):
        names = sorted(by_namespace[namespace])
        shown = " ".join(names[:_SHOWN]) + (" …" if len(names) > _SHOWN else "")
        count = counts[namespace]
        pods_word = "pod" if count == 1 else "pods"
        command = f"kubectl -n {namespace} rollout restart {shown or '<workload>'}"
        commands.append(f"`{command}` ({count} {pods_word})")
    return "; ".join(commands)


def workload_objects(proxies: Sequence[ProxyBundle], pods: Mapping[str, PodInfo]) -> list[str]:
    """`Deployment ingress/nginx-ingress`, or `Pod ns/name` when the owner is not labelled."""
    out: dict[str, None] = {}
    for proxy in proxies:
        owner = pod_owner(pods.get(proxy.pod))
        if owner:
            out[f"{owner[0].capitalize()} {proxy.namespace}/{owner[1]}"] = None
        else:
            out[f"Pod {proxy.pod}"] = None
    return list(out)


UNSEEN_WORKLOADS: Final = (
    "the monitor sees only the meshed pods behind the configured boundaries: restart every"
    " other meshed workload of the cluster too"
)
