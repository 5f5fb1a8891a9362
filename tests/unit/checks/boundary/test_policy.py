"""Tests for monitor.checks.boundary.policy: `client_cert_missing` and
`client_identity_unauthorized` against Linkerd policies built from docs-shaped YAML."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.checks.boundary.admission import probe_addresses
from monitor.model import F5State, MeshState, Observed
from monitor.policy.model import MeshPolicy
from tests.support.certhelpers import CLIENT_AUTH, Issued, leaf
from tests.support.checkdata import (
    BIGIP_ID,
    CLIENT_CERT,
    CLIENT_CERT_PATH,
    HEALTHY_POLICY,
    ISSUER,
    NOW,
    SHOP_PROFILE,
    WEB,
    bigip_certs,
    config,
    f5,
    healthy_pods,
    mesh,
    observed,
    policy_from,
    profile,
    run_one,
    shop,
    ssl_cert,
)

ONE = config(shop(devices=["bigip-a"]))
WITH_ID = config(shop(devices=["bigip-a"], clientIdentity=BIGIP_ID))
OTHER_ID = "other.f5-edge.serviceaccount.identity.linkerd.cluster.local"
SERVER_DENIES = "Server ingress/nginx-https (denies what nothing admits)"
SERVER = """
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: ingress, name: nginx-https}
spec: {podSelector: {matchLabels: {app: nginx-ingress}}, port: https, proxyProtocol: opaque}
"""


def mesh_tls_policy(identity: str, *, network: bool = False) -> str:
    """The ingress Server, a MeshTLSAuthentication for `identity` and an AuthorizationPolicy
    requiring it (and, with `network`, also BIG-IP's SNAT network)."""
    net_ref = (
        "\n  - {group: policy.linkerd.io, kind: NetworkAuthentication, name: f5-snat}"
        if network
        else ""
    )
    return f"""{SERVER}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {{namespace: ingress, name: f5-edge}}
spec: {{identities: ["{identity}"]}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {{namespace: ingress, name: f5-snat}}
spec: {{networks: [{{cidr: 192.0.2.0/24, except: [192.0.2.0/25]}}]}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {{namespace: ingress, name: from-f5}}
spec:
  targetRef: {{group: policy.linkerd.io, kind: Server, name: nginx-https}}
  requiredAuthenticationRefs:
  - {{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: f5-edge}}{net_ref}
"""


def world(
    policy: MeshPolicy | None = None,
    *,
    devices: list[F5State] | None = None,
    **mesh_changes: Any,
) -> Observed:
    changes: dict[str, Any] = {"policy": policy} if policy is not None else {}
    return observed(devices or [f5("bigip-a")], mesh(**{**changes, **mesh_changes}))


def no_cert() -> F5State:
    return f5("bigip-a", server_ssl={SHOP_PROFILE: profile(cert=None, key=None, chain=None)})


def unparsed(version: str = "13.1.0.8") -> F5State:
    """bigip-a without the PEMs nor a subjectAlternativeName field it is known to report."""
    certs = {k: dataclasses.replace(v, facts=None) for k, v in bigip_certs().items()}
    return f5("bigip-a", certs=certs, version=version)


def rest_only(cert: Issued = CLIENT_CERT) -> F5State:
    """bigip-a on TMOS 15.1 presenting `cert`, known by its ssl-cert REST fields only."""
    certs = {k: dataclasses.replace(v, facts=None) for k, v in bigip_certs().items()}
    certs[CLIENT_CERT_PATH] = ssl_cert(cert, CLIENT_CERT_PATH, san_field=True)
    return f5("bigip-a", certs=certs, version="15.1.10.2")


@pytest.mark.parametrize("check", ["client_cert_missing", "client_identity_unauthorized"])
def test_healthy_world_passes(check: str) -> None:
    st, findings = run_one(check, observed())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize("check", ["client_cert_missing", "client_identity_unauthorized"])
def test_plaintext_boundary_gets_no_state(check: str) -> None:
    chosen = tuple(c for c in CHECKS if c.id == check)
    assert run_checks(config(WEB), observed(), NOW, checks=chosen).states == ()


# --- client_cert_missing ----------------------------------------------------------------------


def test_missing_cert_with_client_identity_is_critical_without_the_mesh() -> None:
    obs = observed([no_cert()], MeshState())
    st, (f,) = run_one("client_cert_missing", obs, WITH_ID)
    assert (st.state, st.unknown_parts, f.object) == ("critical", (), SHOP_PROFILE)
    assert f.message == (
        f"bigip-a: server-ssl {SHOP_PROFILE} presents no client certificate: the mesh sees"
        f" BIG-IP as a TLS client without identity, while clientIdentity {BIGIP_ID} is"
        f" expected, so policies that admit {BIGIP_ID} reject it — set the profile's cert/key"
        f" (and chain) to a certificate issued under a current trust anchor for {BIGIP_ID}"
    )


@pytest.mark.parametrize(
    ("text", "default", "severity", "via"),
    [
        (HEALTHY_POLICY, "all-unauthenticated", "critical", SERVER_DENIES),
        ("", "all-authenticated", "critical", "default policy all-authenticated (cluster default)"),
        ("", "deny", "critical", "default policy deny (cluster default)"),
        ("", "all-unauthenticated", "warning", None),
        # admitted from the cluster networks only: the SNAT address decides, not the identity
        ("", "cluster-unauthenticated", "warning", None),
        (mesh_tls_policy("*"), "all-unauthenticated", "critical", SERVER_DENIES),
    ],
    ids=["server-identity", "all-authn", "deny", "all-unauthn", "cluster-unauthn", "any-meshed"],
)
def test_missing_cert_graded_by_the_backend_policy(
    text: str, default: str, severity: str, via: str | None
) -> None:
    policy = policy_from(text, default)
    st, (f,) = run_one("client_cert_missing", world(policy, devices=[no_cert()]), ONE)
    assert (st.state, f.severity, st.unknown_parts) == (severity, severity, ())
    evidence = dict(f.evidence)
    if via is None:
        assert f.message.endswith(
            "so the backend's policy cannot tell it from any other client — set the profile's"
            " cert/key (and chain) to a certificate issued under a current trust anchor (and set"
            " clientIdentity), then require that identity"
        )
    else:
        assert f"without identity, which {via} does not admit to 2 ready pods of Service" in (
            f.message
        )
        assert "networks were not matched against BIG-IP's source address" in f.message
        assert evidence["decided_by"] == via
        assert evidence["pods"] == "ingress/pod-10-42-0-11, ingress/pod-10-42-0-12"


def test_missing_cert_with_policy_unknown_is_a_warning_and_unknown() -> None:
    st, (f,) = run_one("client_cert_missing", observed([no_cert()], mesh(policy=None)), ONE)
    assert (st.state, f.severity, st.unknown_parts) == ("warning", "warning", ("bigip-a",))
    assert st.detail == (
        "bigip-a: whether the backend requires a client identity: kubernetes: Linkerd policy of"
        " the backend namespaces unknown"
    )


def test_missing_cert_with_a_pod_unknown_is_a_warning_and_unknown() -> None:
    pods = {k: v for k, v in healthy_pods().items() if not k.endswith("10-42-0-12")}
    policy = policy_from("", "all-unauthenticated")
    st, _ = run_one("client_cert_missing", world(policy, devices=[no_cert()], pods=pods), ONE)
    assert (st.state, st.unknown_parts) == ("warning", ("bigip-a",))
    assert st.detail.endswith(
        "kubernetes: pod ingress/pod-10-42-0-12 behind Service ingress/nginx-ingress unknown"
    )


def test_missing_cert_denied_by_one_pod_is_critical_even_with_another_unknown() -> None:
    pods = {k: v for k, v in healthy_pods().items() if not k.endswith("10-42-0-12")}
    st, _ = run_one("client_cert_missing", world(devices=[no_cert()], pods=pods), ONE)
    assert st.state == "critical"


def test_present_cert_needs_no_policy() -> None:
    st, _ = run_one("client_cert_missing", observed(mesh_state=MeshState()))
    assert st.state == "pass"


def test_missing_cert_profile_unknown() -> None:
    obs = observed([f5("bigip-a", server_ssl={})])
    st, _ = run_one("client_cert_missing", obs, ONE)
    assert (st.state, st.detail) == ("unknown", f"server-ssl {SHOP_PROFILE} not found on bigip-a")


# --- client_identity_unauthorized -------------------------------------------------------------


def test_identity_not_in_the_mesh_tls_authentication_is_critical() -> None:
    policy = policy_from(mesh_tls_policy(OTHER_ID))
    st, findings = run_one("client_identity_unauthorized", observed(mesh_state=mesh(policy=policy)))
    assert st.state == "critical"
    assert [(f.device, f.object, f.severity) for f in findings] == [
        ("bigip-a", SERVER_DENIES, "critical"),
        ("bigip-b", SERVER_DENIES, "critical"),
    ]
    f = findings[0]
    assert f.message == (
        f"bigip-a: the mesh policy does not admit BIG-IP's client identity {BIGIP_ID} to 2 ready"
        f" pods of Service ingress/nginx-ingress (port 443): {SERVER_DENIES} decides; networks"
        " were not matched against BIG-IP's source address, which is unknown after SNAT; no"
        " address in the policy's networks is admitted either — admit"
        f" {BIGIP_ID} on the backend's Server (a MeshTLSAuthentication naming it, referenced by"
        " an AuthorizationPolicy)"
    )
    evidence = dict(f.evidence)
    assert evidence["identity"] == BIGIP_ID
    assert evidence["identity_from"] == "certificate SAN"
    assert evidence["ports"] == "443"
    assert "is not among" in evidence["policy_notes"]


def test_identity_admitted_only_from_some_networks_passes_with_a_note() -> None:
    policy = policy_from(mesh_tls_policy(BIGIP_ID, network=True))
    st, findings = run_one("client_identity_unauthorized", world(policy), ONE)
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        "Server ingress/nginx-https + AuthorizationPolicy ingress/from-f5"
        " (MeshTLSAuthentication ingress/f5-edge, NetworkAuthentication ingress/f5-snat) admits"
        f" identity {BIGIP_ID} only from some source addresses; whether BIG-IP's (after SNAT) is"
        " among them was not evaluated"
    )


def test_other_identity_with_a_network_requirement_is_still_denied() -> None:
    policy = policy_from(mesh_tls_policy(OTHER_ID, network=True))
    st, _ = run_one("client_identity_unauthorized", world(policy), ONE)
    assert st.state == "critical"


def test_server_authorization_limited_to_the_cluster_networks() -> None:
    text = f"""{SERVER}
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {{namespace: ingress, name: f5}}
spec:
  server: {{name: nginx-https}}
  client:
    meshTLS:
      serviceAccounts: [{{name: bigip, namespace: f5-edge}}]
"""
    st, findings = run_one("client_identity_unauthorized", world(policy_from(text)), ONE)
    assert (st.state, findings) == ("pass", ())
    assert "ServerAuthorization ingress/f5 admits identity" in st.detail


def test_pods_grouped_by_what_denies_them() -> None:
    pods = healthy_pods()
    odd = "ingress/pod-10-42-0-12"
    pods[odd] = dataclasses.replace(pods[odd], labels={"app": "canary"})
    policy = policy_from(mesh_tls_policy(OTHER_ID), "deny")
    _, findings = run_one("client_identity_unauthorized", world(policy, pods=pods), ONE)
    assert [(f.object, dict(f.evidence)["pods"]) for f in findings] == [
        ("Server ingress/nginx-https (denies what nothing admits)", "ingress/pod-10-42-0-11"),
        ("default policy deny (cluster default)", odd),
    ]
    assert "to 1 ready pod of Service" in findings[0].message


def test_unmeshed_pod_bypasses_policy() -> None:
    pods = {k: dataclasses.replace(v, meshed=False) for k, v in healthy_pods().items()}
    policy = policy_from(mesh_tls_policy(OTHER_ID))
    st, _ = run_one("client_identity_unauthorized", world(policy, pods=pods), ONE)
    assert st.state == "pass"


def test_identity_from_client_identity_when_the_pem_is_unknown() -> None:
    st, findings = run_one("client_identity_unauthorized", world(devices=[unparsed()]), WITH_ID)
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        f"bigip-a: client certificate {CLIENT_CERT_PATH}: no subjectAlternativeName field, and"
        " on TMOS 13.1.0.8 its absence does not prove the certificate has no SAN (the field is"
        " relied on from TMOS 14.1); the identity it names cannot be checked from the REST"
        " fields (bundleReader bash, a bash-capable role, reads the certificate itself);"
        f" clientIdentity {BIGIP_ID} was evaluated instead"
    )
    policy = policy_from(mesh_tls_policy(OTHER_ID))
    st, (f,) = run_one("client_identity_unauthorized", world(policy, devices=[unparsed()]), WITH_ID)
    assert dict(f.evidence)["identity_from"] == "clientIdentity"


def test_unknown_identity_without_pem_or_client_identity() -> None:
    st, findings = run_one("client_identity_unauthorized", world(devices=[unparsed()]), ONE)
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a",), ())
    assert "no subjectAlternativeName field, and on TMOS 13.1.0.8" in st.detail


def test_identity_from_the_rest_san_field_without_the_pem() -> None:
    """No PEM and no clientIdentity: the ssl-cert's subjectAlternativeName names BIG-IP."""
    st, findings = run_one("client_identity_unauthorized", world(devices=[rest_only()]), ONE)
    assert (st.state, st.detail, findings) == ("pass", "", ())
    policy = policy_from(mesh_tls_policy(OTHER_ID))
    _, (f,) = run_one("client_identity_unauthorized", world(policy, devices=[rest_only()]), ONE)
    evidence = dict(f.evidence)
    assert (evidence["identity"], evidence["identity_from"]) == (BIGIP_ID, "ssl-cert SAN")


def test_rest_san_without_identity_is_anonymous_tls() -> None:
    """TMOS 15.1 lists no subjectAlternativeName: the certificate has no SAN extension."""
    cert = leaf("bigip", ISSUER, dns=(), eku=(CLIENT_AUTH,))
    st, (f,) = run_one("client_identity_unauthorized", world(devices=[rest_only(cert)]), ONE)
    assert (st.state, dict(f.evidence)["identity"]) == ("critical", "none")


def test_the_certificate_san_is_what_the_mesh_sees() -> None:
    """clientIdentity is not among the SANs: the SAN is evaluated (client_identity_mismatch
    reports the difference)."""
    cfg = config(shop(devices=["bigip-a"], clientIdentity=OTHER_ID))
    policy = policy_from(mesh_tls_policy(OTHER_ID))
    _, (f,) = run_one("client_identity_unauthorized", world(policy), cfg)
    assert dict(f.evidence)["identity"] == BIGIP_ID


def test_certificate_without_identity_is_evaluated_as_anonymous_tls() -> None:
    cert = leaf("bigip", ISSUER, dns=(), eku=(CLIENT_AUTH,))
    certs = {**bigip_certs(), CLIENT_CERT_PATH: ssl_cert(cert, CLIENT_CERT_PATH, parsed=True)}
    st, (f,) = run_one(
        "client_identity_unauthorized", world(devices=[f5("bigip-a", certs=certs)]), ONE
    )
    assert (st.state, f.object, dict(f.evidence)["identity"]) == ("critical", SERVER_DENIES, "none")
    assert f.message.startswith(
        "bigip-a: the mesh policy does not admit BIG-IP's client certificate, which names no"
        " identity, to 2 ready pods"
    )


def test_no_client_cert_passes_with_a_note() -> None:
    st, findings = run_one("client_identity_unauthorized", world(devices=[no_cert()]), ONE)
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        f"bigip-a: client certificate none (server-ssl {SHOP_PROFILE}): BIG-IP presents none"
        " (see client_cert_missing)"
    )


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"policy": None}, "kubernetes: Linkerd policy of the backend namespaces unknown"),
        (
            {"unknown": frozenset({"policy"})},
            "kubernetes: Linkerd policy of the backend namespaces unknown",
        ),
        ({"services": {}}, "kubernetes: endpoints of Service ingress/nginx-ingress unknown"),
    ],
    ids=["policy-none", "policy-listed-unknown", "service-unknown"],
)
def test_mesh_inputs_unknown(changes: dict[str, Any], detail: str) -> None:
    st, findings = run_one("client_identity_unauthorized", observed(mesh_state=mesh(**changes)))
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a", "bigip-b"),
        (),
    )


def test_unknown_pod_is_an_unknown_part_beside_findings() -> None:
    pods = {k: v for k, v in healthy_pods().items() if not k.endswith("10-42-0-12")}
    policy = policy_from(mesh_tls_policy(OTHER_ID))
    st, (f,) = run_one("client_identity_unauthorized", world(policy, pods=pods), ONE)
    assert (st.state, st.unknown_parts) == ("critical", ("bigip-a",))
    assert dict(f.evidence)["pods"] == "ingress/pod-10-42-0-11"


# --- probing the policy's networks ------------------------------------------------------------


def test_probe_addresses_avoid_excepts() -> None:
    policy = policy_from(mesh_tls_policy(BIGIP_ID, network=True))
    probes = probe_addresses(policy)
    assert "192.0.2.255" in probes
    assert "192.0.2.128" in probes
    assert not any(p.startswith("192.0.2.") and int(p.rsplit(".", 1)[1]) < 128 for p in probes)
    assert "10.0.0.0" in probes  # the default cluster networks
    assert "fd00::" in probes
