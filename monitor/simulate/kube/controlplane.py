"""The objects a Linkerd install puts in the API besides its pods and Services.

Owns the rendering of the control-plane Namespace, ConfigMap `linkerd-config` with its
`values` YAML (the chart's values with private keys stripped), the trust bundle
ConfigMap `linkerd-identity-trust-roots` (Helm-rendered with the version's trailing
newline rule, or written by trust-manager with `externalCA`, together with its
`Bundle`), Secret `linkerd-identity-issuer` in the `linkerd.io/tls` or
`kubernetes.io/tls` scheme, the cert-manager `Certificate` for the issuer and the
`CertificateRequest`s of its issuances (`_requests`); the other
Secrets of the release (webhook certificates, Helm's records) come from `cpsecrets`.
Sources: research/linkerd.md §1, §2 and §6.2; the linkerd-control-plane chart.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.kube.cpsecrets import helm_records, webhook_secrets
from monitor.simulate.kube.linkerd import (
    CLUSTER_NETWORKS,
    ISSUER,
    TRUST_ROOTS,
    CertManager,
    LinkerdInstall,
    component_labels,
    created_by,
    go_duration,
)
from monitor.simulate.kube.meta import helm_yaml, meta, timestamp, uid_for


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _key_pem(cert: GeneratedCert) -> str:
    """The key as Go's x509.MarshalECPrivateKey / cert-manager's PKCS#1 default write it."""
    if isinstance(cert.key, ed25519.Ed25519PrivateKey):
        return cert.key_pem
    return cert.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def config_values(install: LinkerdInstall) -> dict[str, Any]:
    """The Helm values stored in linkerd-config (private keys stripped, as the chart does)."""
    release, minor = install.release, install.release.minor
    issuer: dict[str, Any] = {
        "clockSkewAllowance": "20s",
        "issuanceLifetime": "24h0m0s",
        "scheme": install.scheme,
    }
    if release.issuer_expiry_annotation:
        issuer["crtExpiry"] = timestamp(install.issuer.cert.not_valid_after_utc)
    if minor >= 11:
        crt = "".join(c.pem for c in (install.issuer, *install.chain))
        issuer["tls"] = {"crtPEM": crt if install.scheme == "linkerd.io/tls" else ""}
    identity: dict[str, Any] = {"issuer": issuer}
    if minor >= 11:
        identity["externalCA"] = install.external_ca
    if minor >= 12:
        identity["serviceAccountTokenProjection"] = True
    proxy: dict[str, Any] = {
        "image": {"name": "cr.l5d.io/linkerd/proxy", "pullPolicy": "", "version": ""},
        "logFormat": "plain",
        "logLevel": "warn,linkerd=info",
        "opaquePorts": "25,587,3306,4444,5432,6379,9300,11211",
        "ports": {"admin": 4191, "control": 4190, "inbound": 4143, "outbound": 4140},
        "uid": 2102,
    }
    values: dict[str, Any] = {
        "clusterDomain": "cluster.local",
        "clusterNetworks": CLUSTER_NETWORKS,
        "cniEnabled": install.cni,
        "controlPlaneTracing": False,
        "controllerImage": "cr.l5d.io/linkerd/controller",
        "controllerLogFormat": "plain",
        "controllerLogLevel": "info",
        "controllerReplicas": 1,
        "controllerUID": 2103,
        "enableEndpointSlices": True,
        "enableH2Upgrade": True,
        "identity": identity,
        "identityTrustAnchorsPEM": install.values_anchors_text,
        "identityTrustDomain": install.trust_domain,
        "imagePullPolicy": "IfNotPresent",
        "linkerdVersion": install.version,
        "proxy": proxy,
        "proxyInit": {
            "ignoreInboundPorts": "4567,4568",
            "ignoreOutboundPorts": "4567,4568",
            "image": {"name": release.proxy_init_image.rpartition(":")[0]},
        },
        "webhookFailurePolicy": "Ignore",
    }
    if minor == 11:
        values["policyController"] = {
            "defaultAllowPolicy": install.default_inbound_policy,
            "image": {"name": "cr.l5d.io/linkerd/policy-controller"},
        }
    elif minor >= 12:
        values["policyController"] = {"image": {"name": "cr.l5d.io/linkerd/policy-controller"}}
        proxy["defaultInboundPolicy"] = install.default_inbound_policy
        proxy["await"] = True
    return values


def install_objects(install: LinkerdInstall, now: datetime) -> list[dict[str, Any]]:
    """Namespace, linkerd-config, trust roots, issuer Secret, cert-manager/trust-manager objects."""
    ns = install.namespace
    ns_labels = {"config.linkerd.io/admission-webhooks": "disabled"}
    if install.release.control_plane_label:
        ns_labels["linkerd.io/is-control-plane"] = "true"
    ns_labels["linkerd.io/control-plane-ns"] = ns
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": meta(ns, labels=ns_labels, annotations={"linkerd.io/inject": "disabled"}),
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(
                "linkerd-config", ns, component_labels(install, "controller"), created_by(install)
            ),
            "data": {"values": helm_yaml(config_values(install))},
        },
    ]
    if install.release.trust_roots_configmap:
        out += _trust_roots(install, now)
    out.append(_issuer_secret(install))
    out += webhook_secrets(install, now) + helm_records(install, now)
    if install.published_config_map:
        out.append(_published_issuer(install, install.published_config_map))
    if install.cert_manager is not None:
        out.append(_certificate(install, install.cert_manager, now))
        out += _requests(install, install.cert_manager)
    return out


def _trust_roots(install: LinkerdInstall, now: datetime) -> list[dict[str, Any]]:
    text = install.bundle_text()
    if not install.external_ca:
        labels = component_labels(install, "identity")
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta(TRUST_ROOTS, install.namespace, labels, created_by(install)),
                "data": {"ca-bundle.crt": text},
            }
        ]
    owner = {
        "apiVersion": "trust.cert-manager.io/v1alpha1",
        "kind": "Bundle",
        "name": TRUST_ROOTS,
        "uid": uid_for("", "Bundle", TRUST_ROOTS),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    digest = hashlib.sha256(text.encode()).hexdigest()
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(
            TRUST_ROOTS,
            install.namespace,
            {"trust.cert-manager.io/bundle": TRUST_ROOTS},
            {"trust.cert-manager.io/hash": digest},
            ownerReferences=[owner],
        ),
        "data": {"ca-bundle.crt": text},
    }
    selector = {"linkerd.io/is-control-plane": "true"}
    bundle = {
        "apiVersion": "trust.cert-manager.io/v1alpha1",
        "kind": "Bundle",
        "metadata": meta(TRUST_ROOTS, generation=1),
        "spec": {
            "sources": [
                {"secret": {"name": "linkerd-trust-anchor", "key": "tls.crt"}},
                {"secret": {"name": "linkerd-previous-anchor", "key": "tls.crt"}},
            ],
            "target": {
                "configMap": {"key": "ca-bundle.crt"},
                "namespaceSelector": {"matchLabels": selector},
            },
        },
        "status": {
            "conditions": [
                {
                    "type": "Synced",
                    "status": "True",
                    "reason": "Synced",
                    "message": "Successfully synced Bundle to namespaces that match this label "
                    "selector: linkerd.io/is-control-plane=true",
                    "lastTransitionTime": timestamp(now),
                    "observedGeneration": 1,
                }
            ]
        },
    }
    return [configmap, bundle]


def _issuer_secret(install: LinkerdInstall) -> dict[str, Any]:
    chain_pem = "".join(c.pem for c in (install.issuer, *install.chain))
    key_pem = _key_pem(install.issuer)
    if install.scheme == "linkerd.io/tls":
        annotations = created_by(install)
        if install.release.issuer_expiry_annotation:
            expiry = timestamp(install.issuer.cert.not_valid_after_utc)
            annotations["linkerd.io/identity-issuer-expiry"] = expiry
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(
                ISSUER, install.namespace, component_labels(install, "identity"), annotations
            ),
            "data": {"crt.pem": _b64(chain_pem.strip()), "key.pem": _b64(key_pem.strip())},
            "type": "Opaque",
        }
    labels: dict[str, str] = {}
    annotations = {}
    if install.cert_manager is not None:
        issuer_name, issuer_kind = _cm_issuer(install)
        labels = {"controller.cert-manager.io/fao": "true"}
        annotations = {
            "cert-manager.io/alt-names": ",".join(_dns_names(install)),
            "cert-manager.io/certificate-name": ISSUER,
            "cert-manager.io/common-name": _common_name(install.issuer),
            "cert-manager.io/ip-sans": "",
            "cert-manager.io/issuer-group": "cert-manager.io",
            "cert-manager.io/issuer-kind": issuer_kind,
            "cert-manager.io/issuer-name": issuer_name,
            "cert-manager.io/uri-sans": "",
        }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(ISSUER, install.namespace, labels, annotations),
        "data": {
            "ca.crt": _b64(install.ca_cert.pem),
            "tls.crt": _b64(chain_pem),
            "tls.key": _b64(key_pem),
        },
        "type": "kubernetes.io/tls",
    }


def _published_issuer(install: LinkerdInstall, name: str) -> dict[str, Any]:
    """The issuer certificate as a user publishes it for readers without Secret access
    (docs/configuration.md: a CronJob copying `tls.crt` and `ca.crt` out of the Secret,
    never `tls.key`): a ConfigMap with plain PEM."""
    chain_pem = "".join(c.pem for c in (install.issuer, *install.chain))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, install.namespace, {"app.kubernetes.io/name": "issuer-publisher"}),
        "data": {"tls.crt": chain_pem, "ca.crt": install.ca_cert.pem},
    }


def _common_name(cert: GeneratedCert) -> str:
    names = cert.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _dns_names(install: LinkerdInstall) -> list[str]:
    """The older (2.10–2.13) guides list the issuer's CN as a dnsName; 2.14+ do not."""
    return [_common_name(install.issuer)] if install.release.minor < 14 else []


def _cm_issuer(install: LinkerdInstall) -> tuple[str, str]:
    """(name, kind) of the cert-manager issuer the guide of that version uses (research §6.2)."""
    if install.release.minor >= 14:
        return ISSUER, "ClusterIssuer"
    return "linkerd-trust-anchor", "Issuer"


def _certificate(install: LinkerdInstall, cm: CertManager, now: datetime) -> dict[str, Any]:
    issuer_name, issuer_kind = _cm_issuer(install)
    not_before = install.issuer.cert.not_valid_before_utc
    not_after = install.issuer.cert.not_valid_after_utc
    spec: dict[str, Any] = {
        "commonName": _common_name(install.issuer),
        "duration": go_duration(cm.duration),
        "isCA": True,
        "issuerRef": {"group": "cert-manager.io", "kind": issuer_kind, "name": issuer_name},
        "privateKey": {"algorithm": "ECDSA", "rotationPolicy": "Always"},
        "renewBefore": go_duration(cm.renew_before),
        "secretName": ISSUER,
    }
    if install.release.minor < 14:
        spec["dnsNames"] = _dns_names(install)
        spec["usages"] = ["cert sign", "crl sign", "server auth", "client auth"]
    expired = not_after <= now
    ready = {
        "type": "Ready",
        "status": "False" if expired else "True",
        "reason": "Expired" if expired else "Ready",
        "message": f"Certificate expired on {not_after.strftime('%a, %d %b %Y %H:%M:%S UTC')}"
        if expired
        else "Certificate is up to date and has not expired",
        "lastTransitionTime": timestamp(not_after if expired else not_before),
        "observedGeneration": 1,
    }
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": meta(ISSUER, install.namespace, generation=1),
        "spec": spec,
        "status": {
            "conditions": [ready],
            "notAfter": timestamp(not_after),
            "notBefore": timestamp(not_before),
            "renewalTime": timestamp(not_after - cm.renew_before),
            "revision": cm.revision,
        },
    }


def _requests(install: LinkerdInstall, cm: CertManager) -> list[dict[str, Any]]:
    """One CertificateRequest per issuance (the history's, then the current issuer), the
    last `revisionHistoryLimit` kept, as cert-manager's requestmanager creates them
    (StableCertificateRequestName, default since v1.13: `<certificate>-<revision>`; the
    revision and certificate-name annotations, a controller ownerReference to the
    Certificate) and its CA issuer completes them (`status.certificate`: the certificate,
    then the chain it was written with; `status.ca`; Approved and Ready conditions). No
    `spec.request`: a CSR is signed afresh each time, and no reader here needs it."""
    issued = [(c, ()) for c in cm.history] + [(install.issuer, install.chain)]
    first = (
        1
        if cm.revision_history_limit is None
        else max(1, cm.revision - cm.revision_history_limit + 1)
    )
    issuer_name, issuer_kind = _cm_issuer(install)
    owner = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": ISSUER,
             "uid": uid_for(install.namespace, "Certificate", ISSUER), "controller": True,
             "blockOwnerDeletion": True}  # fmt: skip
    out = []
    for revision, (cert, chain) in enumerate(issued, start=1):
        if revision < first:
            continue
        at = timestamp(cert.cert.not_valid_before_utc)
        annotations = {
            "cert-manager.io/certificate-name": ISSUER,
            "cert-manager.io/certificate-revision": str(revision),
        }
        conditions = [
            {"type": "Approved", "status": "True", "reason": "cert-manager.io",
             "message": "Certificate request has been approved by cert-manager.io",
             "lastTransitionTime": at},
            {"type": "Ready", "status": "True", "reason": "Issued",
             "message": "Certificate fetched from issuer successfully", "lastTransitionTime": at},
        ]  # fmt: skip
        out.append({
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": meta(f"{ISSUER}-{revision}", install.namespace, annotations=annotations,
                             ownerReferences=[owner], generation=1),
            "spec": {
                "duration": go_duration(cm.duration),
                "isCA": True,
                "issuerRef": {"group": "cert-manager.io", "kind": issuer_kind, "name": issuer_name},
                "usages": ["cert sign", "crl sign", "server auth", "client auth"],
            },
            "status": {
                "certificate": _b64("".join(c.pem for c in (cert, *chain))),
                "ca": _b64(install.ca_cert.pem),
                "conditions": conditions,
            },
        })  # fmt: skip
    return out
