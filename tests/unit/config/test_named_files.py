"""`validate-config` opens and parses every file the config names, offline; files the
daemon reads are bounded in size (`monitor.config.files`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import cli
from monitor.config.files import SECRET_LIMIT, FileTooLarge, read_limited
from monitor.config.schema import ConfigError, load_config
from monitor.sources.errors import SourceFailure
from monitor.sources.secrets import secret_from_file
from tests.support.certhelpers import anchor

CANARY = "Canary-Secret-7f3a"


def _world(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "password").write_text(CANARY + "\n")
    (tmp_path / "ca.pem").write_text(anchor().pem)
    (tmp_path / "kubeconfig").write_text(
        yaml.safe_dump({"apiVersion": "v1", "clusters": [], "users": [{"token": CANARY}]})
    )
    (tmp_path / "am-token").write_text(CANARY)
    return {
        "mesh": {"kubeconfig": "kubeconfig"},
        "bigip": [
            {
                "name": "bigip-a",
                "url": "https://bigip-a.test",
                "username": "monitor",
                "passwordFile": "password",
                "caFile": "ca.pem",
            }
        ],
        "boundaries": [
            {
                "name": "shop",
                "mode": "plaintext",
                "devices": ["bigip-a"],
                "virtual": "/Common/shop",
                "backend": {"service": {"namespace": "shop", "name": "web", "port": 80}},
            }
        ],
        "alertmanager": {
            "url": "https://am.test",
            "caFile": "ca.pem",
            "bearerTokenFile": "am-token",
        },
    }


def _validate(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    code = cli.main(["validate-config", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert CANARY not in captured.out + captured.err
    return code, captured.err


def test_good_files_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _validate(tmp_path, _world(tmp_path), capsys) == (0, "")


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("password", None, "bigip[0].passwordFile: cannot read {p}: No such file or directory"),
        ("password", "\n", "bigip[0].passwordFile: {p} is empty"),
        ("password", b"\xff\xfe", "bigip[0].passwordFile: {p} is not UTF-8 text"),
        ("password", "x" * (SECRET_LIMIT + 1), "bigip[0].passwordFile: cannot read {p}: larger"),
        ("ca.pem", "not a certificate\n", "bigip[0].caFile: cannot use {p} as CA certificates"),
        (
            "ca.pem",
            "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
            "bigip[0].caFile: cannot use {p} as CA certificates",
        ),
        ("kubeconfig", f"token: [{CANARY}\n", "mesh.kubeconfig: {p} is not valid YAML"),
        ("kubeconfig", "clusters: []\nx: 2025-02-30\n", "mesh.kubeconfig: {p} is not valid YAML"),
        ("kubeconfig", "- a list\n", "mesh.kubeconfig: {p} is not a kubeconfig"),
        ("am-token", "", "alertmanager.bearerTokenFile: {p} is empty"),
    ],
)
def test_a_bad_file_is_named_by_its_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    content: str | bytes | None,
    message: str,
) -> None:
    doc = _world(tmp_path)
    target = tmp_path / file
    if content is None:
        target.unlink()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    code, err = _validate(tmp_path, doc, capsys)
    assert code == 2
    assert message.format(p=target) in err


def test_dev_zero_as_a_password_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _world(tmp_path)
    doc["bigip"][0]["passwordFile"] = "/dev/zero"
    code, err = _validate(tmp_path, doc, capsys)
    assert code == 2
    assert "bigip[0].passwordFile: cannot read /dev/zero: larger than 64 KiB" in err
    with pytest.raises(SourceFailure) as caught:  # the daemon, at every poll
        secret_from_file("bigip-a", "password", Path("/dev/zero"))
    assert caught.value.reason == "credentials_unreadable"
    assert "larger than 64 KiB" in caught.value.error.message


def test_the_config_file_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="larger than 4 MiB"):
        load_config(Path("/dev/zero"))
    with pytest.raises(FileTooLarge):
        read_limited(Path("/dev/zero"), 10)
    (tmp_path / "f").write_bytes(b"0123456789")
    assert read_limited(tmp_path / "f", 10) == b"0123456789"


def test_the_web_config_and_its_files_are_bounded(tmp_path: Path) -> None:
    from monitor.web.config import WebConfigError, load_web_config

    with pytest.raises(WebConfigError, match="larger than 4 MiB"):
        load_web_config(Path("/dev/zero"))
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: /dev/zero\n  key_file: /dev/zero\n")
    with pytest.raises(WebConfigError, match="cannot read /dev/zero: larger than 4 MiB"):
        load_web_config(web)
