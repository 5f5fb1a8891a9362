"""F5Source over httpx.MockTransport: authentication, tokens, credentials and retries."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from monitor.sources.f5.exchange import MAX_ATTEMPTS, RETRIES_PER_POLL
from monitor.sources.f5.source import COLLECTIONS, F5Source
from tests.unit.sources.f5.test_paging import (
    PASSWORD,
    SYNC,
    TOKEN,
    Clock,
    FakeBigip,
    _config,
    no_sleep,
    poll,
    pool_item,
)

# -- authentication ----------------------------------------------------------------------


def test_login_401_is_auth_failed_with_one_request(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.login = lambda r: httpx.Response(
        401, json={"code": 401, "message": "Authentication failed.", "kind": ":resterrorresponse"}
    )
    state, status = poll(tmp_path, fake)
    assert state is None
    assert [e.reason for e in status.errors] == ["auth_failed"]
    assert status.errors[0].message == (
        "bigip-a: login as 'monitor' refused: HTTP 401: Authentication failed."
    )
    assert len(fake.requests) == 1
    body = json.loads(fake.requests[0].content)
    assert body == {"username": "monitor", "password": PASSWORD, "loginProviderName": "tmos"}
    assert status.requests == {"401": 1}


def test_401_on_data_logs_in_again_once_and_retries(tmp_path: Path) -> None:
    fake = FakeBigip()
    tokens = iter(["FIRSTTOKEN", "SECONDTOKEN"])
    fake.live = {"SECONDTOKEN"}  # the first token is refused
    fake.login = lambda r: httpx.Response(200, json={"token": {"token": next(tokens)}})
    state, status = poll(tmp_path, fake)
    assert status.errors == ()
    assert state is not None
    logins = [r for r in fake.requests if r.url.path == "/mgmt/shared/authn/login"]
    assert len(logins) == 2
    assert status.requests["401"] >= 1


def test_401_naming_the_user_is_a_denial_and_costs_no_login(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(
        401,
        json={"code": 401, "message": "Authorization failed: user=x resource=/mgmt/tm/ltm/pool"},
    )
    state, status = poll(tmp_path, fake)
    assert state is not None
    assert [(e.reason, e.target) for e in status.errors] == [("http_401", "ltm/pool")]
    assert len(fake.gets("ltm/pool")) == 1  # the token is fine: RBAC denies the resource
    logins = [r for r in fake.requests if r.url.path == "/mgmt/shared/authn/login"]
    assert len(logins) == 1


def test_401_after_a_new_login_is_http_401(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(
        401, json={"code": 401, "message": "X-F5-Auth-Token does not exist."}
    )
    state, status = poll(tmp_path, fake)
    assert state is not None
    assert [(e.reason, e.target) for e in status.errors] == [("http_401", "ltm/pool")]
    assert len(fake.gets("ltm/pool")) == 2  # retried once, after one new login
    logins = [r for r in fake.requests if r.url.path == "/mgmt/shared/authn/login"]
    assert len(logins) == 2


def test_token_lifetime_comes_from_the_login_response(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.login = lambda r: httpx.Response(200, json={"token": {"token": TOKEN, "timeout": 600}})
    clock = Clock()
    cfg = _config(tmp_path)
    source = F5Source(cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), clock=clock)
    source.poll()
    clock.now += 530  # 70 s left: keep it
    source.poll()
    clock.now += 20  # 50 s left (< 60 s margin): renew
    source.poll()
    source.close()
    logins = [r for r in fake.requests if r.url.path == "/mgmt/shared/authn/login"]
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    assert len(logins) == 2
    assert len(deletes) == 2  # the superseded token, then the current one on close
    assert deletes[-1].headers["X-F5-Auth-Token"] == TOKEN


def test_basic_auth_never_logs_in(tmp_path: Path) -> None:
    fake = FakeBigip()
    _state, status = poll(tmp_path, fake, authType="basic")
    assert status.errors == ()
    assert all(r.url.path != "/mgmt/shared/authn/login" for r in fake.requests)
    gets = [r for r in fake.requests if r.method == "GET"]
    assert len(gets) == len(COLLECTIONS) + 2
    assert all(r.headers["Authorization"].startswith("Basic ") for r in gets)
    assert all("X-F5-Auth-Token" not in r.headers for r in fake.requests)


def test_credentials_from_environment_and_file_rotation(tmp_path: Path) -> None:
    fake = FakeBigip()
    cfg = _config(tmp_path, usernameEnv="BIGIP_USER", username=None)
    env = {"BIGIP_USER": "reader"}
    source = F5Source(cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), environ=env)
    state, status = source.poll()
    assert status.errors == ()
    assert json.loads(fake.requests[0].content)["username"] == "reader"
    del env["BIGIP_USER"]
    count = len(fake.requests)
    state, status = source.poll()
    assert state is None
    assert [e.reason for e in status.errors] == ["credentials_unreadable"]
    assert status.errors[0].message == "bigip-a: the username variable BIGIP_USER is not set"
    assert len(fake.requests) == count  # nothing sent
    source.close()


@pytest.mark.parametrize(
    ("content", "expected"), [("pw\n", "pw"), ("pw\r\n", "pw"), ("pw\n\n", "pw\n")]
)
def test_one_trailing_newline_is_stripped(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "password").write_text(content, newline="")
    fake = FakeBigip()
    poll(tmp_path, fake)
    assert json.loads(fake.requests[0].content)["password"] == expected


def test_empty_password_file_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("\n")
    fake = FakeBigip()
    state, status = poll(tmp_path, fake)
    assert state is None
    assert [e.reason for e in status.errors] == ["credentials_unreadable"]
    assert "is empty" in status.errors[0].message
    assert fake.requests == []


def test_transport_errors_map_to_reason_codes(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/mgmt/shared/authn/login":
            return httpx.Response(200, json={"token": {"token": TOKEN}})
        path = request.url.path.removeprefix("/mgmt/tm/")
        if path == "ltm/pool":
            raise httpx.ReadTimeout("timed out", request=request)
        if path == "ltm/virtual":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(200, json=SYNC if path == "cm/sync-status" else {})

    cfg = _config(tmp_path)
    transport = httpx.MockTransport(handler)
    source = F5Source(cfg.bigip[0], cfg, transport=transport, sleep=no_sleep)
    state, status = source.poll()
    source.close()
    assert state is not None
    reasons = {e.target: e.reason for e in status.errors}
    assert reasons == {"ltm/pool": "timeout", "ltm/virtual": "protocol_error"}
    # each of the two was sent MAX_ATTEMPTS times (retried), the rest once
    assert status.requests == {"200": 1 + 4 + 2, "error": 2 * MAX_ATTEMPTS}


def test_401_on_everything_costs_no_new_login(tmp_path: Path) -> None:
    fake = FakeBigip()
    denied = {"code": 401, "message": "Authorization failed: user=x resource=/mgmt/tm/y"}
    for collection in (*COLLECTIONS, "cm/device", "cm/sync-status"):
        fake.routes[collection] = lambda r: httpx.Response(401, json=denied)
    state, status = poll(tmp_path, fake)
    assert state is None  # nothing could be read
    assert {e.reason for e in status.errors} == {"http_401"}
    assert {e.target for e in status.errors} == {*COLLECTIONS, "cm/device", "cm/sync-status"}
    logins = [r for r in fake.requests if r.url.path == "/mgmt/shared/authn/login"]
    assert len(logins) == 1  # a denial is not about the token


def test_login_provider_name_is_configurable(tmp_path: Path) -> None:
    fake = FakeBigip()
    _state, status = poll(tmp_path, fake, loginProviderName="corp-ldap")
    assert status.errors == ()
    body = json.loads(fake.requests[0].content)
    assert body["loginProviderName"] == "corp-ldap"


def test_retry_after_is_honoured_and_the_wait_is_jittered(tmp_path: Path) -> None:
    fake = FakeBigip()
    answers = iter(
        [
            httpx.Response(
                503, headers={"Retry-After": "3"}, json={"code": 503, "message": "busy"}
            ),
            httpx.Response(429, json={"code": 429, "message": "slow down"}),
            httpx.Response(200, json={"items": [pool_item("a")]}),
        ]
    )
    fake.routes["ltm/pool"] = lambda r: next(answers)
    waits: list[float] = []
    cfg = _config(tmp_path)
    source = F5Source(cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), sleep=waits.append)
    state, status = source.poll()
    source.close()
    assert status.errors == ()
    assert state is not None
    assert list(state.pools) == ["/Common/a"]
    assert status.requests == {"200": 1 + len(COLLECTIONS) + 2, "503": 1, "429": 1}
    assert waits[0] == 3.0  # Retry-After beats the first backoff (0.25-0.5 s)
    assert 0.5 <= waits[1] <= 1.0


def test_retries_per_poll_are_capped(tmp_path: Path) -> None:
    fake = FakeBigip()
    busy = httpx.Response(503, json={"code": 503, "message": "busy"})
    for collection in (*COLLECTIONS, "cm/device", "cm/sync-status"):
        fake.routes[collection] = lambda r: busy
    state, status = poll(tmp_path, fake)
    assert state is None
    jobs = len(COLLECTIONS) + 2
    assert status.requests["503"] == jobs + RETRIES_PER_POLL  # not jobs x MAX_ATTEMPTS
    assert {e.reason for e in status.errors} == {"http_5xx"}


def test_a_failed_relogin_is_not_repeated(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.live = set()  # the first token is refused everywhere
    logins = iter(
        [
            httpx.Response(200, json={"token": {"token": "FIRST"}}),
            httpx.Response(401, json={"code": 401, "message": "Authentication failed."}),
        ]
    )
    fake.login = lambda r: next(logins)
    state, status = poll(tmp_path, fake)
    assert state is None
    assert {e.reason for e in status.errors} == {"auth_failed"}
    assert len([r for r in fake.requests if r.url.path == "/mgmt/shared/authn/login"]) == 2


def test_a_token_refused_for_another_reason_is_deleted_after_the_relogin(tmp_path: Path) -> None:
    fake = FakeBigip()
    tokens = iter(["FIRSTTOKEN", "SECONDTOKEN"])
    fake.login = lambda r: httpx.Response(200, json={"token": {"token": next(tokens)}})
    refused = {"code": 401, "message": "Invalid registered token"}

    def pools(request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-F5-Auth-Token") == "FIRSTTOKEN":
            return httpx.Response(401, json=refused)
        return httpx.Response(200, json={"items": [pool_item("a")]})

    fake.routes["ltm/pool"] = pools
    fake.live = {"FIRSTTOKEN", "SECONDTOKEN"}
    state, status = poll(tmp_path, fake)
    assert status.errors == ()
    assert state is not None
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    # the replaced token (maybe still live on the device), then the current one on close
    assert [r.url.path.rsplit("/", 1)[-1] for r in deletes] == ["FIRSTTOKEN", "SECONDTOKEN"]
    assert deletes[0].headers["X-F5-Auth-Token"] == "SECONDTOKEN"


def test_a_new_username_gets_a_new_token_and_the_old_one_is_deleted(tmp_path: Path) -> None:
    fake = FakeBigip()
    tokens = iter(["READERTOKEN", "OTHERTOKEN"])
    fake.login = lambda r: httpx.Response(200, json={"token": {"token": next(tokens)}})
    fake.live = {"READERTOKEN", "OTHERTOKEN"}
    cfg = _config(tmp_path, usernameEnv="BIGIP_USER", username=None)
    env = {"BIGIP_USER": "reader"}
    source = F5Source(cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), environ=env)
    source.poll()
    env["BIGIP_USER"] = "other"  # the Secret was rotated to another user
    _state, status = source.poll()
    assert status.errors == ()
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    assert [(r.url.path.rsplit("/", 1)[-1], r.headers["X-F5-Auth-Token"]) for r in deletes] == [
        ("READERTOKEN", "READERTOKEN")
    ]
    source.close()


def test_a_login_cut_off_is_not_sent_again(tmp_path: Path) -> None:
    # the device may have made a token we never learn of: a second one would be another
    fake = FakeBigip()

    def cut_off(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fake.login = cut_off
    state, status = poll(tmp_path, fake)
    assert state is None
    assert [e.reason for e in status.errors] == ["timeout"]
    assert len(fake.requests) == 1


def test_a_busy_login_is_retried(tmp_path: Path) -> None:
    fake = FakeBigip()
    answers = iter(
        [
            httpx.Response(503, json={"code": 503, "message": "busy"}),
            httpx.Response(200, json={"token": {"token": TOKEN}}),
        ]
    )
    fake.login = lambda r: next(answers)
    _state, status = poll(tmp_path, fake)
    assert status.errors == ()
    assert status.requests["503"] == 1
