"""Scenario documents: certificate specs, timeline parsing and the patch engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from monitor.simulate.certgen import CertSpec, CertSpecError, generate_all, parse_offset
from monitor.simulate.scenario import (
    PatchOp,
    apply_patch,
    cert_specs,
    load_document,
    timeline,
)
from monitor.simulate.spec import ScenarioError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _op(op: str, path: str, value: object = None) -> PatchOp:
    return PatchOp(op, path, value, "timeline[0].patch[0]")


DOC = {
    "name": "t",
    "bigip": {
        "config": {
            "pools": [
                {"path": "/k8s/Shared/a", "members": [{"address": "10.0.0.1", "port": 443}]},
                {"path": "/k8s/Shared/b", "members": []},
            ]
        }
    },
    "kubernetes": {"linkerd": {"anchors": ["a"]}},
}


def test_patch_replace_add_remove_and_selectors() -> None:
    out = apply_patch(
        DOC,
        (
            _op("replace", "/kubernetes/linkerd/anchors", ["b"]),
            _op("add", "/bigip/config/pools/[path=/k8s/Shared/b]/members/-", {"address": "x"}),
            _op("remove", "/bigip/config/pools/[path=/k8s/Shared/a]/members/[address=10.0.0.1]"),
            _op("add", "/kubernetes/linkerd/trustDomain", "example.org"),
        ),
    )
    assert out["kubernetes"]["linkerd"]["anchors"] == ["b"]
    assert out["kubernetes"]["linkerd"]["trustDomain"] == "example.org"
    assert out["bigip"]["config"]["pools"][0]["members"] == []
    assert out["bigip"]["config"]["pools"][1]["members"] == [{"address": "x"}]
    # the input document is untouched
    assert DOC["kubernetes"]["linkerd"]["anchors"] == ["a"]  # type: ignore[index]
    assert len(DOC["bigip"]["config"]["pools"][0]["members"]) == 1  # type: ignore[index]


def test_patch_insert_at_index() -> None:
    out = apply_patch(DOC, (_op("add", "/bigip/config/pools/0", {"path": "/Common/z"}),))
    assert [p["path"] for p in out["bigip"]["config"]["pools"]] == [
        "/Common/z",
        "/k8s/Shared/a",
        "/k8s/Shared/b",
    ]


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (
            _op("replace", "/kubernetes/linkerd/nope", 1),
            'timeline[0].patch[0].path: "/kubernetes/linkerd/nope": no key "nope" to replace '
            "(use add)",
        ),
        (
            _op("remove", "/bigip/config/pools/[path=/k8s/Shared/zz]"),
            'timeline[0].patch[0].path: "/bigip/config/pools/[path=/k8s/Shared/zz]": '
            "no list item with path = /k8s/Shared/zz",
        ),
        (
            _op("remove", "/bigip/config/pools/7"),
            'timeline[0].patch[0].path: "/bigip/config/pools/7": no list item "7"',
        ),
        (
            _op("replace", "kubernetes", 1),
            'timeline[0].patch[0].path: "kubernetes" must start with "/"',
        ),
        (
            _op("remove", "/bigip/config/pools/[path=/k8s"),
            'timeline[0].patch[0].path: "/bigip/config/pools/[path=/k8s": "[" without a '
            'closing "]"',
        ),
        (
            _op("replace", "/name/x", 1),
            'timeline[0].patch[0].path: "/name/x": cannot patch inside a str',
        ),
    ],
)
def test_patch_errors_name_the_operation(op: PatchOp, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_patch(DOC, (op,))
    assert str(info.value) == message


def test_timeline_is_sorted_and_parsed() -> None:
    doc = {
        "name": "t",
        "timeline": [
            {"at": "2m", "fault": {"target": "bigip-a", "type": "http503", "count": 2}},
            {"at": "30s", "description": "x", "patch": [{"op": "remove", "path": "/a"}]},
        ],
    }
    events = timeline(doc)
    assert [e.at for e in events] == [timedelta(seconds=30), timedelta(minutes=2)]
    assert events[0].patch[0].where == "timeline[1].patch[0]"
    assert events[1].fault is not None
    assert events[1].fault.count == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"at": "10x", "fault": {"target": "k", "type": "reset", "count": 1}},
            'timeline[0].at: invalid time "10x" (use e.g. 30s, 2m, 500ms)',
        ),
        ({"at": "1s"}, "timeline[0]: a timeline entry needs a patch or a fault"),
        (
            {"at": "1s", "patch": [{"op": "add", "path": "/x"}]},
            "timeline[0].patch[0]: a add operation needs a value",
        ),
        (
            {"at": "1s", "fault": {"target": "k", "type": "http503"}},
            "timeline[0].fault: a http503 fault needs exactly one of count or seconds",
        ),
        (
            {"at": "1s", "fault": {"target": "k", "type": "boom", "count": 1}},
            'timeline[0].fault.type: "boom" is not one of http503, http500html, latency, reset, '
            "truncate, html200, redirect, denied, tokenLimit, nextLinkLoop, nextLinkForeign, "
            "deepJson, drip, hugeBody, clockSkew, http403, expireTokens, watchExpire, watchDrop",
        ),
        (
            {"at": "1s", "fault": {"target": "k", "type": "latency", "count": 1}},
            "timeline[0].fault.delay: a latency fault needs a positive delay (seconds)",
        ),
        ({"at": "1s", "when": 3}, "timeline[0].when: unknown key"),
    ],
)
def test_timeline_errors(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        timeline({"name": "t", "timeline": [entry]})
    assert str(info.value) == message


def test_cert_specs_read_every_field() -> None:
    specs = cert_specs(
        {
            "certificates": {
                "root": {"cn": "r", "ca": True, "pathLen": 1, "notAfter": "+20d"},
                "leaf": {
                    "cn": "l",
                    "sans": ["a.example", "URI:spiffe://x/y"],
                    "key": "ecdsa-p384",
                    "signer": "root",
                    "signatureHash": "sha384",
                    "eku": ["clientAuth"],
                },
            }
        }
    )
    assert specs["root"] == CertSpec("root", "r", ca=True, path_len=1, not_after="+20d")
    assert specs["leaf"].sans == ("a.example", "URI:spiffe://x/y")
    assert specs["leaf"].eku == ("clientAuth",)


@pytest.mark.parametrize(
    ("certs", "message"),
    [
        ({"a": {"ca": True}}, "certificates.a.cn: required"),
        ({"a": {"cn": "x", "signer": "b"}}, 'certificates.a.signer: unknown certificate "b"'),
        (
            {"a": {"cn": "x", "key": "rsa-1000"}},
            'certificates.a.key: "rsa-1000" is not one of '
            "ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096, ed25519",
        ),
        (
            {"a": {"cn": "x", "pathlen": 1}},
            'certificates.a.pathlen: unknown key (did you mean "pathLen"?)',
        ),
        ({"a": {"cn": 5}}, "certificates.a.cn: expected a string, got int"),
    ],
)
def test_cert_spec_errors(certs: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        cert_specs({"certificates": certs})
    assert str(info.value) == message


def test_generated_certificates_follow_their_specs() -> None:
    specs = cert_specs(
        {
            "certificates": {
                "root": {
                    "cn": "root.linkerd.cluster.local",
                    "ca": True,
                    "pathLen": 1,
                    "notBefore": "-300d",
                    "notAfter": "+20d",
                },
                "leaf": {
                    "cn": "l",
                    "sans": ["a.example", "URI:spiffe://td/x"],
                    "signer": "root",
                    "notAfter": "+12h",
                },
            }
        }
    )
    made = generate_all(specs, NOW, "seed")
    root, leaf = made["root"].cert, made["leaf"].cert
    assert root.not_valid_after_utc == NOW + timedelta(days=20)
    assert root.not_valid_before_utc == NOW - timedelta(days=300)
    assert leaf.not_valid_after_utc == NOW + timedelta(hours=12)
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 1)
    leaf.verify_directly_issued_by(root)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.example"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://td/x"]


def test_generation_is_deterministic_and_seeded() -> None:
    specs = {"a": CertSpec("a", "x", ca=True), "b": CertSpec("b", "y", signer="a")}
    first = generate_all(specs, NOW, "s1")
    again = generate_all(specs, NOW, "s1")
    other = generate_all(specs, NOW, "s2")
    assert first["b"].der == again["b"].der
    assert first["b"].der != other["b"].der
    assert first["a"].cert.serial_number != first["b"].cert.serial_number


def test_rsa_keys_are_deterministic_and_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("F5LM_CACHE_DIR", str(tmp_path))
    specs = {"r": CertSpec("r", "rsa", key="rsa-2048", ca=True)}
    first = generate_all(specs, NOW, "rsa-seed")["r"]
    assert first.cert.public_key().key_size == 2048  # type: ignore[union-attr]
    first.cert.verify_directly_issued_by(first.cert)
    assert generate_all(specs, NOW, "rsa-seed")["r"].der == first.der


def test_rsa_key_cache_needs_a_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without HOME (the image's user has none) `~` stays relative: no cache, not `./~`."""
    from monitor.simulate import certgen

    for name in ("F5LM_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("pwd.getpwuid", lambda uid: (_ for _ in ()).throw(KeyError(uid)))
    assert certgen._cache_dir() is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert certgen._cache_dir() == tmp_path / "cache" / "f5-linkerd-monitor" / "sim-rsa-keys"


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ({"a": CertSpec("a", "x", signer="a")}, "certificate a: signer chain loops back to itself"),
        (
            {"a": CertSpec("a", "x"), "b": CertSpec("b", "y", signer="a")},
            'certificate b: signer "a" is not a CA (set ca: true)',
        ),
        (
            {"a": CertSpec("a", "x", not_after="20d")},
            'certificate a: invalid time offset "20d" (use e.g. -300d, +20d, +12h)',
        ),
        (
            {"a": CertSpec("a", "x", not_before="+2d", not_after="+1d")},
            "certificate a: notAfter must be later than notBefore",
        ),
    ],
)
def test_generation_errors(specs: dict[str, CertSpec], message: str) -> None:
    with pytest.raises(CertSpecError) as info:
        generate_all(specs, NOW, "s")
    assert str(info.value) == message


def test_parse_offset() -> None:
    assert parse_offset("-90m", NOW) == NOW - timedelta(minutes=90)
    assert parse_offset("+2w", NOW) == NOW + timedelta(weeks=2)


def test_load_document_rejects_duplicates_and_unknown_keys(tmp_path: Path) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text("name: a\nname: b\n")
    with pytest.raises(ScenarioError, match="name: duplicate key at line 2, column 1"):
        load_document(dup)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("name: a\ncertificate: {}\n")
    with pytest.raises(ScenarioError) as info:
        load_document(unknown)
    assert str(info.value) == 'certificate: unknown key (did you mean "certificates"?)'
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_document(tmp_path / "missing.yaml")
