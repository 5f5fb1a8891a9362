"""The control plane's Secrets besides the identity issuer: the webhooks' serving certificates
and Helm's records of the two releases.

A Helm install of Linkerd (the simulated install: `linkerd.io/created-by: linkerd/helm <v>`)
leaves in its namespace, besides `linkerd-identity-issuer`:
- `linkerd-proxy-injector-k8s-tls` (component `proxy-injector`), `linkerd-sp-validator-k8s-tls`
  and, from 2.11 (the policy controller), `linkerd-policy-validator-k8s-tls` (component
  `destination`): `type: kubernetes.io/tls`, keys `tls.crt` and `tls.key`, the component and
  namespace labels and the created-by annotation; the chart's `genSelfSignedCert` makes each
  a self-signed RSA 2048 certificate for `<service>.<namespace>.svc` (CN and DNS SAN), valid
  365 days, the PEM trimmed of its trailing newline (linkerd-control-plane chart,
  `templates/*-rbac.yaml`; a rendered edge-25.8.5 install shows the same names, labels,
  types and keys, with `linkerd/cli` as creator);
- `sh.helm.release.v1.linkerd-crds.v1` and `sh.helm.release.v1.linkerd-control-plane.v1`
  (before 2.12, one chart: `sh.helm.release.v1.linkerd2.v1`):
  Helm 3's release records (`pkg/storage/driver/secrets.go`): `type: helm.sh/release.v1`,
  labels `name`, `owner: helm`, `status: deployed`, `version: "1"`, `createdAt` (Unix
  seconds), one key `release` holding base64 of the gzipped release JSON. The control
  plane's `config` holds the values given at install: the trust anchors and, with the
  `linkerd.io/tls` scheme, the issuer's certificate and private key (`--set-file`), so a
  reader of Secrets in the namespace gets the issuer key from this record too.
  UNVERIFIED and chosen here: the records carry no chart templates, no manifest and no
  chart version.
A CLI install (`linkerd install`) has no Helm records and keeps its flags in the Secret
`linkerd-config-overrides` (key `linkerd-config-overrides`); the simulated install is a Helm
one, so that Secret is not simulated.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization

from monitor.simulate.certgen import CertSpec, GeneratedCert, generate_all
from monitor.simulate.kube.linkerd import LinkerdInstall, component_labels, created_by
from monitor.simulate.kube.meta import meta, timestamp

_SEED = "linkerd-webhooks"  # one key per webhook for every simulated install (cached once)
WEBHOOKS = (
    # Secret, component, Service, first minor release with it
    ("linkerd-proxy-injector-k8s-tls", "proxy-injector", "linkerd-proxy-injector", 10),
    ("linkerd-sp-validator-k8s-tls", "destination", "linkerd-sp-validator", 10),
    ("linkerd-policy-validator-k8s-tls", "destination", "linkerd-policy-validator", 11),
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@functools.lru_cache(maxsize=32)
def _serving_cert(host: str, day: datetime) -> GeneratedCert:
    spec = CertSpec(host, host, sans=(host,), key="rsa-2048", not_before="-0d",
                    not_after="+365d")  # fmt: skip
    return generate_all({host: spec}, day, _SEED)[host]


def webhook_secrets(install: LinkerdInstall, now: datetime) -> list[dict[str, Any]]:
    ns, out = install.namespace, []
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for name, component, service, since in WEBHOOKS:
        if install.release.minor < since:
            continue
        cert = _serving_cert(f"{service}.{ns}.svc", day)
        key = cert.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        out.append({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(name, ns, component_labels(install, component), created_by(install)),
            "data": {"tls.crt": _b64(cert.pem.strip().encode()), "tls.key": _b64(key.strip())},
            "type": "kubernetes.io/tls",
        })  # fmt: skip
    return out


def _install_values(install: LinkerdInstall) -> dict[str, Any]:
    values: dict[str, Any] = {"identityTrustAnchorsPEM": install.values_anchors_text}
    if install.scheme == "linkerd.io/tls" and not install.external_ca:
        key = install.issuer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        values["identity"] = {"issuer": {"tls": {"crtPEM": install.issuer.pem, "keyPEM": key}}}
    else:
        values["identity"] = {"externalCA": True, "issuer": {"scheme": install.scheme}}
    return values


def _record(release: str, ns: str, version: str, config: dict[str, Any], now: datetime) -> Any:
    when = timestamp(now)
    doc = {
        "name": release,
        "info": {"first_deployed": when, "last_deployed": when, "deleted": "",
                 "description": "Install complete", "status": "deployed"},
        "chart": {"metadata": {"name": release, "appVersion": version, "apiVersion": "v2"}},
        "config": config,
        "manifest": "",
        "version": 1,
        "namespace": ns,
    }  # fmt: skip
    encoded = base64.b64encode(gzip.compress(json.dumps(doc).encode(), mtime=0))
    labels = {"name": release, "owner": "helm", "status": "deployed", "version": "1",
              "createdAt": str(int(now.timestamp()))}  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(f"sh.helm.release.v1.{release}.v1", ns, labels),
        "data": {"release": _b64(encoded)},
        "type": "helm.sh/release.v1",
    }


def helm_records(install: LinkerdInstall, now: datetime) -> list[dict[str, Any]]:
    """Before 2.12 Linkerd was one chart, `linkerd2`; then `linkerd-crds` and the control plane."""
    ns, version, values = install.namespace, install.version, _install_values(install)
    if install.release.minor < 12:
        return [_record("linkerd2", ns, version, values, now)]
    return [
        _record("linkerd-crds", ns, version, {}, now),
        _record("linkerd-control-plane", ns, version, values, now),
    ]
