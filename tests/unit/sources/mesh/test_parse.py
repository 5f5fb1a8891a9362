"""The mesh source's pure parts: object meaning (`monitor.sources.mesh.parse`) and reason codes
(`monitor.sources.kube.errors`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import urllib3.exceptions as u3
import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from monitor.model import Endpoint
from monitor.sources.errors import SourceFailure, status_reason
from monitor.sources.kube.errors import api_error, client_error, read_error, transport_reason
from monitor.sources.mesh.parse import (
    PodFacts,
    SliceEndpoint,
    endpoints,
    issuer_from_secret,
    issuer_keys,
    issuer_scheme,
    parse_values,
    pod_facts,
    port_name,
    proxy_versions,
    slice_endpoints,
)
from monitor.sources.mesh.specs import pods_selector
from tests.support.sim_kube import CERTS

SERVICE = {"spec": {"ports": [{"name": "https", "port": 443}, {"name": "admin", "port": 9990}]}}


# -- Linkerd objects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "scheme"),
    [
        ({}, "linkerd.io/tls"),
        ({"identity": {"issuer": {"scheme": ""}}}, "linkerd.io/tls"),
        ({"identity": {"issuer": {"scheme": "kubernetes.io/tls"}}}, "kubernetes.io/tls"),
        ({"identity": None}, "linkerd.io/tls"),
    ],
)
def test_issuer_scheme(values: dict[str, Any], scheme: str) -> None:
    assert issuer_scheme(values) == scheme


def test_issuer_keys_follow_the_identity_controller() -> None:
    assert issuer_keys("linkerd.io/tls") == ("crt.pem", None)
    assert issuer_keys("kubernetes.io/tls") == ("tls.crt", "ca.crt")
    assert issuer_keys("something-else") == ("tls.crt", "ca.crt")


@pytest.mark.parametrize("text", ["- a list", "a: [unclosed", "just a string"])
def test_values_must_be_a_yaml_mapping(text: str) -> None:
    with pytest.raises(SourceFailure) as err:
        parse_values(text, "configmap linkerd/linkerd-config")
    assert err.value.reason == "bad_json"
    assert err.value.error.message.startswith("configmap linkerd/linkerd-config: ")


def test_issuer_from_secret() -> None:
    pem = (CERTS["issuer-2"].pem + CERTS["inter"].pem).encode()
    issuer, errors = issuer_from_secret(
        "kubernetes.io/tls", {"tls.crt": pem, "ca.crt": CERTS["anchor-a"].pem.encode()}, "s"
    )
    assert errors == ()
    assert issuer.cert.fingerprint_sha256 == CERTS["issuer-2"].sha256
    assert [c.fingerprint_sha256 for c in issuer.chain] == [CERTS["inter"].sha256]
    assert [c.fingerprint_sha256 for c in issuer.ca_bundle] == [CERTS["anchor-a"].sha256]


def test_issuer_with_a_bad_ca_crt_is_known_with_an_error() -> None:
    data = {"tls.crt": CERTS["issuer"].pem.encode(), "ca.crt": b"garbage"}
    issuer, errors = issuer_from_secret("kubernetes.io/tls", data, "secret linkerd/x")
    assert issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    assert issuer.ca_bundle == ()
    assert [e.reason for e in errors] == ["bad_pem"]
    assert "ca.crt" in errors[0].message


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({}, "no crt.pem entry"),
        ({"crt.pem": b""}, "empty"),
        ({"crt.pem": CERTS["issuer"].pem[:200].encode()}, "truncated_pem"),
    ],
)
def test_issuer_certificate_problems_are_bad_pem(data: dict[str, bytes], text: str) -> None:
    with pytest.raises(SourceFailure) as err:
        issuer_from_secret("linkerd.io/tls", data, "secret linkerd/linkerd-identity-issuer")
    assert err.value.reason == "bad_pem"
    assert text in err.value.error.message


def test_proxy_versions() -> None:
    def pod(version: str | None) -> dict[str, Any]:
        annotations = {} if version is None else {"linkerd.io/proxy-version": version}
        return {"metadata": {"annotations": annotations}}

    assert proxy_versions([]) == ""
    assert proxy_versions([pod("stable-2.14.10"), pod(None), pod("stable-2.14.10")]) == (
        "stable-2.14.10"
    )
    assert proxy_versions([pod("v2"), pod("v1")]) == "v1,v2"  # during an upgrade


# -- Services, slices, pods --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "name"),
    [(443, "https"), ("admin", "admin"), (8443, None), ("http", None), ("https", "https")],
)
def test_port_name(port: int | str, name: str | None) -> None:
    assert port_name(SERVICE, port) == name


def test_unnamed_service_port() -> None:
    assert port_name({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}, 80) == ""


def svc(selector: dict[str, str] | None) -> dict[str, Any]:
    return {"spec": {} if selector is None else {"selector": selector}}


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ([{"app": "a", "tier": "edge"}], "app=a,tier=edge"),
        ([{"app": "a", "tier": "edge"}, {"app": "b", "tier": "edge"}], "app in (a,b),tier=edge"),
        ([{"app": "a"}, {"app": "b"}], "app in (a,b)"),
        ([{"app": "a"}, {"tier": "b"}], ""),
        ([{"app": "a"}, None], ""),
        ([{}], ""),
        ([], ""),
    ],
)
def test_pods_selector_covers_every_service(
    selectors: list[dict[str, str] | None], expected: str
) -> None:
    assert pods_selector([svc(s) for s in selectors]) == expected


def ep(
    address: str, ready: bool | None = True, pod: str | None = "p", **ref: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"addresses": [address], "conditions": {}}
    if ready is not None:
        out["conditions"]["ready"] = ready
    if pod is not None:
        out["targetRef"] = {"kind": "Pod", "name": pod, **ref}
    return out


def slice_(endpoints: list[dict[str, Any]], ports: Any, family: str = "IPv4") -> dict[str, Any]:
    return {"addressType": family, "ports": ports, "endpoints": endpoints}


HTTPS = [{"name": "https", "port": 8443, "protocol": "TCP"}]


def test_slice_endpoints() -> None:
    slices = [
        slice_([ep("10.0.0.2", None, "b"), ep("10.0.0.1", False, "a")], HTTPS),
        slice_([ep("10.0.0.1", True, "a"), ep("10.0.0.3", True, None)], HTTPS),  # a ready copy
        slice_([ep("10.0.0.9")], [{"name": "admin", "port": 9990}]),  # another port
        slice_([ep("10.0.0.8")], None),  # no ports
        slice_([ep("web.example.com")], HTTPS, "FQDN"),
        slice_([ep("fd00::1", False, "c", namespace="other")], HTTPS, "IPv6"),
        slice_([{"addresses": []}, {"conditions": {}}], HTTPS),
    ]
    assert slice_endpoints(slices, "ns", "https") == [
        SliceEndpoint("10.0.0.1", 8443, True, ("ns", "a")),
        SliceEndpoint("10.0.0.2", 8443, True, ("ns", "b")),  # ready unset counts as ready
        SliceEndpoint("10.0.0.3", 8443, True, None),
        SliceEndpoint("fd00::1", 8443, False, ("other", "c")),
    ]
    assert slice_endpoints(slices, "ns", "") == []


def test_unnamed_slice_port() -> None:
    slices = [slice_([ep("10.0.0.1")], [{"port": 8080, "protocol": "TCP"}])]
    assert slice_endpoints(slices, "ns", "") == [SliceEndpoint("10.0.0.1", 8080, True, ("ns", "p"))]


@pytest.mark.parametrize(
    ("spec", "facts"),
    [
        ({"serviceAccountName": "sa", "containers": [{"name": "app"}]}, PodFacts("sa", False)),
        (
            {"serviceAccount": "old", "containers": [{"name": "app"}, {"name": "linkerd-proxy"}]},
            PodFacts("old", True),
        ),
        (
            {"containers": [{"name": "app"}], "initContainers": [{"name": "linkerd-proxy"}]},
            PodFacts(None, True),
        ),
        ({"containers": [{"name": "app"}], "initContainers": [{"name": "linkerd-init"}]},
         PodFacts(None, False)),
    ],
)  # fmt: skip
def test_pod_facts(spec: dict[str, Any], facts: PodFacts) -> None:
    assert pod_facts({"spec": spec}) == facts


def test_endpoints_join_pod_facts() -> None:
    found = [
        SliceEndpoint("10.0.0.1", 443, True, ("ns", "a")),
        SliceEndpoint("10.0.0.2", 443, False, ("ns", "gone")),
        SliceEndpoint("10.0.0.3", 443, True, None),
    ]
    pods = {("ns", "a"): PodFacts("sa", True)}
    assert endpoints(found, pods) == (
        Endpoint("10.0.0.1", 443, True, "ns/a", "sa", True),
        Endpoint("10.0.0.2", 443, False, "ns/gone", None, None),
        Endpoint("10.0.0.3", 443, True, None, None, None),
    )
    assert [e.meshed for e in endpoints(found, None)] == [None, None, None]


# -- reason codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, "http_401"), (403, "http_403"), (404, "http_404"), (410, "http_4xx"),
     (429, "rate_limited"), (500, "http_5xx"), (503, "http_5xx"), (0, "protocol_error")],
)  # fmt: skip
def test_status_reason(status: int, reason: str) -> None:
    assert status_reason(status) == reason


def test_api_error_keeps_only_the_status_message() -> None:
    body = json.dumps({"kind": "Status", "message": 'secrets "x" is forbidden', "code": 403})
    err = ApiException(status=403, reason="Forbidden", body=body)
    err.headers = {"Authorization": "Bearer sekret"}
    error = api_error(err, "secret linkerd/x")
    assert (error.reason, error.target) == ("http_403", "secret linkerd/x")
    assert error.message == 'secret linkerd/x: HTTP 403: secrets "x" is forbidden'
    html = "<html><head><title>500 Internal Server Error</title></head></html>"
    error = api_error(ApiException(status=500, body=html), "t")
    assert error.message == 't: HTTP 500: HTML error page "500 Internal Server Error"'
    assert api_error(ApiException(status=502, body=""), "t").message == "t: HTTP 502: empty body"


def test_client_side_ssl_error_is_tls_error() -> None:
    err = ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] failed")
    error = api_error(err, "t")
    assert error.reason == "tls_error"
    assert "CERTIFICATE_VERIFY_FAILED" in error.message


@pytest.mark.parametrize(
    ("err", "reason"),
    [
        (u3.NewConnectionError(None, "Connection refused"), "connect_error"),  # type: ignore[arg-type]
        (u3.ReadTimeoutError(None, "/", "read timed out"), "timeout"),  # type: ignore[arg-type]
        (u3.ConnectTimeoutError("connect timed out"), "timeout"),
        (u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
         "protocol_error"),
        (u3.MaxRetryError(None, "/", u3.NewConnectionError(None, "refused")),  # type: ignore[arg-type]
         "connect_error"),
        (u3.MaxRetryError(None, "/", u3.SSLError("bad certificate")), "tls_error"),  # type: ignore[arg-type]
        (ConnectionRefusedError(111, "refused"), "connect_error"),
    ],
)  # fmt: skip
def test_transport_reason(err: Exception, reason: str) -> None:
    assert transport_reason(err) == reason
    assert read_error(err, "pods ns").reason == reason


def test_undecodable_body_is_bad_json() -> None:
    try:
        json.loads(b'{"kind": "ConfigMap", "da')
    except ValueError as err:
        error = read_error(err, "configmap linkerd/x")
    assert error.reason == "bad_json"
    assert error.message.startswith("configmap linkerd/x: response is not JSON")


def test_client_errors_name_the_file_never_its_content() -> None:
    path = Path("/etc/kube/config")
    try:
        yaml.safe_load("users:\n  - user: {token: sekret-123\n")
    except yaml.YAMLError as err:
        error = client_error(err, path, "prod")
    assert error.reason == "credentials_unreadable"
    assert error.message.startswith("kubeconfig /etc/kube/config: not valid YAML (line ")
    assert "sekret" not in error.message
    assert "(context prod)" in error.message
    missing = client_error(FileNotFoundError(str(path)), path, None)
    assert missing.message == "kubeconfig /etc/kube/config: file not found"
    denied = client_error(PermissionError(13, "Permission denied"), path, None)
    assert denied.message == "kubeconfig /etc/kube/config: cannot read the file: Permission denied"
    no_env = client_error(ConfigException("Service host/port is not set."), None, None)
    assert (no_env.reason, no_env.target) == ("connect_error", "in-cluster config")
    no_token = client_error(ConfigException("Service token file does not exist."), None, None)
    assert no_token.reason == "credentials_unreadable"
