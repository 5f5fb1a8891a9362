"""The control plane's other Secrets (webhook serving certificates, Helm's release records), read
through the kubernetes client and kubectl as a user would find them."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kubernetes import client

from tests.support.sim_kube import BASE, CERTS, NOW, linkerd, render, scenario, serve
from tests.unit.simulate.kube.test_kubectl import kubectl

WEBHOOKS = {
    "linkerd-proxy-injector-k8s-tls": ("proxy-injector", "linkerd-proxy-injector.linkerd.svc"),
    "linkerd-sp-validator-k8s-tls": ("destination", "linkerd-sp-validator.linkerd.svc"),
    "linkerd-policy-validator-k8s-tls": ("destination", "linkerd-policy-validator.linkerd.svc"),
}


def secrets(doc: dict[str, Any], tmp: Path) -> dict[str, Any]:
    with serve(render(doc), tmp) as (_, api):
        items = client.CoreV1Api(api).list_namespaced_secret("linkerd").items
    return {s.metadata.name: s for s in items}


def release(secret: Any) -> dict[str, Any]:
    inner = base64.b64decode(secret.data["release"])  # the Secret's data, then Helm's base64
    loaded: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(inner)))
    return loaded


def test_a_helm_install_holds_the_webhook_certificates_and_its_records(tmp_path: Path) -> None:
    found = secrets(BASE, tmp_path)
    assert set(found) == {
        "linkerd-identity-issuer",
        *WEBHOOKS,
        "sh.helm.release.v1.linkerd-crds.v1",
        "sh.helm.release.v1.linkerd-control-plane.v1",
    }
    for name, (component, host) in WEBHOOKS.items():
        secret = found[name]
        assert secret.type == "kubernetes.io/tls"
        assert secret.metadata.labels == {
            "linkerd.io/control-plane-component": component,
            "linkerd.io/control-plane-ns": "linkerd",
        }
        assert secret.metadata.annotations == {
            "linkerd.io/created-by": "linkerd/helm stable-2.14.10"
        }
        assert sorted(secret.data) == ["tls.crt", "tls.key"]
        pem = base64.b64decode(secret.data["tls.crt"])
        assert not pem.endswith(b"\n")  # the chart trims it
        cert = x509.load_pem_x509_certificate(pem)
        assert cert.subject.rfc4514_string() == f"CN={host}"
        assert cert.issuer == cert.subject
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == [host]
        lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
        assert timedelta(days=364) < lifetime <= timedelta(days=366)
        key_pem = base64.b64decode(secret.data["tls.key"])
        assert key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == 2048
        assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    record = found["sh.helm.release.v1.linkerd-control-plane.v1"]
    assert record.type == "helm.sh/release.v1"
    labels = dict(record.metadata.labels)
    assert int(labels.pop("createdAt")) == int(NOW.timestamp())
    assert labels == {"name": "linkerd-control-plane", "owner": "helm", "status": "deployed",
                      "version": "1"}  # fmt: skip
    doc = release(record)
    assert (doc["name"], doc["namespace"], doc["version"]) == (
        "linkerd-control-plane",
        "linkerd",
        1,
    )
    assert doc["info"]["status"] == "deployed"
    config = doc["config"]
    assert config["identityTrustAnchorsPEM"].count("BEGIN CERTIFICATE") == 2
    issuer = config["identity"]["issuer"]["tls"]
    assert issuer["crtPEM"] == CERTS["issuer"].pem
    key = serialization.load_pem_private_key(issuer["keyPEM"].encode(), password=None)
    assert key.public_key() == CERTS["issuer"].cert.public_key()  # the issuer key, as given
    assert release(found["sh.helm.release.v1.linkerd-crds.v1"])["config"] == {}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("stable-2.10.2", {"linkerd-proxy-injector-k8s-tls", "linkerd-sp-validator-k8s-tls",
                           "sh.helm.release.v1.linkerd2.v1"}),
        ("stable-2.11.5", {*WEBHOOKS, "sh.helm.release.v1.linkerd2.v1"}),
    ],
)  # fmt: skip
def test_older_releases(version: str, expected: set[str], tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(version=version), objects=[])
    assert set(secrets(doc, tmp_path)) == {"linkerd-identity-issuer", *expected}


def test_kubectl_lists_them_with_their_types(tmp_path: Path) -> None:
    with serve(render(BASE), tmp_path):
        out = kubectl(tmp_path / "kubeconfig", "-n", "linkerd", "get", "secrets")
    assert out.returncode == 0, out.stderr
    by_name = {line.split()[0]: line.split()[1:3] for line in out.stdout.splitlines()[1:]}
    assert by_name["linkerd-proxy-injector-k8s-tls"] == ["kubernetes.io/tls", "2"]
    assert by_name["sh.helm.release.v1.linkerd-control-plane.v1"] == ["helm.sh/release.v1", "1"]
