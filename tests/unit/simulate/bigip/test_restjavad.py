"""The simulated BIG-IP's framework answers: `sys/` organizing collection, echo-query,
trailing slashes, writes refused per the device's role, and the LTM stats documents."""

from __future__ import annotations

import base64

import pytest

from monitor.simulate.spec import ScenarioError
from tests.support.sim_bigip import PASSWORD, USER, render, running, section

BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def test_sys_organizing_collection_carries_the_version_in_its_self_link() -> None:
    with running() as rt, rt.client() as c:
        body = c.get("/mgmt/tm/sys/", headers=BASIC).json()
        assert c.get("/mgmt/tm/sys", headers=BASIC).json() == body
    assert body["kind"] == "tm:sys:syscollectionstate"
    assert body["selfLink"] == "https://localhost/mgmt/tm/sys?ver=15.1.10.2"
    links = [i["reference"]["link"] for i in body["items"]]
    assert links == [
        "https://localhost/mgmt/tm/sys/crypto?ver=15.1.10.2",
        "https://localhost/mgmt/tm/sys/file?ver=15.1.10.2",
        "https://localhost/mgmt/tm/sys/provision?ver=15.1.10.2",
        "https://localhost/mgmt/tm/sys/version?ver=15.1.10.2",
    ]


def test_unknown_module_is_still_not_registered() -> None:
    with running() as rt, rt.client() as c:
        r = c.get("/mgmt/tm/nosuchmodule/", headers=BASIC)
    assert r.status_code == 404
    assert r.json()["message"].startswith("URI path /mgmt/tm/nosuchmodule not registered.")


def test_echo_query_answers_an_authenticated_client_only() -> None:
    with running() as rt, rt.client() as c:
        ok = c.get("/mgmt/shared/echo-query", headers=BASIC)
        anonymous = c.get("/mgmt/shared/echo-query")
    assert ok.status_code == 200
    assert ok.json() == {"selfLink": "https://localhost/mgmt/shared/echo-query"}
    assert anonymous.status_code == 401


def test_trailing_slashes_name_the_same_resource() -> None:
    cmd = {"command": "run", "utilCmdArgs": "-c 'cat /config/filestore/nothing'"}
    with running() as rt, rt.client() as c:
        plain = c.get("/mgmt/tm/ltm/virtual", headers=BASIC).json()
        assert c.get("/mgmt/tm/ltm/virtual/", headers=BASIC).json() == plain
        one = c.get("/mgmt/tm/ltm/pool/~Common~edge_pool/", headers=BASIC)
        assert one.json()["fullPath"] == "/Common/edge_pool"
        bash = c.post("/mgmt/tm/util/bash/", headers=BASIC, json=cmd)
    assert bash.status_code == 200
    assert "No such file or directory" in bash.json()["commandResult"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/mgmt/tm/ltm/pool"),
        ("PATCH", "/mgmt/tm/ltm/pool/~Common~edge_pool"),
        ("PUT", "/mgmt/tm/ltm/virtual/~Common~edge_vs"),
        ("DELETE", "/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt"),
        ("POST", "/mgmt/tm/util/bash"),
    ],
)
def test_a_read_only_role_gets_restjavads_401_for_every_write(method: str, path: str) -> None:
    # ha-a has no bashAllowed: its user is an auditor
    with running() as rt, rt.client("ha-a") as c:
        r = c.request(method, path + "/", headers=BASIC, json={"name": "x"})
    assert r.status_code == 401
    body = r.json()
    assert body["message"] == (
        f"Authorization failed: user=https://localhost/mgmt/shared/authz/users/{USER} "
        f"resource={path} verb={method} uri:http://localhost:8100{path} "
        "referrer:127.0.0.1 sender:127.0.0.1"
    )
    assert body["kind"] == ":resterrorresponse"
    assert body["referer"] == "127.0.0.1"


def test_a_role_that_may_write_gets_the_simulators_405() -> None:
    sec = section()
    sec["devices"][1]["role"] = "manager"
    with running(render(sec)) as rt, rt.client("ha-a") as c:
        write = c.post("/mgmt/tm/ltm/pool", headers=BASIC, json={"name": "x"})
        bash = c.post("/mgmt/tm/util/bash", headers=BASIC, json={"command": "run"})
    assert write.status_code == 405
    assert bash.status_code == 401  # no bashAllowed: util/bash stays refused


def test_bash_needs_an_administrator_role() -> None:
    sec = section()
    sec["devices"][0]["role"] = "auditor"
    with pytest.raises(ScenarioError, match=r"bigip\.devices\[0\]\.role: util/bash"):
        render(sec)


def test_stats_of_virtuals_and_pools_follow_the_members() -> None:
    sec = section()
    for member in sec["config"]["pools"][1]["members"]:
        member["state"] = "down"
    with running(render(sec)) as rt, rt.client() as c:
        one = c.get("/mgmt/tm/ltm/virtual/~k8s~Shared~shop_443/stats", headers=BASIC).json()
        every = c.get("/mgmt/tm/ltm/virtual/stats", headers=BASIC).json()
        pool = c.get("/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443/stats", headers=BASIC)
    key = "https://localhost/mgmt/tm/ltm/virtual/~k8s~Shared~shop_443/~k8s~Shared~shop_443/stats"
    assert one["kind"] == "tm:ltm:virtual:virtualstats"
    assert one["selfLink"].endswith("/ltm/virtual/~k8s~Shared~shop_443/stats?ver=15.1.10.2")
    entries = one["entries"][key]["nestedStats"]["entries"]
    assert entries["status.availabilityState"] == {"description": "offline"}
    assert entries["status.enabledState"] == {"description": "disabled"}
    assert entries["destination"] == {"description": "203.0.113.10:443"}
    assert len(every["entries"]) == 2
    assert every["entries"][key] == one["entries"][key]
    pool_entries = next(iter(pool.json()["entries"].values()))["nestedStats"]["entries"]
    assert pool_entries["activeMemberCnt"] == {"value": 0}
    assert pool_entries["status.availabilityState"] == {"description": "offline"}
