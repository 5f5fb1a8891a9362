"""The simulated BIG-IP driven by real third-party iControl REST clients from PyPI.

A new user would try f5-sdk (`f5.bigip.ManagementRoot`) or bigrest (`bigrest.bigip.BIGIP`)
first; each operation below passes against the simulator, or is refused exactly as a real
device refuses it (docs/scenario.md gives the source of each shape):

| client  | operation                                   | expected                            |
|---------|---------------------------------------------|-------------------------------------|
| f5-sdk  | connect (basic auth; reads `GET tm/sys/`)   | `tmos_version` from `?ver=`         |
| f5-sdk  | connect with a token                        | login, then the same version        |
| f5-sdk  | list virtuals                               | the scenario's virtuals             |
| f5-sdk  | read a certificate                          | the computed fingerprint            |
| f5-sdk  | util/bash `exec_cmd` (posts to `bash/`)     | runs where the role may; a read-only|
|         |                                             | user gets 401 `Authorization failed`|
| bigrest | connect (basic auth; `GET echo-query`)      | connected                           |
| bigrest | connect with a token                        | login                               |
| bigrest | read the version (`sys/version`)            | the device's version                |
| bigrest | list virtuals, read a certificate           | as above                            |
| bigrest | `show` a virtual and a pool (`…/stats`)      | availability from the members       |
| bigrest | util/bash `command` as a read-only user     | 401 `Authorization failed … POST`   |
| bigrest | create a pool as a read-only user           | 401 `Authorization failed … POST`   |
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from bigrest.bigip import BIGIP
from bigrest.common.exceptions import RESTAPIError
from f5.bigip import ManagementRoot
from icontrol.exceptions import iControlUnexpectedHTTPError

from tests.support.sim_bigip import PASSWORD, USER, Running, certs, running

# f5-sdk compares versions with distutils' LooseVersion
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:f5")

CAT = "-c 'cat /config/filestore/files_d/Common_d/certificate_d/:Common:edge.crt_*'"
REFUSAL = (
    f"Authorization failed: user=https://localhost/mgmt/shared/authz/users/{USER} "
    "resource=/mgmt/tm/util/bash verb=POST"
)


@pytest.fixture(scope="module")
def world() -> Iterator[Running]:
    with running() as rt:
        yield rt


@pytest.fixture(scope="module")
def ca_file(world: Running, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "sim-ca.pem"
    path.write_text(world.ca_pem)
    return str(path)


@pytest.fixture(autouse=True)
def _no_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests prefers REQUESTS_CA_BUNDLE to a session's `verify` (bigrest sets the latter)."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def _address(world: Running, device: str) -> tuple[str, int]:
    host, _, port = world.sim.url(device).removeprefix("https://").rpartition(":")
    return host, int(port.rstrip("/"))


def _f5sdk(world: Running, ca_file: str, device: str = "solo", **kwargs: Any) -> Any:
    host, port = _address(world, device)
    return ManagementRoot(host, USER, PASSWORD, port=port, verify=ca_file, **kwargs)


def _bigrest(world: Running, ca_file: str, device: str = "solo", **kwargs: Any) -> BIGIP:
    host, port = _address(world, device)
    return BIGIP(f"{host}:{port}", USER, PASSWORD, session_verify=ca_file, **kwargs)


def _edge_fingerprint() -> str:
    digest = hashlib.sha256(certs()["edge-rsa"].der).hexdigest().upper()
    return "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, 64, 2))


VIRTUALS = ["/Common/edge_vs", "/k8s/Shared/shop_443"]


# -- f5-sdk ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", [False, True], ids=["basic", "token"])
def test_f5sdk_connects_and_reads_the_version(world: Running, ca_file: str, token: bool) -> None:
    mgmt = _f5sdk(world, ca_file, token=token)
    assert mgmt.tmos_version == "15.1.10.2"


def test_f5sdk_lists_virtuals(world: Running, ca_file: str) -> None:
    virtuals = _f5sdk(world, ca_file).tm.ltm.virtuals.get_collection()
    assert [v.fullPath for v in virtuals] == VIRTUALS
    assert virtuals[0].pool == "/Common/edge_pool"


def test_f5sdk_reads_a_certificate(world: Running, ca_file: str) -> None:
    mgmt = _f5sdk(world, ca_file)
    cert = mgmt.tm.sys.file.ssl_certs.ssl_cert.load(name="edge.crt", partition="Common")
    assert cert.fingerprint == _edge_fingerprint()
    assert cert.kind == "tm:sys:file:ssl-cert:ssl-certstate"


def test_f5sdk_runs_util_bash_where_the_role_may(world: Running, ca_file: str) -> None:
    bash = _f5sdk(world, ca_file).tm.util.bash.exec_cmd("run", utilCmdArgs=CAT)
    assert bash.commandResult == certs()["edge-rsa"].pem


def test_f5sdk_util_bash_is_refused_for_a_read_only_user(world: Running, ca_file: str) -> None:
    mgmt = _f5sdk(world, ca_file, device="ha-a")
    with pytest.raises(iControlUnexpectedHTTPError) as info:
        mgmt.tm.util.bash.exec_cmd("run", utilCmdArgs=CAT)
    assert info.value.response.status_code == 401
    assert info.value.response.json()["message"].startswith(REFUSAL)


# -- bigrest --------------------------------------------------------------------------


@pytest.mark.parametrize("token", [False, True], ids=["basic", "token"])
def test_bigrest_connects_and_reads_the_version(world: Running, ca_file: str, token: bool) -> None:
    device = _bigrest(world, ca_file, request_token=token)
    version = device.load("/mgmt/tm/sys/version")
    entries = version.properties["entries"]
    nested = entries["https://localhost/mgmt/tm/sys/version/0"]["nestedStats"]["entries"]
    assert nested["Version"]["description"] == "15.1.10.2"


def test_bigrest_lists_virtuals_and_reads_a_certificate(world: Running, ca_file: str) -> None:
    device = _bigrest(world, ca_file)
    virtuals = device.load("/mgmt/tm/ltm/virtual")
    assert [v.properties["fullPath"] for v in virtuals] == VIRTUALS
    cert = device.load("/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt")
    assert cert.properties["fingerprint"] == _edge_fingerprint()


def test_bigrest_shows_stats_of_a_virtual_and_a_pool(world: Running, ca_file: str) -> None:
    device = _bigrest(world, ca_file)
    virtual = device.show("/mgmt/tm/ltm/virtual/~Common~edge_vs").properties
    assert virtual["tmName"]["description"] == "/Common/edge_vs"
    assert virtual["status.availabilityState"]["description"] == "available"
    assert virtual["clientside.curConns"]["value"] == 0
    pool = device.show("/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443").properties
    assert (pool["memberCnt"]["value"], pool["activeMemberCnt"]["value"]) == (3, 2)


def test_bigrest_writes_are_refused_for_a_read_only_user(world: Running, ca_file: str) -> None:
    device = _bigrest(world, ca_file, device="ha-a")
    with pytest.raises(RESTAPIError) as bash:
        device.command("/mgmt/tm/util/bash", {"command": "run", "utilCmdArgs": CAT})
    assert REFUSAL in str(bash.value)
    with pytest.raises(RESTAPIError) as create:
        device.create("/mgmt/tm/ltm/pool", {"name": "intruder"})
    assert "resource=/mgmt/tm/ltm/pool verb=POST" in str(create.value)
    assert "401" in str(create.value)
