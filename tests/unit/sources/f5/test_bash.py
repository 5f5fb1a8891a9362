"""CA bundle contents through util/bash: `bundleReader` auto and bash, refusals, parsing."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from monitor.model import CaBundle, SslCert
from monitor.sources.errors import SourceFailure, failure
from monitor.sources.f5.bash import REFUSED_PAUSE, BashReader, certificates, decode_result
from monitor.sources.f5.paths import (
    decode_path,
    encode_path,
    filestore_glob,
    parse_destination,
    split_path,
)
from tests.support.sim_bigip import certs
from tests.unit.sources.f5.test_source import ok, sha256, small_section, world

BASH = ("POST", "/mgmt/tm/util/bash")
MANAGERS = ("GET", "/mgmt/tm/sys/crypto/ca-bundle-manager")


def bash_section(allowed: bool = True) -> dict[str, Any]:
    sec = small_section()
    sec["devices"] = [{"name": "solo", "bashAllowed": allowed}]
    return sec


# -- against the simulated BIG-IP ---------------------------------------------------------


def test_auto_reads_bundles_without_a_manager_through_bash(tmp_path: Path) -> None:
    with world(tmp_path, bash_section()) as w:
        state = ok(w.poll())
        # legacy_bundle.crt and nested_bundle, and the boundary's certificates: edge.crt
        # (client-ssl) and bigip_client.crt (server-ssl)
        assert w.stats_by(*BASH) == 4
        again = ok(w.poll())
        assert w.stats_by(*BASH) == 4  # unchanged files (same checksum) are not read again
    legacy = state.bundles["/Common/legacy_bundle.crt"]
    assert legacy.reader == "bash"
    assert legacy.members is not None
    assert [m.fingerprint for m in legacy.members] == [sha256("anchor-a"), sha256("public-root")]
    assert [m.path for m in legacy.members] == [
        "/Common/legacy_bundle.crt#1",
        "/Common/legacy_bundle.crt#2",
    ]
    first = legacy.members[0]
    assert first.facts is not None
    assert first.facts.der == certs()["anchor-a"].der
    assert first.not_after == certs()["anchor-a"].cert.not_valid_after_utc
    nested = state.bundles["/Common/nested_bundle"]
    assert (nested.reader, len(nested.members or ())) == ("bash", 2)
    made = state.bundles["/k8s/Shared/serverssl_ca_bundle"]
    assert made.reader == "ca-bundle-manager"  # a manager describes it: no bash needed
    assert again.bundles == state.bundles


def test_bash_reader_reads_every_bundle_file_and_skips_the_managers(tmp_path: Path) -> None:
    with world(tmp_path, bash_section(), bundleReader="bash") as w:
        state = ok(w.poll())
        assert w.stats_by(*BASH) == 3 + 2  # three bundles, the boundary's two certificates
        assert w.stats_by(*MANAGERS) == 0
    made = state.bundles["/k8s/Shared/serverssl_ca_bundle"]
    assert made.reader == "bash"
    assert {m.fingerprint for m in made.members or ()} == {
        sha256("anchor-a"),
        sha256("public-root"),
    }
    single = state.bundles["/k8s/Shared/linkerd_anchor_a.crt"]
    assert single.reader == "ssl-cert"  # one certificate: its own fields say everything


def test_bash_reader_refused_is_an_error_every_poll(tmp_path: Path) -> None:
    with world(tmp_path, bash_section(allowed=False), bundleReader="bash") as w:
        state, status = w.poll()
        state2, status2 = w.poll()
        assert w.stats_by(*BASH) == 2  # one try per poll, not one per bundle
    assert state is not None
    assert [(e.reason, e.target) for e in status.errors] == [("http_401", "util/bash")]
    assert "Authorization failed: user=" in status.errors[0].message
    assert not status.up
    legacy = state.bundles["/Common/legacy_bundle.crt"]
    assert (legacy.members, legacy.reader) == (None, "bash")
    assert legacy.unknown_reason == (
        "util/bash was refused (http_401): bundleReader bash needs a bash-capable role"
    )
    assert [e.reason for e in status2.errors] == ["http_401"]
    assert state2 is not None


def test_auto_leaves_bash_alone_for_a_while_after_a_refusal(tmp_path: Path) -> None:
    with world(tmp_path, bash_section(allowed=False)) as w:
        first = ok(w.poll())  # a refusal under auto is not an error: the bundle is unknown
        ok(w.poll())
        assert w.stats_by(*BASH) == 1
        w.rt.clock.advance(REFUSED_PAUSE + 1)
        ok(w.poll())
        assert w.stats_by(*BASH) == 2
    reason = first.bundles["/Common/nested_bundle"].unknown_reason
    assert reason.startswith("member /Common/legacy_bundle.crt of ca-bundle-manager")
    assert reason.endswith(
        "reading the file through util/bash was refused (http_401): a bash-capable role"
        " would be needed (bundleReader auto tries again every 15 minutes)"
    )


def test_bundle_reader_ca_bundle_manager_never_runs_bash(tmp_path: Path) -> None:
    with world(tmp_path, bash_section(), bundleReader="ca-bundle-manager") as w:
        state = ok(w.poll())
        assert w.stats_by(*BASH) == 0
    assert state.bundles["/Common/legacy_bundle.crt"].members is None


# -- the reader's rules, with a stand-in for the device -----------------------------------

PEM = certs()["anchor-a"].pem + certs()["public-root"].pem
DER = certs()["anchor-a"].der
BUNDLE = "/k8s/Shared/ca"
UNKNOWN = CaBundle(BUNDLE, None, "none", "no ca-bundle-manager object describes /k8s/Shared/ca")


def _cert(fingerprint: str | None = None) -> SslCert:
    return SslCert(BUNDLE, True, fingerprint or sha256("anchor-a"), None, "", "")


def _answer(data: bytes) -> dict[str, Any]:
    return {"command": "run", "commandResult": base64.encodebytes(data).decode()}


class Device:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, body: dict[str, Any], what: str) -> Any:
        self.bodies.append(body)
        answer = self.answers.pop(0)
        if isinstance(answer, SourceFailure):
            raise answer
        return answer


def _read(device: Device, mode: str = "auto", cert: SslCert | None = None) -> Any:
    reader = BashReader("bigip-a", mode, lambda: 1000.0)
    bundles = {BUNDLE: UNKNOWN}
    return reader.complete(
        bundles, {BUNDLE: cert or _cert()}, {}, device, lambda f, xs: [f(x) for x in xs]
    )


@pytest.mark.parametrize(
    "data",
    [
        PEM.encode(),
        DER,
        base64.b64encode(DER),  # PEM without its header lines
    ],
    ids=["pem", "der", "headerless-pem"],
)
def test_the_three_file_forms(data: bytes) -> None:
    device = Device(_answer(data))
    bundles, errors = _read(device)
    assert errors == []
    assert bundles[BUNDLE].reader == "bash"
    assert bundles[BUNDLE].members[0].fingerprint == sha256("anchor-a")
    assert device.bodies == [
        {
            "command": "run",
            "utilCmdArgs": "-c 'cat /config/filestore/files_d/k8s_d/certificate_d/"
            ":k8s:Shared:ca_[0-9]*_[0-9]* | base64'",
        }
    ]


def test_a_file_not_holding_the_described_certificate_is_not_its_contents() -> None:
    bundles, errors = _read(Device(_answer(DER)), cert=_cert(sha256("public-root")))
    assert errors == []
    assert bundles[BUNDLE].members is None
    assert "does not hold the certificate its ssl-cert object describes" in (
        bundles[BUNDLE].unknown_reason
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"command": "run"}, "printed nothing"),
        (
            {"commandResult": "cat: /config/filestore/x_*: No such file or directory\n"},
            "not found in the filestore (cat: /config/filestore/x_*: No such file",
        ),
        ({"commandResult": "%%% not base64 %%%"}, "not base64"),
    ],
)
def test_odd_answers_leave_the_bundle_unknown(answer: dict[str, Any], why: str) -> None:
    bundles, errors = _read(Device(answer))
    assert errors == []
    assert bundles[BUNDLE].members is None
    assert why in bundles[BUNDLE].unknown_reason
    assert bundles[BUNDLE].unknown_reason.startswith(UNKNOWN.unknown_reason + "; ")


def test_a_broken_file_is_bad_pem() -> None:
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n"
    bundles, errors = _read(Device(_answer(broken)), mode="bash")
    assert [(e.reason, e.target) for e in errors] == [("bad_pem", "util/bash")]
    assert bundles[BUNDLE].members is None
    assert bundles[BUNDLE].unknown_reason.startswith("the file is not usable: truncated_pem")


def test_other_failures_are_errors_and_unknown() -> None:
    busy = failure(
        "http_5xx", "bigip-a: x through util/bash: HTTP 500: HTML error page", "util/bash"
    )
    bundles, errors = _read(Device(busy))
    assert [e.reason for e in errors] == ["http_5xx"]
    assert bundles[BUNDLE].members is None
    assert "util/bash failed: bigip-a: x through util/bash: HTTP 500" in (
        bundles[BUNDLE].unknown_reason
    )


def test_names_that_are_not_shell_safe_are_never_sent() -> None:
    device = Device()
    reader = BashReader("bigip-a", "bash", lambda: 0.0)
    odd = "/k8s/Shared/x;reboot"
    bundles, _ = reader.complete(
        {odd: CaBundle(odd, None, "none", "?")},
        {odd: SslCert(odd, True, None, None, "", "")},
        {},
        device,
        lambda f, xs: [f(x) for x in xs],
    )
    assert device.bodies == []
    assert "not passed to a shell" in bundles[odd].unknown_reason


def test_decode_and_certificates_helpers() -> None:
    assert decode_result({"commandResult": base64.b64encode(b"abc").decode() + "\n"}) == b"abc"
    assert decode_result("nope") == "util/bash printed nothing (the file is empty or was not found)"
    found, problem = certificates(PEM.encode())
    assert problem == ""
    assert [f.fingerprint_sha256 for f in found] == [sha256("anchor-a"), sha256("public-root")]
    assert certificates(b"junk")[1].startswith("bad_der")


# -- names and destinations ----------------------------------------------------------------


def test_paths_and_their_encodings() -> None:
    assert encode_path("/k8s/Shared/x%2") == "~k8s~Shared~x%252"
    assert decode_path("~k8s~Shared~x%252") == "/k8s/Shared/x%2"
    obj = split_path("/k8s/Shared/app/x")
    assert obj is not None
    assert (obj.partition, obj.folders, obj.name, obj.full) == (
        "k8s",
        ("Shared", "app"),
        "x",
        "/k8s/Shared/app/x",
    )
    assert split_path("x") is None
    assert split_path("/Common/") is None
    assert filestore_glob("/Common/ca.crt") == (
        "/config/filestore/files_d/Common_d/certificate_d/:Common:ca.crt_[0-9]*_[0-9]*"
    )
    assert filestore_glob("/Common/a b.crt") is None
    assert filestore_glob("/Common/$(id)") is None
    assert filestore_glob("/Common/ca.crt\n") is None  # a newline ends the shell command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Common/10.0.0.1:443", ("Common", "10.0.0.1", None, 443, "10.0.0.1:443")),
        ("/Common/10.0.0.1%2:80", ("Common", "10.0.0.1", 2, 80, "10.0.0.1:80")),
        (
            "/Common/2700:bc00:1f10:101::6%2.80",
            ("Common", "2700:bc00:1f10:101::6", 2, 80, "[2700:bc00:1f10:101::6]:80"),
        ),
        ("/k8s/2001:db8::1.443", ("k8s", "2001:db8::1", None, 443, "[2001:db8::1]:443")),
        ("/Common/10.0.0.1:any", ("Common", "10.0.0.1", None, 0, "10.0.0.1:0")),
        ("/Common/shop_address:443", ("Common", "shop_address", None, 443, "shop_address:443")),
        ("10.0.0.1:443", ("", "10.0.0.1", None, 443, "10.0.0.1:443")),
    ],
)
def test_destinations(text: str, expected: tuple[Any, ...]) -> None:
    d = parse_destination(text)
    assert d is not None
    assert (d.partition, d.address, d.route_domain, d.port, d.endpoint) == expected


@pytest.mark.parametrize(
    "text", ["/Common/10.0.0.1", "/Common/10.0.0.1:99999", "/Common/1.2.3.4.80", "", "/Common/:80"]
)
def test_not_destinations(text: str) -> None:
    assert parse_destination(text) is None
