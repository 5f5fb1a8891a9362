"""The simulated BIG-IP over real HTTPS: auth, query options, objects, bash, faults, updates."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509

from monitor.simulate.faults import Fault
from monitor.simulate.spec import ScenarioError
from tests.support.sim_bigip import PASSWORD, USER, certs, render, running, section

LOGIN = "/mgmt/shared/authn/login"


def _restjavad(body: dict[str, Any], code: int, message: str) -> None:
    assert body == {
        "code": code,
        "message": message,
        "referer": "127.0.0.1",
        "restOperationId": body["restOperationId"],
        "kind": ":resterrorresponse",
    }
    assert isinstance(body["restOperationId"], int)


# -- authentication -------------------------------------------------------------------


def test_login_returns_the_token_object_of_the_real_api() -> None:
    with running() as rt, rt.client() as c:
        r = c.post(
            LOGIN, json={"username": USER, "password": PASSWORD, "loginProviderName": "tmos"}
        )
        assert r.status_code == 200
        body = r.json()
        assert body["username"] == USER
        assert body["loginProviderName"] == "tmos"
        assert body["loginReference"]["link"].startswith("https://localhost/mgmt/cm/system/authn/")
        assert (body["generation"], body["lastUpdateMicros"]) == (0, 0)
        token = body["token"]
        assert re.fullmatch(r"[A-Z2-7]{26}", token["token"])
        assert token["name"] == token["token"]
        assert token["timeout"] == 1200
        assert token["userName"] == USER
        assert token["selfLink"] == f"https://localhost/mgmt/shared/authz/tokens/{token['token']}"
        assert token["kind"] == "shared:authz:tokens:authtokenitemstate"
        assert token["expirationMicros"] - token["lastUpdateMicros"] == 1200 * 1_000_000
        assert token["lastUpdateMicros"] == round(rt.clock() * 1_000_000)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", token["startTime"])
        assert token["partition"] == "[All]"
        assert token["address"] == "127.0.0.1"


def test_wrong_credentials_get_the_restjavad_401() -> None:
    with running() as rt, rt.client() as c:
        r = c.post(LOGIN, json={"username": USER, "password": "nope", "loginProviderName": "tmos"})
        assert r.status_code == 401
        _restjavad(r.json(), 401, "Authentication failed.")
        assert PASSWORD not in r.text


def test_token_is_reused_until_it_expires_by_the_injected_clock() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        for _ in range(3):
            assert c.get("/mgmt/tm/ltm/pool", headers=headers).status_code == 200
        rt.clock.advance(1199)
        assert c.get("/mgmt/tm/ltm/pool", headers=headers).status_code == 200
        rt.clock.advance(1)
        r = c.get("/mgmt/tm/ltm/pool", headers=headers)
        assert r.status_code == 401
        _restjavad(r.json(), 401, "X-F5-Auth-Token does not exist.")
        assert c.get("/mgmt/tm/ltm/pool", headers=rt.login(c)).status_code == 200
        assert rt.sim.stats("solo").live_tokens == 1


def test_token_timeout_can_be_extended_up_to_36000() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        token = headers["X-F5-Auth-Token"]
        url = f"/mgmt/shared/authz/tokens/{token}"
        r = c.patch(url, headers=headers, json={"timeout": 3600})
        assert r.status_code == 200
        assert r.json()["timeout"] == 3600
        assert r.json()["generation"] == 2
        rt.clock.advance(3000)
        assert c.get("/mgmt/tm/ltm/pool", headers=headers).status_code == 200
        assert c.patch(url, headers=headers, json={"timeout": "36000"}).json()["timeout"] == 36000
        r = c.patch(url, headers=headers, json={"timeout": 36001})
        assert r.status_code == 406
        _restjavad(r.json(), 406, "Auth-token absolute timeout (36000 seconds) exceeded")


def test_deleted_token_is_gone() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        token = headers["X-F5-Auth-Token"]
        r = c.delete(f"/mgmt/shared/authz/tokens/{token}", headers=headers)
        assert r.status_code == 200
        assert r.json()["token"] == token
        r = c.get("/mgmt/tm/ltm/pool", headers=headers)
        assert r.status_code == 401
        assert r.json()["message"] == "X-F5-Auth-Token does not exist."


def test_at_most_100_live_tokens_per_user() -> None:
    with running() as rt, rt.client() as c:
        tokens = [rt.login(c) for _ in range(100)]
        r = c.post(
            LOGIN, json={"username": USER, "password": PASSWORD, "loginProviderName": "tmos"}
        )
        assert r.status_code == 400
        _restjavad(r.json(), 400, f"user {USER} has reached maximum active login tokens")
        assert rt.sim.stats("solo").live_tokens == 100
        first = tokens[0]["X-F5-Auth-Token"]
        c.delete(f"/mgmt/shared/authz/tokens/{first}", headers=tokens[1])
        rt.login(c)  # a slot was freed
        rt.clock.advance(1200)  # all expired: slots free again
        rt.login(c)
        assert rt.sim.stats("solo").live_tokens == 1


def test_basic_auth_works_on_every_tm_request_and_fails_cleanly() -> None:
    with running() as rt, rt.client() as c:
        assert c.get("/mgmt/tm/ltm/virtual", auth=(USER, PASSWORD)).status_code == 200
        assert c.get("/mgmt/tm/cm/sync-status", auth=(USER, PASSWORD)).status_code == 200
        r = c.get("/mgmt/tm/ltm/virtual", auth=(USER, "wrong"))
        assert r.status_code == 401
        _restjavad(r.json(), 401, "Authentication failed.")
        r = c.get("/mgmt/tm/ltm/virtual")
        assert r.status_code == 401
        assert r.json()["message"].startswith(
            "Authorization failed: no user authentication header or token detected."
        )
        r = c.get("/mgmt/tm/ltm/virtual", headers={"X-F5-Auth-Token": "NOTATOKEN"})
        assert r.json()["message"] == "X-F5-Auth-Token does not exist."


# -- collections and query options ------------------------------------------------------


def _many_virtuals(n: int) -> dict[str, Any]:
    sec = section()
    for i in range(n):
        partition = "k8s/Shared" if i % 2 else "Common"
        sec["config"]["virtuals"].append(
            {
                "path": f"/{partition}/vs_{i:03d}",
                "destination": f"198.51.100.{i}:443",
                "pool": "/Common/edge_pool",
            }
        )
    return sec


def _follow(c: httpx.Client, headers: dict[str, str], first: str) -> list[dict[str, Any]]:
    pages = []
    url: str | None = first
    while url:
        r = c.get(url, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        link = r.json().get("nextLink")
        if link is not None:
            parts = urlsplit(link)
            assert link.startswith("https://localhost/mgmt/tm/")
            assert "$" not in link
            assert "%24top=" in parts.query
            assert "%24skip=" in parts.query
            url = f"{parts.path}?{parts.query}"
        else:
            url = None
    return pages


def test_paging_follows_next_link_and_returns_every_item_once() -> None:
    with running(render(_many_virtuals(23))) as rt, rt.client() as c:
        headers = rt.login(c)
        everything = c.get("/mgmt/tm/ltm/virtual", headers=headers).json()
        assert "nextLink" not in everything
        assert "totalItems" not in everything
        expected = [i["fullPath"] for i in everything["items"]]
        assert len(expected) == 25
        pages = _follow(c, headers, "/mgmt/tm/ltm/virtual?$top=10&$select=fullPath,name")
        got = [i["fullPath"] for p in pages for i in p["items"]]
        assert got == expected
        assert [p["currentItemCount"] for p in pages] == [10, 10, 5]
        assert [p["pageIndex"] for p in pages] == [1, 2, 3]
        assert [p["startIndex"] for p in pages] == [1, 11, 21]
        assert {(p["itemsPerPage"], p["totalItems"], p["totalPages"]) for p in pages} == {
            (10, 25, 3)
        }
        assert pages[0]["nextLink"] == (
            "https://localhost/mgmt/tm/ltm/virtual?%24top=10&%24skip=10&%24select=fullPath,name"
        )
        assert set(pages[0]["items"][0]) == {"fullPath", "name"}
        # the filter is kept in nextLink
        pages = _follow(c, headers, "/mgmt/tm/ltm/virtual?$filter=partition+eq+k8s&$top=4")
        got = [i["fullPath"] for p in pages for i in p["items"]]
        assert got == [p for p in expected if p.startswith("/k8s/")]
        assert len(pages) == 3
        assert all("%24filter=partition+eq+k8s" in p["nextLink"] for p in pages[:-1])
        # beyond the end: no items key at all
        past = c.get("/mgmt/tm/ltm/virtual?$top=10&$skip=30", headers=headers).json()
        assert "items" not in past
        assert past["currentItemCount"] == 0
        assert "nextLink" not in past


def test_empty_collection_omits_items() -> None:
    sec = section()
    sec["config"]["virtuals"] = []
    with running(render(sec)) as rt, rt.client() as c:
        body = c.get("/mgmt/tm/ltm/virtual", headers=rt.login(c)).json()
        assert body == {
            "kind": "tm:ltm:virtual:virtualcollectionstate",
            "selfLink": "https://localhost/mgmt/tm/ltm/virtual?ver=15.1.10.2",
        }


@pytest.mark.parametrize(
    "query",
    [
        "$filter=partition+eq+k8s",
        "$filter=partition%20eq%20k8s",
        "%24filter=partition%20eq%20%27k8s%27",
    ],
)
def test_filter_by_partition_includes_folder_objects(query: str) -> None:
    with running() as rt, rt.client() as c:
        body = c.get(f"/mgmt/tm/sys/file/ssl-cert?{query}", headers=rt.login(c)).json()
        names = sorted(i["fullPath"] for i in body["items"])
        assert names == [
            "/k8s/Shared/bigip_client.crt",
            "/k8s/Shared/linkerd_anchor_a.crt",
            "/k8s/Shared/serverssl_ca_bundle",
        ]
        assert {(i["partition"], i["subPath"]) for i in body["items"]} == {("k8s", "Shared")}


def test_select_returns_only_the_selected_fields() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        body = c.get(
            "/mgmt/tm/sys/file/ssl-cert?$select=name,isBundle,keyType", headers=headers
        ).json()
        assert body["kind"] == "tm:sys:file:ssl-cert:ssl-certcollectionstate"
        assert all(set(i) == {"name", "isBundle", "keyType"} for i in body["items"])
        one = c.get(
            "/mgmt/tm/sys/crypto/ca-bundle-manager/~k8s~Shared~serverssl_ca_bundle?$select=includeBundle",
            headers=headers,
        )
        assert one.json() == {
            "includeBundle": ["/k8s/Shared/linkerd_anchor_a.crt", "/Common/legacy_bundle.crt"]
        }


def test_expand_subcollections_inlines_members_and_profiles() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        plain = c.get("/mgmt/tm/ltm/pool", headers=headers).json()["items"][1]
        assert plain["membersReference"] == {
            "link": "https://localhost/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443/members?ver=15.1.10.2",
            "isSubcollection": True,
        }
        pool = c.get("/mgmt/tm/ltm/pool?expandSubcollections=true", headers=headers).json()[
            "items"
        ][1]
        members = pool["membersReference"]["items"]
        assert [m["name"] for m in members] == [
            "10.42.0.11:443",
            "10.42.1.12:443",
            "10.0.0.1%2:443",
        ]
        assert {m["kind"] for m in members} == {"tm:ltm:pool:members:membersstate"}
        assert members[0]["partition"] == "k8s"
        assert members[0]["fullPath"] == "/k8s/10.42.0.11:443"
        assert (members[0]["session"], members[0]["state"], members[2]["state"]) == (
            "monitor-enabled",
            "up",
            "down",
        )
        assert members[0]["ephemeral"] == "false"
        vs = c.get(
            "/mgmt/tm/ltm/virtual/~k8s~Shared~shop_443?expandSubcollections=true", headers=headers
        ).json()
        assert vs["selfLink"].endswith(
            "~k8s~Shared~shop_443?expandSubcollections=true&ver=15.1.10.2"
        )
        assert vs["disabled"] is True
        assert "enabled" not in vs
        profiles = {p["fullPath"]: p for p in vs["profilesReference"]["items"]}
        server = profiles["/k8s/Shared/shop_443_tls_client"]
        assert server["kind"] == "tm:ltm:virtual:profiles:profilesstate"
        assert server["context"] == "serverside"
        assert server["nameReference"]["link"] == (
            "https://localhost/mgmt/tm/ltm/profile/server-ssl/~k8s~Shared~shop_443_tls_client?ver=15.1.10.2"
        )
        assert profiles["/k8s/Shared/shop_443_tls_server"]["context"] == "clientside"
        assert (
            "/profile/tcp/~Common~f5-tcp-progressive?"
            in profiles["/Common/f5-tcp-progressive"]["nameReference"]["link"]
        )
        assert "items" not in vs["policiesReference"]
        sub = c.get("/mgmt/tm/ltm/virtual/~k8s~Shared~shop_443/profiles", headers=headers).json()
        assert sub["kind"] == "tm:ltm:virtual:profiles:profilescollectionstate"
        assert [p["fullPath"] for p in sub["items"]] == list(profiles)


def test_single_objects_by_tilde_path_and_route_domain() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        prof = c.get(
            "/mgmt/tm/ltm/profile/server-ssl/~k8s~Shared~shop_443_tls_client", headers=headers
        ).json()
        assert (prof["name"], prof["partition"], prof["subPath"]) == (
            "shop_443_tls_client",
            "k8s",
            "Shared",
        )
        assert prof["caFile"] == "/k8s/Shared/serverssl_ca_bundle"
        assert prof["peerCertMode"] == "require"
        assert prof["sniDefault"] == "false"
        assert prof["tmOptions"] == "{ dont-insert-empty-fragments no-tlsv1.3 }"
        member = c.get(
            "/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443/members/~k8s~10.0.0.1%252:443",
            headers=headers,
        ).json()
        assert member["address"] == "10.0.0.1%2"
        assert member["selfLink"].endswith("/members/~k8s~10.0.0.1%252:443?ver=15.1.10.2")
        client = c.get(
            "/mgmt/tm/ltm/profile/client-ssl/~k8s~Shared~shop_443_tls_server", headers=headers
        ).json()
        assert client["cert"] == client["certKeyChain"][0]["cert"] == "/Common/edge.crt"
        assert client["sniDefault"] == "true"
        assert client["serverName"] == "shop.example.com"
        assert (
            c.get("/mgmt/tm/ltm/pool/edge_pool", headers=headers).json()["fullPath"]
            == "/Common/edge_pool"
        )


def test_not_found_shapes() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        r = c.get("/mgmt/tm/ltm/pool/~k8s~nope", headers=headers)
        assert r.status_code == 404
        assert r.json() == {
            "code": 404,
            "message": "01020036:3: The requested Pool (/k8s/nope) was not found.",
            "errorStack": [],
            "apiError": 3,
        }
        r = c.get("/mgmt/tm/ltm/pool/~k8s~nope/members", headers=headers)
        assert r.json()["message"] == "01020036:3: The requested Pool (/k8s/nope) was not found."
        r = c.get("/mgmt/tm/foo", headers=headers)
        assert r.status_code == 404
        _restjavad(
            r.json(),
            404,
            "URI path /mgmt/tm/foo not registered.  Please verify URI is supported and wait "
            "for /available suffix to be responsive.",
        )
        assert c.get("/mgmt/tm/ltm/pool?$top=0", headers=headers).status_code == 400
        assert c.get("/mgmt/tm/ltm/pool?whatever=1", headers=headers).status_code == 200
        assert c.delete("/mgmt/tm/ltm/pool/~Common~edge_pool", headers=headers).status_code == 405


# -- certificates -------------------------------------------------------------------------


def _expected_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def test_ssl_cert_fields_are_computed_from_the_certificate() -> None:
    edge = certs()["edge-rsa"]
    with running() as rt, rt.client() as c:
        obj = c.get("/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt", headers=rt.login(c)).json()
    pem = edge.pem.encode()
    assert obj["fingerprint"] == _expected_fingerprint(edge.der)
    assert obj["checksum"] == f"SHA1:{len(pem)}:{hashlib.sha1(pem).hexdigest()}"
    assert obj["size"] == len(pem)
    assert obj["expirationDate"] == int(edge.cert.not_valid_after_utc.timestamp())
    assert obj["expirationString"] == "Jan  2 12:00:00 2026 GMT"
    assert obj["subject"] == "CN=shop.example.com,O=Shop Ltd"
    assert obj["issuer"] == "CN=Public Root,O=Acme, Inc."
    assert (obj["keyType"], obj["certificateKeySize"], obj["certificateKeyCurveName"]) == (
        "rsa-public",
        2048,
        "none",
    )
    assert obj["isBundle"] == "false"
    assert obj["serialNumber"] == ":".join(
        f"{b:02x}" for b in edge.cert.serial_number.to_bytes(16, "big").lstrip(b"\0")
    )
    with running() as rt, rt.client() as c:
        anchor = c.get(
            "/mgmt/tm/sys/file/ssl-cert/~k8s~Shared~linkerd_anchor_a.crt", headers=rt.login(c)
        ).json()
    assert (anchor["keyType"], anchor["certificateKeySize"], anchor["certificateKeyCurveName"]) == (
        "ec-public",
        256,
        "prime256v1",
    )


def test_subject_alternative_name_only_with_the_extension_and_from_tmos_14_1() -> None:
    path = "/mgmt/tm/sys/file/ssl-cert/~k8s~Shared~bigip_client.crt"
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        client = c.get(path, headers=headers).json()
        edge = c.get("/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt", headers=headers).json()
    assert client["subjectAlternativeName"] == (
        "DNS:bigip.f5-edge.serviceaccount, URI:spiffe://cluster.local/ns/f5-edge/sa/bigip,"
        " IP Address:2001:DB8:0:0:0:0:0:5"
    )
    keys = list(client)  # alphabetical, as BIG-IP lists an ssl-cert's fields
    assert keys.index("subjectAlternativeName") == keys.index("subject") + 1
    assert "subjectAlternativeName" not in edge  # no SAN extension
    old = section()
    old["devices"][0]["version"] = "13.1.3.4"
    with running(render(old)) as rt, rt.client() as c:
        client = c.get(path, headers=rt.login(c)).json()
    assert "?ver=13.1.3.4" in client["selfLink"]
    assert "subjectAlternativeName" not in client


def test_bundle_top_level_fields_describe_one_certificate_only() -> None:
    anchor, root = certs()["anchor-a"], certs()["public-root"]
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        bundle = c.get(
            "/mgmt/tm/sys/file/ssl-cert/~Common~legacy_bundle.crt", headers=headers
        ).json()
        made = c.get(
            "/mgmt/tm/sys/file/ssl-cert/~k8s~Shared~serverssl_ca_bundle", headers=headers
        ).json()
        manager = c.get("/mgmt/tm/sys/crypto/ca-bundle-manager", headers=headers).json()["items"][0]
    assert bundle["isBundle"] == "true"
    assert "serialNumber" not in bundle
    assert bundle["fingerprint"] == _expected_fingerprint(root.der)  # the last one only
    assert bundle["expirationDate"] == int(root.cert.not_valid_after_utc.timestamp())
    assert bundle["expirationDate"] != int(anchor.cert.not_valid_after_utc.timestamp())
    assert bundle["size"] == len((anchor.pem + root.pem).encode())
    assert manager["includeBundle"] == [
        "/k8s/Shared/linkerd_anchor_a.crt",
        "/Common/legacy_bundle.crt",
    ]
    assert manager["kind"] == "tm:sys:crypto:ca-bundle-manager:ca-bundle-managerstate"
    # the manager's bundle: anchor (once, deduplicated) then the public root
    assert made["isBundle"] == "true"
    assert made["size"] == len((anchor.pem + root.pem).encode())


def _bash(c: httpx.Client, headers: dict[str, str], command: str) -> httpx.Response:
    return c.post(
        "/mgmt/tm/util/bash",
        headers=headers,
        json={"command": "run", "utilCmdArgs": f"-c '{command}'"},
    )


def test_bash_reader_reads_the_filestore() -> None:
    anchor, root = certs()["anchor-a"], certs()["public-root"]
    glob = "/config/filestore/files_d/k8s_d/certificate_d/*:serverssl_ca_bundle_*"
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        r = _bash(c, headers, f"cat {glob} | base64")
        assert r.status_code == 200
        body = r.json()
        assert body["kind"] == "tm:util:bash:runstate"
        assert body["command"] == "run"
        assert body["utilCmdArgs"] == f"-c 'cat {glob} | base64'"
        pem = base64.b64decode(body["commandResult"]).decode()
        found = x509.load_pem_x509_certificates(pem.encode())
        assert [x.fingerprint(x.signature_hash_algorithm) for x in found] == [  # type: ignore[arg-type]
            anchor.cert.fingerprint(anchor.cert.signature_hash_algorithm),  # type: ignore[arg-type]
            root.cert.fingerprint(root.cert.signature_hash_algorithm),  # type: ignore[arg-type]
        ]
        plain = _bash(
            c, headers, "cat /config/filestore/files_d/Common_d/certificate_d/:Common:edge.crt_*"
        )
        assert plain.json()["commandResult"] == certs()["edge-rsa"].pem
        missing = _bash(
            c, headers, "cat /config/filestore/files_d/Common_d/certificate_d/:Common:nope_*"
        )
        assert "No such file or directory" in missing.json()["commandResult"]
        assert _bash(c, headers, "rm -rf /").status_code == 400
        assert _bash(c, headers, "cat /etc/passwd").status_code == 400


def test_bash_denied_when_not_allowed() -> None:
    with running() as rt, rt.client("ha-a") as c:
        r = _bash(c, rt.login(c), "cat /config/filestore/files_d/Common_d/certificate_d/* | base64")
        assert r.status_code == 401
        body = r.json()
        assert body["kind"] == ":resterrorresponse"
        assert body["message"].startswith(
            f"Authorization failed: user=https://localhost/mgmt/shared/authz/users/{USER} "
            "resource=/mgmt/tm/util/bash verb=POST"
        )


# -- device documents -------------------------------------------------------------------


def test_cm_device_and_stats_documents() -> None:
    with running() as rt, rt.client("ha-a") as c:
        headers = rt.login(c)
        devices = c.get("/mgmt/tm/cm/device", headers=headers).json()["items"]
        assert [(d["name"], d["selfDevice"], d["failoverState"]) for d in devices] == [
            ("solo.example.net", "false", "active"),
            ("ha-a.example.net", "true", "active"),
            ("ha-b.example.net", "false", "standby"),
        ]
        sync = c.get("/mgmt/tm/cm/sync-status", headers=headers).json()
        entries = sync["entries"]["https://localhost/mgmt/tm/cm/sync-status/0"]["nestedStats"][
            "entries"
        ]
        assert entries["status"] == {"description": "In Sync"}
        assert entries["mode"] == {"description": "high-availability"}
        details = entries["https://localhost/mgmt/tm/cm/syncStatus/0/details"]["nestedStats"][
            "entries"
        ]
        assert details["https://localhost/mgmt/tm/cm/syncStatus/0/details/0"] == {
            "nestedStats": {"entries": {"details": {"description": "solo.example.net: connected"}}}
        }
        version = c.get("/mgmt/tm/sys/version", headers=headers).json()
        inner = version["entries"]["https://localhost/mgmt/tm/sys/version/0"]["nestedStats"][
            "entries"
        ]
        assert inner["Version"] == {"description": "15.1.10.2"}
    with running() as rt, rt.client("ha-b") as c:
        failover = c.get("/mgmt/tm/cm/failover-status", headers=rt.login(c)).json()
        inner = failover["entries"]["https://localhost/mgmt/tm/cm/failover-status/0"][
            "nestedStats"
        ]["entries"]
        assert inner["status"] == {"description": "STANDBY"}


# -- faults -------------------------------------------------------------------------------


def test_reset_fault_drops_the_connection() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        rt.sim.inject(Fault("solo", "reset", count=1))
        with pytest.raises(httpx.TransportError):
            c.get("/mgmt/tm/ltm/pool", headers=headers)
        assert c.get("/mgmt/tm/ltm/pool", headers=headers).status_code == 200


def test_truncate_fault_cuts_the_json_in_half() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        full = c.get("/mgmt/tm/ltm/pool", headers=headers).content
        rt.sim.inject(Fault("solo", "truncate", count=1))
        r = c.get("/mgmt/tm/ltm/pool", headers=headers)
        assert r.status_code == 200
        assert r.content == full[: len(full) // 2]
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)


def test_http503_and_html_500_faults_also_hit_login() -> None:
    with running() as rt, rt.client() as c:
        rt.sim.inject(Fault("solo", "http503", count=1))
        r = c.post(
            LOGIN, json={"username": USER, "password": PASSWORD, "loginProviderName": "tmos"}
        )
        assert r.status_code == 503
        _restjavad(r.json(), 503, "There is an active asynchronous task executing.")
        headers = rt.login(c)
        rt.sim.inject(Fault("solo", "http500html", count=1))
        r = c.post("/mgmt/tm/util/bash", headers=headers, json={"command": "run"})
        assert r.status_code == 500
        assert r.headers["content-type"].startswith("text/html")
        assert "<title>Error 500 AsyncContext timeout</title>" in r.text


def test_latency_fault_delays_responses() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        rt.sim.inject(Fault("solo", "latency", count=1, delay=0.4))
        start = time.monotonic()
        assert c.get("/mgmt/tm/ltm/pool", headers=headers).status_code == 200
        assert time.monotonic() - start >= 0.4
        start = time.monotonic()
        c.get("/mgmt/tm/ltm/pool", headers=headers)
        assert time.monotonic() - start < 0.4


def test_expire_tokens_fault_then_relogin() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)
        rt.sim.inject(Fault("solo", "expireTokens"))
        assert rt.sim.stats("solo").live_tokens == 0
        r = c.get("/mgmt/tm/ltm/pool", headers=headers)
        assert r.status_code == 401
        assert r.json()["message"] == "X-F5-Auth-Token does not exist."
        assert c.get("/mgmt/tm/ltm/pool", headers=rt.login(c)).status_code == 200
        with rt.client("ha-a") as other:  # other devices keep their tokens
            ha = rt.login(other)
            rt.sim.inject(Fault("solo", "expireTokens"))
            assert other.get("/mgmt/tm/ltm/pool", headers=ha).status_code == 200


def test_scenario_faults_are_returned_for_arming() -> None:
    sec = section()
    sec["devices"][1]["faults"] = [{"type": "http503", "count": 2}]
    world = render(sec)
    assert world.faults == (Fault("ha-a", "http503", count=2),)
    with running(world) as rt, rt.client("ha-a") as c:
        for fault in world.faults:
            rt.sim.inject(fault)
        codes = [c.get("/mgmt/tm/ltm/pool", auth=(USER, PASSWORD)).status_code for _ in range(3)]
        assert codes == [503, 503, 200]


# -- updates and statistics ---------------------------------------------------------------


def test_update_bumps_generation_only_for_changed_objects() -> None:
    with running() as rt, rt.client() as c:
        headers = rt.login(c)

        def get(path: str) -> dict[str, Any]:
            r = c.get(path, headers=headers)
            assert r.status_code == 200, r.text
            return dict(r.json())

        pool_path = "/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443"
        vs_path = "/mgmt/tm/ltm/virtual/~Common~edge_vs"
        before = {
            p: get(p) for p in (pool_path, vs_path, "/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt")
        }
        assert {b["generation"] for b in before.values()} == {1}
        sec = section()
        sec["config"]["pools"][1]["members"].pop(1)
        sec["config"]["virtuals"][0]["description"] = "changed"
        rt.clock.advance(60)
        rt.sim.update(render(sec))
        after = {p: get(p) for p in before}
        assert after[pool_path]["generation"] == 2
        assert after[vs_path]["generation"] == 2
        assert after[vs_path]["lastModifiedTime"] != before[vs_path]["lastModifiedTime"]
        assert after[vs_path]["creationTime"] == before[vs_path]["creationTime"]
        cert = "/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt"
        assert after[cert] == before[cert]
        members = get(f"{pool_path}/members")["items"]
        assert [m["name"] for m in members] == ["10.42.0.11:443", "10.0.0.1%2:443"]
        assert {m["generation"] for m in members} == {1}
        rt.sim.update(render(sec))  # same content again: nothing moves
        assert get(pool_path)["generation"] == 2


def test_device_overrides_change_only_that_device() -> None:
    sec = section()
    sec["devices"][2]["overrides"] = [
        {
            "op": "add",
            "path": "/pools/[path=/k8s/Shared/nginx_ingress_443]/members/0/state",
            "value": "down",
        }
    ]
    with running(render(sec)) as rt:
        member = "/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443/members/~k8s~10.42.0.11:443"
        states = {}
        for device in ("ha-a", "ha-b"):
            with rt.client(device) as c:
                states[device] = c.get(member, auth=(USER, PASSWORD)).json()["state"]
        assert states == {"ha-a": "up", "ha-b": "down"}


def test_stats_count_requests_and_concurrency() -> None:
    with running() as rt:
        rt.sim.inject(Fault("solo", "latency", count=4, delay=0.5))
        barrier = threading.Barrier(4)
        codes: list[int] = []

        def call() -> None:
            with rt.client() as c:
                barrier.wait()
                codes.append(c.get("/mgmt/tm/cm/device?$top=1", auth=(USER, PASSWORD)).status_code)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = rt.sim.stats("solo")
        assert codes == [200] * 4
        assert stats.max_in_flight == 4
        deadline = time.monotonic() + 2  # the handlers finish just after the client has read
        while rt.sim.stats("solo").in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rt.sim.stats("solo").in_flight == 0
        assert stats.total == 4
        assert stats.by_endpoint == {("GET", "/mgmt/tm/cm/device"): 4}
        assert rt.sim.stats("ha-a").total == 0


# -- scenario errors ----------------------------------------------------------------------


def _error(mutate: Any) -> str:
    sec = section()
    mutate(sec)
    with pytest.raises(ScenarioError) as info:
        render(sec)
    return str(info.value)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda s: s["config"]["pools"][0].update(colour="red"),
            "bigip.config.pools[0].colour: unknown key",
        ),
        (
            lambda s: s["config"]["sslCerts"][0].update(cert="nope"),
            'bigip.config.sslCerts[0].cert: unknown certificate "nope"',
        ),
        (
            lambda s: s["config"]["serverSslProfiles"][1].update(caFile="/k8s/Shared/missing.crt"),
            "bigip.config.serverSslProfiles[1].caFile: "
            'no ssl-cert "/k8s/Shared/missing.crt" in bigip.config.sslCerts',
        ),
        (
            lambda s: s["config"]["virtuals"][1].update(pool="/k8s/Shared/nope"),
            'bigip.config.virtuals[1].pool: no pool "/k8s/Shared/nope" in bigip.config.pools',
        ),
        (
            lambda s: s["config"]["virtuals"][0]["profiles"].append({"path": "/Common/mystery"}),
            "bigip.config.virtuals[0].profiles[3].path: "
            'no profile "/Common/mystery" in clientSslProfiles or serverSslProfiles '
            "(built-in profiles other than the common ones need type:)",
        ),
        (
            lambda s: s["config"]["pools"].append({"path": "/Common/edge_pool"}),
            "bigip.config.pools[2].path: "
            'duplicate path "/Common/edge_pool" (also bigip.config.pools[0].path)',
        ),
        (
            lambda s: s["config"]["virtuals"][0].update(destination="10.0.0.1"),
            'bigip.config.virtuals[0].destination: invalid destination "10.0.0.1" (expected '
            "ADDRESS:PORT, ADDRESS%RD:PORT or IPV6.PORT, optionally after /Partition/)",
        ),
        (
            lambda s: s["config"]["pools"][0].update(path="/Other/p"),
            'bigip.config.pools[0].path: partition "Other" is not in bigip.config.partitions',
        ),
        (
            lambda s: s["config"]["pools"][1]["members"][0].update(port="443"),
            'bigip.config.pools[1].members[0].port: expected an integer, got string "443"',
        ),
        (
            lambda s: s["devices"].append({"name": "solo"}),
            'bigip.devices[3].name: duplicate device name "solo" (also bigip.devices[0].name)',
        ),
    ],
)
def test_scenario_errors_name_their_place(mutate: Any, message: str) -> None:
    assert _error(mutate) == message


def test_render_is_deterministic_and_uses_the_default_password() -> None:
    sec = section()
    sec["credentials"] = {"username": "monitor", "password": None}
    first, second = (render(sec, password="generated-pw") for _ in range(2))
    assert first.credentials.password == "generated-pw"
    assert "generated-pw" not in repr(first.credentials)
    assert first.devices["solo"].collections == second.devices["solo"].collections
    assert first.devices["solo"].filestore == second.devices["solo"].filestore
    assert first.token_timeout == 1200
