"""Tests for monitor.config.schema: the expected-state file, its defaults and its error messages."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.catalogue import ALL_CHECKS, CHECKS_BY_FAMILY, FAMILIES, STATES, family_of
from monitor.config.durations import format_duration
from monitor.config.schema import (
    BigIPConfig,
    Config,
    ConfigError,
    IgnoreRule,
    PollConfig,
    Threshold,
    Thresholds,
    load_config,
    parse_config,
    parse_duration,
)
from tests.support import paths

TESTDATA = paths.TESTDATA / "config"


# Bad configs: file -> exact message -----------------------------------------------------

BAD_CONFIGS = [
    ("bad-unknown-top-level-key.yaml", 'pol: unknown key (did you mean "poll"?)'),
    ("bad-unknown-nested-key.yaml", 'bigip[0].pasword: unknown key (did you mean "passwordEnv"?)'),
    ("bad-section-type.yaml", "poll: expected a mapping, got a list"),
    ("bad-non-string-key.yaml", "poll: keys must be strings, got integer 1"),
    ("bad-wrong-type.yaml", 'poll.f5PageSize: expected an integer, got string "100"'),
    ("bad-bool-not-int.yaml", "poll.f5Concurrency: expected an integer, got boolean true"),
    ("bad-page-size.yaml", "poll.f5PageSize: 5000 is out of range 1-1000"),
    ("bad-duration.yaml", 'poll.interval: invalid duration "60x" (use e.g. 30s, 15m, 60d)'),
    (
        "bad-duration-bare-number.yaml",
        "alertmanager.resendInterval: expected a duration (e.g. 30s, 15m, 60d), got integer 60",
    ),
    ("bad-poll-zero-interval.yaml", "poll.interval: must be longer than 0s"),
    ("bad-poll-timeout.yaml", "poll.timeout: 2m is longer than interval 1m"),
    ("bad-missing-required.yaml", "boundaries[2].backend.service: required"),
    ("bad-missing-bigip.yaml", "bigip: required"),
    ("bad-empty-bigip.yaml", "bigip: must not be empty"),
    (
        "bad-duplicate-bigip-name.yaml",
        'bigip[1].name: duplicate name "bigip-a" (already used by bigip[0])',
    ),
    (
        "bad-duplicate-boundary-name.yaml",
        'boundaries[1].name: duplicate name "shop" (already used by boundaries[0])',
    ),
    ("bad-unknown-device.yaml", 'boundaries[0].devices[1]: unknown device "bigip-c"'),
    ("bad-duplicate-device.yaml", 'boundaries[0].devices[1]: duplicate value "bigip-a"'),
    ("bad-device-name.yaml", 'bigip[0].name: invalid name "BIGIP_A" (e.g. "bigip-a")'),
    (
        "bad-inline-password.yaml",
        "bigip[0].password: inline passwords are not allowed; use passwordFile or passwordEnv",
    ),
    ("bad-no-password.yaml", "bigip[0]: one of passwordFile, passwordEnv is required"),
    (
        "bad-two-usernames.yaml",
        "bigip[0]: set only one of username, usernameFile, usernameEnv"
        " (found username, usernameFile)",
    ),
    ("bad-cafile-and-insecure.yaml", "bigip[0].caFile: not allowed together with insecure: true"),
    (
        "bad-no-cafile.yaml",
        "bigip[0].caFile: required to verify the BIG-IP's TLS certificate (or set insecure: true)",
    ),
    (
        "bad-url-scheme.yaml",
        'bigip[0].url: expected an http:// or https:// URL with a host, got "ftp://bigip-a.example.net"',
    ),
    (
        "bad-url-credentials.yaml",
        "bigip[0].url: credentials in the URL are not allowed (use the credential settings)",
    ),
    ("bad-partitions-empty.yaml", "bigip[0].partitions: must not be empty"),
    (
        "bad-partition-slash.yaml",
        'bigip[0].partitions[0]: partition names have no "/" (write "Common")',
    ),
    (
        "bad-exclude-certificates-regex.yaml",
        'bigip[0].excludeCertificates[1]: "^/Common/f5-.*$" looks like a regular expression;'
        " write a glob over full paths such as /Common/default.crt or /Common/f5-*",
    ),
    (
        "bad-exclude-certificates-relative.yaml",
        "bigip[0].excludeCertificates[0]: expected a glob over full paths such as /Common/f5-*"
        ' or /k8s/*, got "Common/default.crt"',
    ),
    (
        "bad-exclude-certificates-duplicate.yaml",
        'bigip[0].excludeCertificates[1]: duplicate value "/Common/f5-*"',
    ),
    (
        "bad-bundle-reader.yaml",
        'bigip[0].bundleReader: expected one of "auto", "ca-bundle-manager", "bash", "none",'
        ' got string "ssh"',
    ),
    (
        "bad-mode.yaml",
        'boundaries[0].mode: expected one of "mesh-tls", "plaintext", got string "mesh_tls"'
        ' (did you mean "mesh-tls"?)',
    ),
    ("bad-port-range.yaml", "boundaries[0].backend.service.port: 70000 is out of range 1-65535"),
    (
        "bad-port-quoted-number.yaml",
        "boundaries[0].backend.service.port: a port name must contain a letter;"
        " for a number write 443 unquoted",
    ),
    (
        "bad-port-list.yaml",
        "boundaries[0].backend.service.port: expected an integer or a string, got a list",
    ),
    (
        "bad-virtual-path.yaml",
        'boundaries[0].virtual: expected a full path such as /Common/name, got "shop_443"',
    ),
    (
        "bad-boundary-wildcard-name.yaml",
        'boundaries[0].name: "*" is reserved (it means any boundary in ignore)',
    ),
    (
        "bad-plaintext-ssl-profile.yaml",
        "boundaries[0].serverSslProfile: not used with mode: plaintext (remove it)",
    ),
    ("bad-thresholds-order.yaml", "thresholds.issuer.critical: 40d is longer than warning 30d"),
    (
        "bad-thresholds-default-critical.yaml",
        "thresholds.trustAnchor.critical: 14d is longer than warning 7d",
    ),
    (
        "bad-listen.yaml",
        'server.listen: invalid listen address "9879" (use "host:port" or ":port")',
    ),
    ("bad-listen-port.yaml", 'server.listen: port 70000 in ":70000" is out of range 1-65535'),
    (
        "bad-listen-ipv6.yaml",
        'server.listen: invalid host in "::1:9879" (write IPv6 addresses as "[::1]:9879")',
    ),
    (
        "bad-ignore-unknown-check.yaml",
        'ignore[0].check: unknown check "pool_member_xtra" (did you mean "pool_member_extra"?)',
    ),
    ("bad-ignore-unknown-boundary.yaml", 'ignore[0].boundary: unknown boundary "shp"'),
    ("bad-ignore-no-reason.yaml", "ignore[0].reason: required"),
    ("bad-ignore-empty-reason.yaml", "ignore[0].reason: must not be empty"),
    ("bad-until-date.yaml", 'ignore[0].until: invalid date "2025-02-30" (expected YYYY-MM-DD)'),
    (
        "bad-until-date-unquoted.yaml",
        'invalid YAML at line 15, column 71: invalid date "2025-02-30"',
    ),
    (
        "bad-until-timestamp.yaml",
        "ignore[0].until: expected a date (YYYY-MM-DD), got timestamp 2025-02-01T10:00:00+00:00",
    ),
    ("bad-alertmanager-no-url.yaml", "alertmanager.url: required"),
    ("bad-alertmanager-ca-on-http.yaml", "alertmanager.caFile: only used with an https:// url"),
    (
        "bad-bigip-http-url.yaml",
        "bigip[0].url: must be https:// (iControl REST over http:// would send the password"
        " and tokens in cleartext)",
    ),
    (
        "bad-alertmanager-http-credentials.yaml",
        "alertmanager.url: must be https:// with username (http:// would send the credentials"
        " in cleartext)",
    ),
    (
        "bad-alertmanager-http-bearer.yaml",
        "alertmanager.url: must be https:// with bearerTokenFile (http:// would send the"
        " credentials in cleartext)",
    ),
    (
        "bad-alertmanager-inline-password.yaml",
        "alertmanager.password: inline passwords are not allowed; use passwordFile or passwordEnv",
    ),
    (
        "bad-alertmanager-inline-token.yaml",
        "alertmanager.bearerToken: inline tokens are not allowed; use bearerTokenFile",
    ),
    ("bad-alertmanager-password-alone.yaml", "alertmanager.passwordEnv: needs username"),
    (
        "bad-alertmanager-token-and-user.yaml",
        "alertmanager.bearerTokenFile: not allowed together with username",
    ),
    (
        "bad-alertmanager-two-passwords.yaml",
        "alertmanager: only one of passwordFile, passwordEnv may be set",
    ),
    (
        "bad-alertmanager-username-alone.yaml",
        "alertmanager.username: needs passwordFile or passwordEnv",
    ),
    (
        "bad-min-severity.yaml",
        'alertmanager.minSeverity: expected one of "warning", "critical", got string "info"',
    ),
    (
        "bad-fingerprint.yaml",
        'mesh.pinnedTrustAnchors[0]: invalid SHA-256 fingerprint "AB:CD:EF"'
        " (expected 64 hex digits, colons allowed)",
    ),
    (
        "bad-duplicate-yaml-key.yaml",
        "bigip[0].url: duplicate key at line 7, column 5 (first set at line 3, column 5)",
    ),
    (
        "bad-duplicate-top-level-key.yaml",
        "poll: duplicate key at line 15, column 1 (first set at line 14, column 1)",
    ),
    (
        "bad-yaml-syntax.yaml",
        "invalid YAML at line 9, column 4: expected <block end>, but found"
        " '<block mapping start>' (while parsing a block collection at line 8, column 3)",
    ),
    (
        "bad-yaml-tab.yaml",
        "invalid YAML at line 8, column 1: found character '\\t' that cannot start any token"
        " (while scanning for the next token)",
    ),
    (
        "bad-state-unknown-key.yaml",
        'state.fiel: unknown key (did you mean "file"?)',
    ),
    ("bad-state-file-type.yaml", "state.file: expected a path, got integer 5"),
    ("bad-state-file-empty.yaml", "state.file: must not be empty"),
    (
        "bad-state-not-mapping.yaml",
        'state: expected a mapping, got string "/var/lib/f5-linkerd-monitor/state.json"',
    ),
    (
        "bad-state-file-top-level.yaml",
        'stateFile: unknown key (did you mean "state"?)',
    ),
    ("bad-empty.yaml", "the config file is empty"),
    ("bad-only-comments.yaml", "the config file is empty"),
    ("bad-top-level-list.yaml", "the config file must be a mapping of sections, not a list"),
    (
        "bad-top-level-scalar.yaml",
        "the config file must be a mapping of sections, not a single value",
    ),
]


@pytest.mark.parametrize(("filename", "message"), BAD_CONFIGS)
def test_load_bad_configs(filename: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(TESTDATA / filename)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_every_bad_file_is_in_the_table() -> None:
    on_disk = {path.name for path in TESTDATA.glob("bad-*.yaml")}
    assert on_disk == {filename for filename, _ in BAD_CONFIGS}


def test_error_carries_path_and_message() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(TESTDATA / "bad-unknown-device.yaml")
    assert caught.value.path == "boundaries[0].devices[1]"
    assert caught.value.message == 'unknown device "bigip-c"'
    with pytest.raises(ConfigError) as caught:
        load_config(TESTDATA / "bad-empty.yaml")
    assert caught.value.path == ""
    assert str(caught.value) == caught.value.message


def test_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(ConfigError("poll.interval", "required")))
    assert (err.path, err.message, str(err)) == (
        "poll.interval",
        "required",
        "poll.interval: required",
    )


@pytest.mark.parametrize(
    ("filename", "secret"),
    [
        ("bad-inline-password.yaml", "s3cr3t-Pa55w0rd"),
        ("bad-url-credentials.yaml", "hunter2"),
        ("bad-unknown-nested-key.yaml", "hunter2"),
        ("bad-alertmanager-inline-password.yaml", "Am-s3cret-pw"),
        ("bad-alertmanager-inline-token.yaml", "Am-s3cret-tok"),
    ],
)
def test_secrets_are_never_echoed(filename: str, secret: str) -> None:
    assert secret in (TESTDATA / filename).read_text()
    with pytest.raises(ConfigError) as caught:
        load_config(TESTDATA / filename)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


# Files that cannot be read ---------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == f"cannot read config file {missing}: No such file or directory"


def test_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("mesh: {context: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"config file {path} is not valid UTF-8"


def test_unsafe_tags_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text("mesh: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match=r"^invalid YAML at line 1, column 7: "):
        load_config(path)


# Good configs ----------------------------------------------------------------------------


def test_full_example_loads() -> None:
    config = load_config(TESTDATA / "good-full.yaml")

    assert config.mesh.kubeconfig == TESTDATA.absolute() / "kube" / "config"
    assert config.mesh.context == "prod-eu"
    assert config.mesh.linkerd_namespace == "linkerd-prod"
    assert config.mesh.trust_domain == "mesh.example"
    assert config.mesh.pinned_trust_anchors == (
        "abcdef0123456789" * 4,
        "0123456789abcdef" * 4,
    )

    assert [device.name for device in config.bigip] == ["bigip-a", "bigip-b", "bigip-c"]
    a, b, c = config.bigip
    assert a.url == "https://bigip-a.example.net:8443"
    assert a.username_file == Path("/var/run/secrets/bigip/username")
    assert a.password_file == Path("/var/run/secrets/bigip/password")
    assert a.ca_file == TESTDATA.absolute() / "bigip-ca.pem"
    assert a.partitions == ("Common", "k8s")
    assert a.exclude_certificates == ("/Common/ca-bundle.crt", "/Common/f5-*", "/k8s/legacy/*")
    assert a.ha_group == "edge-pair-1"
    assert (a.bundle_reader, a.auth_type, a.login_provider_name) == (
        "ca-bundle-manager",
        "token",
        "ldap",
    )
    assert (b.username, b.password_env, b.insecure, b.ca_file) == (
        "monitor",
        "BIGIP_B_PASSWORD",
        True,
        None,
    )
    assert (b.bundle_reader, b.auth_type, b.partitions) == ("bash", "basic", ("k8s",))
    assert (c.username_env, c.password_env) == ("BIGIP_C_USERNAME", "BIGIP_C_PASSWORD")
    assert c.ca_file == Path("/etc/f5-linkerd-monitor/bigip-c-ca.pem")
    assert c.bundle_reader == "none"

    shop, legacy = config.boundaries
    assert shop.mode == "mesh-tls"
    assert shop.devices == ("bigip-a", "bigip-b")
    assert shop.virtual == "/k8s/Shared/shop_443"
    assert shop.pool == "/k8s/Shared/shop_pool"
    assert shop.server_ssl_profile == "/k8s/Shared/shop_serverssl"
    assert shop.backend.service.namespace == "ingress"
    assert shop.backend.service.name == "nginx-ingress"
    assert shop.backend.service.port == 443
    assert shop.backend.identity.startswith("nginx-ingress.ingress.serviceaccount.")
    assert shop.client_identity == (
        "bigip.f5-edge.serviceaccount.identity.linkerd-prod.mesh.example"
    )
    assert legacy.mode == "plaintext"
    assert legacy.backend.service.port == "http"
    assert (legacy.pool, legacy.server_ssl_profile, legacy.client_identity) == (None, None, None)
    assert legacy.backend.identity == "auto"

    days = timedelta(days=1)
    assert config.thresholds == Thresholds(
        trust_anchor=Threshold(90 * days, 30 * days),
        issuer=Threshold(14 * days, 3 * days),
        boundary_cert=Threshold(21 * days, 14 * days),  # critical keeps its default
        edge_cert=Threshold(365 * days, timedelta(0)),
    )

    assert config.ignore == (
        IgnoreRule(
            check="pool_member_extra", boundary="shop", reason="canary", object="10.0.0.9:443"
        ),
        IgnoreRule(
            check="tls13_disabled",
            boundary="*",
            reason="waiting for TMOS upgrade",
            until=date(2030, 6, 30),
        ),
        IgnoreRule(
            check="open_onramp",
            boundary="legacy",
            reason="accepted until migration",
            until=date(2031, 1, 15),
        ),
    )
    assert config.poll == PollConfig(
        interval=timedelta(minutes=2),
        timeout=timedelta(seconds=45),
        f5_page_size=500,
        f5_concurrency=8,
    )
    assert config.server.listen == "[::1]:9100"
    assert config.server.web_config == TESTDATA.absolute() / "web.yaml"
    assert config.alertmanager is not None
    assert config.alertmanager.url == "https://alertmanager.monitoring.svc:9093"
    assert config.alertmanager.resend_interval == timedelta(minutes=5)
    assert config.alertmanager.min_severity == "critical"
    assert config.leader_election.enabled is True
    assert config.leader_election.lease_name == "f5-linkerd-monitor-prod"
    assert config.leader_election.namespace == "monitoring"

    assert config.device("bigip-b") is b
    assert config.boundary("legacy") is legacy
    with pytest.raises(KeyError):
        config.device("bigip-z")


def test_minimal_example_gets_every_default() -> None:
    config = load_config(TESTDATA / "good-minimal.yaml")

    assert config.mesh.kubeconfig is None
    assert config.mesh.context is None
    assert config.mesh.linkerd_namespace == "linkerd"
    assert config.mesh.trust_domain == "cluster.local"
    assert config.mesh.pinned_trust_anchors == ()
    (device,) = config.bigip
    assert device.username_file == TESTDATA.absolute() / "secrets" / "username"
    assert device.insecure is False
    assert device.partitions == ("Common",)
    assert device.exclude_certificates == ()  # BIG-IP's own certificates stay in the store
    assert device.ha_group is None
    assert (device.bundle_reader, device.auth_type, device.login_provider_name) == (
        "auto",
        "token",
        "tmos",
    )
    (boundary,) = config.boundaries
    assert (boundary.pool, boundary.server_ssl_profile, boundary.client_identity) == (None,) * 3
    assert boundary.backend.identity == "auto"
    days = timedelta(days=1)
    assert config.thresholds.trust_anchor == Threshold(60 * days, 14 * days)
    assert config.thresholds.issuer == Threshold(30 * days, 7 * days)
    assert config.thresholds.boundary_cert == Threshold(28 * days, 14 * days)
    assert config.thresholds.edge_cert == Threshold(28 * days, 14 * days)
    assert config.ignore == ()
    assert config.poll == PollConfig(timedelta(seconds=60), timedelta(seconds=30), 100, 4)
    assert config.server.listen == ":9879"
    assert config.server.web_config is None
    assert config.alertmanager is None
    assert config.leader_election.enabled is False
    assert config.leader_election.lease_name == "f5-linkerd-monitor"
    assert config.leader_election.namespace is None


def _minimal(**sections: object) -> dict[str, object]:
    data: dict[str, object] = {
        "bigip": [
            {
                "name": "bigip-a",
                "url": "https://bigip-a",
                "username": "u",
                "passwordEnv": "P",
                "insecure": True,
            }
        ],
        "boundaries": [
            {
                "name": "shop",
                "mode": "mesh-tls",
                "devices": ["bigip-a"],
                "virtual": "/Common/shop",
                "backend": {"service": {"namespace": "ns", "name": "svc", "port": 443}},
            }
        ],
    }
    data.update(sections)
    return data


def test_empty_sections_mean_defaults() -> None:
    config = parse_config(_minimal(mesh=None, thresholds={}, poll=None, ignore=None), Path("/etc"))
    assert config.mesh.linkerd_namespace == "linkerd"
    assert config.thresholds == Thresholds()
    assert config.poll == PollConfig()
    assert config.ignore == ()


def test_relative_paths_join_base_dir() -> None:
    config = parse_config(_minimal(server={"webConfig": "web/config.yml"}), Path("/etc/monitor"))
    assert config.server.web_config == Path("/etc/monitor/web/config.yml")


def test_paths_are_relative_to_a_symlink_not_its_target(tmp_path: Path) -> None:
    real = tmp_path / "..2025_01_01" / "config.yaml"
    real.parent.mkdir()
    real.write_text((TESTDATA / "good-minimal.yaml").read_text())
    mounted = tmp_path / "config" / "config.yaml"
    mounted.parent.mkdir()
    mounted.symlink_to(real)
    config = load_config(mounted)
    assert config.bigip[0].ca_file == mounted.parent.absolute() / "bigip-ca.pem"


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        """
bigip:
  - &device {name: bigip-a, url: "https://a", username: u, passwordEnv: P, insecure: true}
  - <<: *device
    name: bigip-b
    url: https://b
boundaries:
  - name: shop
    mode: mesh-tls
    devices: [bigip-a, bigip-b]
    virtual: /Common/shop
    backend: {service: {namespace: ns, name: svc, port: https}}
"""
    )
    config = load_config(path)
    assert [(d.name, d.url, d.username) for d in config.bigip] == [
        ("bigip-a", "https://a", "u"),
        ("bigip-b", "https://b", "u"),
    ]


@pytest.mark.parametrize(
    ("listen"),
    [":9879", "0.0.0.0:9879", "localhost:1", "[::]:65535", "[::1]:9879", "monitor.svc:80"],
)
def test_good_listen_addresses(listen: str) -> None:
    assert parse_config(_minimal(server={"listen": listen}), Path("/")).server.listen == listen


def test_fingerprints_are_normalised() -> None:
    upper = ":".join(["AB"] * 32)
    config = parse_config(_minimal(mesh={"pinnedTrustAnchors": [upper]}), Path("/"))
    assert config.mesh.pinned_trust_anchors == ("ab" * 32,)
    with pytest.raises(ConfigError) as caught:
        parse_config(_minimal(mesh={"pinnedTrustAnchors": [upper, "ab" * 32]}), Path("/"))
    assert str(caught.value) == f'mesh.pinnedTrustAnchors[1]: duplicate value "{"ab" * 32}"'


def test_configs_are_frozen() -> None:
    config = load_config(TESTDATA / "good-full.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.poll = PollConfig()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.bigip[0].insecure = True  # type: ignore[misc]
    assert isinstance(config.bigip, tuple)
    assert isinstance(config.bigip[0].partitions, tuple)
    assert isinstance(config.bigip[0], BigIPConfig)
    assert hash(config) == hash(load_config(TESTDATA / "good-full.yaml"))


def test_parse_config_rejects_non_mapping() -> None:
    with pytest.raises(
        ConfigError, match=r"^the config file must be a mapping of sections, not a list$"
    ):
        parse_config([], Path("/"))
    assert isinstance(parse_config(_minimal(), Path("/")), Config)


# Durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("60d", timedelta(days=60)),
        ("2w", timedelta(weeks=2)),
        ("1y", timedelta(days=365)),
        ("500ms", timedelta(milliseconds=500)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1m5ms", timedelta(minutes=1, milliseconds=5)),
        (
            "1y2w3d4h5m6s7ms",
            timedelta(days=365 + 14 + 3, hours=4, minutes=5, seconds=6, milliseconds=7),
        ),
        ("90m", timedelta(minutes=90)),
        ("007s", timedelta(seconds=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "60x",
        "",
        "1.5h",
        "-1h",
        "60",
        "1",
        "00",
        "h",
        "1H",
        " 1h",
        "1h ",
        "30m1h",
        "1h1h",
        "1s1m",
        "1d\n",
        "1 h",
        "+5m",
        "٣s",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid duration ") as caught:
        parse_duration(text)
    assert str(caught.value).endswith(" (use e.g. 30s, 15m, 60d)")


def test_parse_duration_message() -> None:
    with pytest.raises(ValueError, match="invalid duration") as caught:
        parse_duration("60x")
    assert str(caught.value) == 'invalid duration "60x" (use e.g. 30s, 15m, 60d)'


def test_parse_duration_overflow() -> None:
    with pytest.raises(ValueError, match=r"is too long$"):
        parse_duration("9" * 30 + "y")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(days=14), "14d"),
        (timedelta(days=60), "60d"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(minutes=2), "2m"),
        (timedelta(seconds=1, milliseconds=500), "1s500ms"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips(milliseconds: int) -> None:
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value


# Catalogue -------------------------------------------------------------------------------


def test_catalogue() -> None:
    assert FAMILIES == ("trust", "boundary", "routes", "edge", "ha", "policy")
    assert [len(CHECKS_BY_FAMILY[family]) for family in FAMILIES] == [11, 15, 9, 2, 2, 3]
    assert len(ALL_CHECKS) == 42
    assert family_of("open_onramp") == "routes"
    assert STATES == ("pass", "warning", "critical", "unknown")
    with pytest.raises(TypeError):
        CHECKS_BY_FAMILY["new"] = ()  # type: ignore[index]
