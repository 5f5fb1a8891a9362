"""`builtinCaBundle: real`: `/Common/ca-bundle.crt` at the captured size (4,735,518 bytes), read
by f5-sdk as a user would: the ssl-cert object, paged, and the file over util/bash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from monitor.simulate.bigip.builtins import BUNDLE_SIZE, REAL_SIZE, bundle_roots, bundle_text
from tests.support.sim_bigip import Running, render, running, section
from tests.unit.simulate.bigip.test_real_clients import _f5sdk

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:f5")
CAT = "-c 'cat /config/filestore/files_d/Common_d/certificate_d/:Common:ca-bundle.crt_*'"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, str]]:
    sec = section()
    sec["config"]["builtinCaBundle"] = "real"
    with running(render(sec)) as rt:
        path = tmp_path_factory.mktemp("ca") / "sim-ca.pem"
        path.write_text(rt.ca_pem)
        yield rt, str(path)


@pytest.fixture(autouse=True)
def _no_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def test_the_bundle_has_the_captured_size_and_every_root() -> None:
    text = bundle_text(real_size=True)
    assert len(text.encode()) == REAL_SIZE
    assert x509.load_pem_x509_certificates(text.encode()) == [r.cert for r in bundle_roots()]
    assert len(bundle_text().encode()) < REAL_SIZE // 5  # the default stays small


def test_f5sdk_reads_the_object_and_the_file(world: tuple[Running, str]) -> None:
    mgmt: Any = _f5sdk(*world)
    cert = mgmt.tm.sys.file.ssl_certs.ssl_cert.load(name="ca-bundle.crt", partition="Common")
    data = bundle_text(real_size=True).encode()
    assert (cert.size, cert.isBundle, cert.systemPath) == (
        REAL_SIZE, "true", "/config/ssl/ssl.crt/ca-bundle.crt"
    )  # fmt: skip
    assert cert.checksum == f"SHA1:{REAL_SIZE}:{hashlib.sha1(data).hexdigest()}"
    bash = mgmt.tm.util.bash.exec_cmd("run", utilCmdArgs=CAT)
    assert bash.commandResult.encode() == data
    assert len(x509.load_pem_x509_certificates(data)) == BUNDLE_SIZE


def test_a_device_without_the_option_keeps_the_sample() -> None:
    device = render(section()).devices["solo"]
    (bundle,) = [
        c
        for c in device.collections["sys/file/ssl-cert"]
        if c["fullPath"] == "/Common/ca-bundle.crt"
    ]
    assert bundle["size"] == len(bundle_text().encode())
