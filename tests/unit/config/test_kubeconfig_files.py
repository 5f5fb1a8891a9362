"""The files a kubeconfig names for the context in use are checked before the Kubernetes
client reads them (it reads them whole): by `validate-config`, naming the entry and the
path, and when the daemon builds its API client, as `credentials_unreadable`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config.files import SECRET_LIMIT
from monitor.config.kubeconfig import check_referenced, referenced
from monitor.config.schema import MeshConfig
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.client import build_api_client
from tests.support.certhelpers import anchor
from tests.unit.config.test_named_files import CANARY, _validate, _world

TOO_LONG = "t" * (SECRET_LIMIT + 1)  # a token file a little over 64 KiB


def kubeconfig(
    server: str = "https://127.0.0.1:6443",
    cluster: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    current: str = "main",
) -> dict[str, Any]:
    """Two contexts: `main` (cluster c, user u, with the given fields) and `other`, whose
    files do not exist."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": "c", "cluster": {"server": server, **(cluster or {})}},
            {"name": "gone", "cluster": {"server": server, "certificate-authority": "/no/ca"}},
        ],
        "users": [
            {"name": "u", "user": user or {}},
            {"name": "gone", "user": {"tokenFile": "/no/token"}},
        ],
        "contexts": [
            {"name": "main", "context": {"cluster": "c", "user": "u"}},
            {"name": "other", "context": {"cluster": "gone", "user": "gone"}},
        ],
    }


def files(tmp_path: Path) -> None:
    """A good CA, client certificate, key and token beside the kubeconfig."""
    (tmp_path / "ca.crt").write_text(anchor().pem)
    (tmp_path / "client.crt").write_text(anchor().pem)
    (tmp_path / "client.key").write_text("-----BEGIN PRIVATE KEY-----\nx\n")
    (tmp_path / "token").write_text(CANARY)


GOOD_USER = {"client-certificate": "client.crt", "client-key": "client.key", "tokenFile": "token"}


def check(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kube: dict[str, Any],
    context: str | None = None,
) -> tuple[int, str]:
    files(tmp_path)
    doc = _world(tmp_path)
    if context is not None:
        doc["mesh"]["context"] = context
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kube))  # _world wrote its own
    return _validate(tmp_path, doc, capsys)


def test_readable_files_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kube = kubeconfig(cluster={"certificate-authority": "ca.crt"}, user=GOOD_USER)
    assert check(tmp_path, capsys, kube) == (0, "")


@pytest.mark.parametrize(
    ("cluster", "user", "message"),
    [
        (
            {"certificate-authority": "missing.crt"},
            {},
            "cluster 'c' certificate-authority: cannot read {d}/missing.crt:"
            " No such file or directory",
        ),
        (
            {"certificate-authority": "/dev/zero"},
            {},
            "cluster 'c' certificate-authority: cannot read /dev/zero: larger than 4 MiB",
        ),
        (
            {},
            {**GOOD_USER, "client-key": "/dev/zero"},
            "user 'u' client-key: cannot read /dev/zero: larger than 64 KiB",
        ),
        (
            {},
            {**GOOD_USER, "client-certificate": "sub/../missing.crt"},
            "user 'u' client-certificate: cannot read {d}/missing.crt: No such file",
        ),
        (
            {},
            {"tokenFile": "big-token"},
            "user 'u' tokenFile: cannot read {d}/big-token: larger than 64 KiB",
        ),
        (
            {},
            {"tokenFile": "."},
            "user 'u' tokenFile: cannot read {d}: Is a directory",
        ),
        (
            {},
            {
                "auth-provider": {
                    "name": "oidc",
                    "config": {"idp-certificate-authority": "/no/idp-ca.pem"},
                }
            },
            "user 'u' idp-certificate-authority: cannot read /no/idp-ca.pem: No such file",
        ),
    ],
)
def test_a_bad_file_is_named_by_entry_and_path(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cluster: dict[str, Any],
    user: dict[str, Any],
    message: str,
) -> None:
    (tmp_path / "big-token").write_text(TOO_LONG)
    code, err = check(tmp_path, capsys, kubeconfig(cluster=cluster, user=user))
    assert code == 2
    path = tmp_path / "kubeconfig"
    assert f"mesh.kubeconfig: {path}: " + message.format(d=tmp_path) in err
    assert "gone" not in err  # the other context's files are not the monitor's business


def test_the_configured_context_is_the_one_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(tmp_path, capsys, kubeconfig(), context="other")
    assert code == 2
    assert "cluster 'gone' certificate-authority: cannot read /no/ca" in err
    assert "user 'gone' tokenFile: cannot read /no/token" in err


def test_what_the_client_would_not_read_is_not_checked() -> None:
    base = "/etc/kube"
    inline = kubeconfig(
        cluster={"certificate-authority": "/no/ca", "certificate-authority-data": "Zm9v"},
        user={"tokenFile": "/no/token", "token": "inline"},
    )
    plain = kubeconfig(server="http://127.0.0.1:8080", user={"client-key": "/no/key"})
    assert referenced(inline, base, None) == []
    assert referenced(plain, base, None) == []
    assert referenced(kubeconfig(), base, "no-such-context") == []  # the client says so
    assert referenced({"clusters": []}, base, None) == []


def test_the_daemon_refuses_an_unbounded_file_before_the_client_reads_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "token").write_text(TOO_LONG)
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig(user={"tokenFile": "token"})))
    with pytest.raises(SourceFailure) as caught:
        build_api_client(MeshConfig(kubeconfig=tmp_path / "kubeconfig"))
    error = caught.value.error
    assert error.reason == "credentials_unreadable"
    assert error.message == (
        f"kubeconfig {tmp_path / 'kubeconfig'}: user 'u' tokenFile: cannot read"
        f" {tmp_path / 'token'}: larger than 64 KiB"
    )
    (tmp_path / "token").write_text(CANARY)  # within bounds: the client loads it
    build_api_client(MeshConfig(kubeconfig=tmp_path / "kubeconfig")).close()


def test_in_cluster_config_is_not_affected(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SourceFailure) as caught:
        build_api_client(MeshConfig(kubeconfig=None))
    error = caught.value.error
    assert (error.reason, error.target) == ("connect_error", "in-cluster config")


@pytest.mark.parametrize("text", ["clusters: [\n", "clusters: []\nx: 2025-02-30\n", "[" * 5000])
def test_a_kubeconfig_that_does_not_load_is_left_to_the_client(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    check_referenced(path, None)  # no exception of its own: the client reports it its way
