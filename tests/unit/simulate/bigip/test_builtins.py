"""The built-in objects every simulated BIG-IP holds: system certificates, parent profiles."""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509

from monitor.simulate.bigip.builtins import BUNDLE_SIZE, CERT_PATHS, bundle_roots, bundle_text
from tests.support.sim_bigip import PASSWORD, USER, render, running, section

BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def test_every_device_holds_the_system_certificates() -> None:
    world = render()
    for device in world.devices.values():
        paths = {c["fullPath"] for c in device.collections["sys/file/ssl-cert"]}
        assert set(CERT_PATHS) <= paths
    bundle = next(
        c
        for c in world.devices["solo"].collections["sys/file/ssl-cert"]
        if c["fullPath"] == "/Common/ca-bundle.crt"
    )
    assert bundle["isBundle"] == "true"
    assert (bundle["createdBy"], bundle["updatedBy"]) == ("root", "root")
    assert bundle["systemPath"] == "/config/ssl/ssl.crt/ca-bundle.crt"
    assert "sourcePath" not in bundle
    assert "serialNumber" not in bundle
    text = bundle_text().encode()
    assert bundle["size"] == len(text) > 400_000
    assert bundle["checksum"] == f"SHA1:{len(text)}:{hashlib.sha1(text).hexdigest()}"


def test_the_bundle_file_holds_every_root_after_its_text() -> None:
    text = bundle_text()
    assert text.count("-----BEGIN CERTIFICATE-----") == BUNDLE_SIZE
    assert text.startswith("Certificate:\n")
    parsed = x509.load_pem_x509_certificates(text.encode())
    assert parsed == [r.cert for r in bundle_roots()]
    assert len({r.cert.subject for r in bundle_roots()}) == BUNDLE_SIZE
    assert bundle_roots() is bundle_roots()  # built once per process


def test_paging_through_the_store_and_reading_the_bundle_over_util_bash() -> None:
    with running() as rt, rt.client() as c:
        total = c.get("/mgmt/tm/sys/file/ssl-cert?$top=1", headers=BASIC).json()["totalItems"]
        seen, url = [], "/mgmt/tm/sys/file/ssl-cert?$top=2"
        while url:
            page = c.get(url, headers=BASIC).json()
            seen += [i["fullPath"] for i in page.get("items", [])]
            url = page.get("nextLink", "").removeprefix("https://localhost")
        cat = "-c 'cat /config/filestore/files_d/Common_d/certificate_d/:Common:ca-bundle.crt_*'"
        bash = c.post(
            "/mgmt/tm/util/bash", headers=BASIC, json={"command": "run", "utilCmdArgs": cat}
        )
    assert len(seen) == total == len(set(seen))
    assert set(CERT_PATHS) <= set(seen)
    assert bash.json()["commandResult"] == bundle_text()


def test_parent_profiles_exist_and_a_scenario_file_replaces_a_builtin() -> None:
    sec = section()
    sec["config"]["sslCerts"].append({"path": "/Common/ca-bundle.crt", "bundle": ["anchor-a"]})
    sec["config"]["serverSslProfiles"][0]["caFile"] = "/Common/default.crt"  # named, not defined
    device = render(sec).devices["solo"]
    bundles = [
        c
        for c in device.collections["sys/file/ssl-cert"]
        if c["fullPath"] == "/Common/ca-bundle.crt"
    ]
    assert len(bundles) == 1
    assert bundles[0]["createdBy"] == "admin"
    server = {p["fullPath"]: p for p in device.collections["ltm/profile/server-ssl"]}
    client = {p["fullPath"]: p for p in device.collections["ltm/profile/client-ssl"]}
    assert server["/Common/serverssl"]["defaultsFrom"] == "none"
    assert "defaultsFromReference" not in server["/Common/serverssl"]
    assert client["/Common/clientssl"]["cert"] == "/Common/default.crt"
    assert server["/Common/chain_serverssl"]["defaultsFrom"] == "/Common/serverssl"
    assert server["/Common/chain_serverssl"]["caFile"] == "/Common/default.crt"
