"""`certrequest`: which CertificateRequest holds the issued issuer, and reading it bounded."""

from __future__ import annotations

import base64
import copy
from typing import Any

from monitor.sources.mesh.certrequest import (
    MAX_ENCODED,
    NAME_KEY,
    REVISION_KEY,
    issued_certificate,
    pick_request,
    request_record,
)
from tests.support.sim_kube import CERTS, find, linkerd, render, scenario

UID = "5d1f0a52-0000-4000-8000-000000000001"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def certificate(revision: Any = 2, cert: str = "issuer", **status: Any) -> dict[str, Any]:
    not_after = CERTS[cert].cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"name": "linkerd-identity-issuer", "namespace": "linkerd", "uid": UID},
        "status": {"revision": revision, "notAfter": not_after, **status},
    }


def request(revision: int, cert: str = "issuer", *, name: str = "linkerd-identity-issuer",
            uid: str = UID, **status: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "metadata": {
            "name": f"{name}-{revision}",
            "namespace": "linkerd",
            "annotations": {NAME_KEY: name, REVISION_KEY: str(revision)},
            "ownerReferences": [{"kind": "Certificate", "name": name, "uid": uid}],
        },
        "spec": {"request": b64("-----BEGIN CERTIFICATE REQUEST-----\n...")},
        "status": {
            "certificate": b64(CERTS[cert].pem),
            "ca": b64(CERTS["anchor-a"].pem),
            **status,
        },
    }


def test_the_current_revision_is_taken_and_the_others_ignored() -> None:
    old, current, next_one = request(1, "issuer-2"), request(2), request(3, "issuer-2")
    found, why = pick_request([next_one, old, current], certificate(2))
    assert (found, why) == (current, "")
    issuer, note = issued_certificate([old, current, next_one], certificate(2), "kubernetes.io/tls")
    assert note == ""
    assert issuer is not None
    assert issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    assert [c.fingerprint_sha256 for c in issuer.ca_bundle] == [CERTS["anchor-a"].sha256]
    assert issuer.scheme == "kubernetes.io/tls"


def test_the_chain_after_the_certificate_is_kept() -> None:
    req = request(1, "issuer-2")
    req["status"]["certificate"] = b64(CERTS["issuer-2"].pem + CERTS["inter"].pem)
    issuer, _ = issued_certificate([req], certificate(1, "issuer-2"), "")
    assert issuer is not None
    assert [c.fingerprint_sha256 for c in issuer.chain] == [CERTS["inter"].sha256]


def test_another_certificates_request_or_owner_is_ignored() -> None:
    other = request(2, name="other")
    stolen = request(2, uid="another-uid")  # same name, another (deleted and made again) owner
    found, why = pick_request([other, stolen], certificate(2))
    assert found is None
    assert why.startswith("no CertificateRequest of Certificate linkerd/linkerd-identity-issuer")
    assert "at revision 2 (of 0 found" in why


def test_the_wrong_revision_alone_is_not_taken() -> None:
    issuer, note = issued_certificate([request(1, "issuer-2")], certificate(2), "")
    assert issuer is None
    assert "at revision 2 (of 1 found; cert-manager deletes requests beyond" in note


def test_nothing_issued_yet_is_a_note() -> None:
    for revision in (None, "two", True, -1):
        issuer, note = issued_certificate([request(1)], certificate(revision), "")
        assert issuer is None, revision
        assert "has no status.revision" in note, revision


def test_bad_base64_or_pem_is_a_note() -> None:
    cases = {
        "not base64!": "status.certificate is not base64",
        b64("no pem here"): "no PEM block found",
        "": "no status.certificate",
        "A" * (MAX_ENCODED + 4): f"status.certificate is longer than {MAX_ENCODED} characters",
    }
    for value, expected in cases.items():
        issuer, note = issued_certificate([request(2, certificate=value)], certificate(2), "")
        assert issuer is None, value[:20]
        assert expected in note, (value[:20], note)
        assert note.startswith("CertificateRequest linkerd/linkerd-identity-issuer-2")
        assert len(note) < 1000


def test_a_bad_ca_is_noted_beside_a_known_issuer() -> None:
    issuer, note = issued_certificate([request(2, ca="%%%")], certificate(2), "")
    assert issuer is not None
    assert issuer.ca_bundle == ()
    assert note == "CertificateRequest linkerd/linkerd-identity-issuer-2: status.ca is not base64"


def test_a_certificate_that_is_not_the_one_issued_is_not_taken() -> None:
    """status.notAfter is the Secret's certificate's: a request that disagrees is stale."""
    issuer, note = issued_certificate([request(2, "issuer-2")], certificate(2), "")
    assert issuer is None
    assert "not at the Certificate's status.notAfter" in note


def test_the_record_keeps_what_is_read_and_no_csr() -> None:
    full = request(2)
    full["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    full["metadata"]["managedFields"] = [{"manager": "cert-manager"}]
    record = request_record(copy.deepcopy(full))
    assert "spec" not in record
    assert "managedFields" not in record["metadata"]
    assert set(record["metadata"]["annotations"]) == {NAME_KEY, REVISION_KEY}
    issuer, _ = issued_certificate([record], certificate(2), "")
    assert issuer is not None


def test_the_simulated_requests_are_cert_managers() -> None:
    cm = {"history": ["issuer-2", "issuer-2"], "revisionHistoryLimit": 2}
    issuer = {"scheme": "kubernetes.io/tls", "cert": "issuer"}
    world = render(scenario(linkerd=linkerd(issuer=issuer, certManager=cm)))
    cert = find(world, "Certificate", "linkerd-identity-issuer", "linkerd")
    assert cert["status"]["revision"] == 3
    requests = [o for o in world.objects if o["kind"] == "CertificateRequest"]
    assert [r["metadata"]["annotations"][REVISION_KEY] for r in requests] == ["2", "3"]
    current = requests[-1]
    (owner,) = current["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Certificate", "linkerd-identity-issuer", cert["metadata"]["uid"], True)  # fmt: skip
    conditions = {c["type"]: (c["status"], c["reason"]) for c in current["status"]["conditions"]}
    assert conditions == {"Approved": ("True", "cert-manager.io"), "Ready": ("True", "Issued")}
    found, note = issued_certificate(requests, cert, "kubernetes.io/tls")
    assert note == ""
    assert found is not None
    assert found.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    default = render(
        scenario(linkerd=linkerd(issuer=issuer, certManager={"history": ["issuer-2"]}))
    )
    kept = [o["metadata"]["name"] for o in default.objects if o["kind"] == "CertificateRequest"]
    assert kept == ["linkerd-identity-issuer-2"]  # revisionHistoryLimit 1 (cert-manager 1.18+)
    every = {"history": ["issuer-2"], "revisionHistoryLimit": None}
    world = render(scenario(linkerd=linkerd(issuer=issuer, certManager=every)))
    assert sum(o["kind"] == "CertificateRequest" for o in world.objects) == 2
