"""Fuzzing the web config (`monitor.web.config`, the exporter-toolkit format).

Contract: `parse_web_config` returns a `WebConfig` or raises `WebConfigError`, whatever the
text; a TLS config that parses builds its `ssl.SSLContext` or raises `WebConfigError`.
The example document names real files (a certificate and key of the demo world, a CA),
so that mutations reach the checks behind the file checks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.web.config import WebConfig, WebConfigError, parse_web_config
from tests.fuzz import FUZZ
from tests.fuzz.samples import ODD_TEXT, mutated, world

WORK = Path(tempfile.mkdtemp(prefix="fuzz-web-"))
_CERTS = world().state.certs
(WORK / "server.crt").write_text(_CERTS["shop-edge"].pem)
(WORK / "server.key").write_text(_CERTS["shop-edge"].key_pem)
(WORK / "other.key").write_text(_CERTS["issuer"].key_pem)
(WORK / "clients.crt").write_text(_CERTS["anchor-b"].pem)
BCRYPT = "$2y$10$" + "a" * 53
SAMPLE: dict[str, Any] = {
    "tls_server_config": {
        "cert_file": "server.crt",
        "key_file": "server.key",
        "client_auth_type": "RequireAndVerifyClientCert",
        "client_ca_file": "clients.crt",
        "client_allowed_sans": ["prometheus.monitoring.svc"],
        "min_version": "TLS12",
        "max_version": "TLS13",
        "cipher_suites": ["TLS_AES_128_GCM_SHA256"],
    },
    "http_server_config": {"headers": {"X-Frame-Options": "deny"}, "http2": True},
    "basic_auth_users": {"prometheus": BCRYPT},
}
# values worth trying anywhere: the other file names, the other enum values
VALUES = ("other.key", "missing.crt", "/dev/null", "NoClientCert", "RequestClientCert",
          "VerifyClientCertIfGiven", "RequireAnyClientCert", "TLS10", "TLS11", BCRYPT[:-1],
          "$2a$04$" + "/" * 53, *ODD_TEXT)  # fmt: skip


def _check(text: str) -> None:
    try:
        config = parse_web_config(text, WORK / "web.yaml")
    except WebConfigError as err:
        message = str(err)
        assert message
        return
    assert isinstance(config, WebConfig)
    if config.tls is not None:
        try:
            config.tls.context()
        except WebConfigError as err:
            message = str(err)
            assert message


@st.composite
def _documents(draw: st.DrawFn) -> Any:
    doc = draw(mutated(SAMPLE, most=5))
    tls = doc.get("tls_server_config") if isinstance(doc, dict) else None
    if isinstance(tls, dict) and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(tls, key=str) or ["cert_file"]))
        tls[key] = draw(st.sampled_from(VALUES))
    return doc


@FUZZ
@given(doc=_documents())
def test_structure_parses_or_raises_web_config_error(doc: Any) -> None:
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        text = repr(doc)
    _check(text)


@FUZZ
@given(text=st.text(max_size=300) | st.sampled_from(ODD_TEXT))
@example(text='tls_server_config: {cert_file: "a\\0b", key_file: server.key}')
@example(text='tls_server_config: {cert_file: "\\ud800", key_file: server.key}')
@example(text="tls_server_config: {cert_file: ~nosuchuser/x.crt, key_file: server.key}")
def test_text_parses_or_raises_web_config_error(text: str) -> None:
    _check(text)
