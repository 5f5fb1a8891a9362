"""`mesh.issuer`: where the identity issuer is read (`source`, `configMap`), with errors that
name their path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config.schema import ISSUER_CONFIG_MAP, ConfigError, IssuerSourceConfig, parse_config
from tests.unit.config.test_schema import TESTDATA


def with_issuer(issuer: Any) -> dict[str, Any]:
    data = yaml.safe_load((TESTDATA / "good-minimal.yaml").read_text(encoding="utf-8"))
    data["mesh"] = {**(data.get("mesh") or {}), "issuer": issuer}
    return data


def test_the_default_reads_the_secret() -> None:
    data = yaml.safe_load((TESTDATA / "good-minimal.yaml").read_text(encoding="utf-8"))
    issuer = parse_config(data, Path("/etc")).mesh.issuer
    assert issuer == IssuerSourceConfig("secret", None)
    assert parse_config(with_issuer(None), Path("/etc")).mesh.issuer == issuer  # `issuer:`


@pytest.mark.parametrize(
    ("issuer", "source", "config_map"),
    [({"source": "certificate"}, "certificate", ISSUER_CONFIG_MAP),
     ({"source": "configMap"}, "configMap", "linkerd-identity-issuer-public"),
     ({"source": "configMap", "configMap": "issuer-pem"}, "configMap", "issuer-pem")],
)  # fmt: skip
def test_sources(issuer: dict[str, str], source: str, config_map: str) -> None:
    parsed = parse_config(with_issuer(issuer), Path("/etc")).mesh.issuer
    assert (parsed.source, parsed.config_map_name) == (source, config_map)


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ({"source": "Certificate"}, 'mesh.issuer.source: expected one of "secret", "certificate",'
         ' "configMap", got string "Certificate" (did you mean "certificate"?)'),
        ({"source": "vault"}, 'mesh.issuer.source: expected one of "secret", "certificate",'
         ' "configMap", got string "vault"'),
        ({"sourc": "secret"}, 'mesh.issuer.sourc: unknown key (did you mean "source"?)'),
        ({"source": "certificate", "configMap": "x"},
         'mesh.issuer.configMap: only used with source: configMap (source is "certificate")'),
        ({"source": "configMap", "configMap": "Not_A_Name"},
         'mesh.issuer.configMap: invalid name "Not_A_Name" (e.g. "bigip-a")'),
        ("configMap", 'mesh.issuer: expected a mapping, got string "configMap"'),
    ],
)  # fmt: skip
def test_errors_name_their_path(issuer: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_issuer(issuer), Path("/etc"))
    assert str(caught.value) == message
