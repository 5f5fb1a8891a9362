"""What an OIDC identity provider publishes, read: the discovery document and the JWK Set.

Pure (no I/O, no clock): `parse_discovery` keeps `issuer`, `jwks_uri` and
`id_token_signing_alg_values_supported` of an OpenID Connect Discovery 1.0 document;
`parse_jwks` turns an RFC 7517 JWK Set into `Jwk`s (at most `MAX_KEYS`; a key without
`kid` or `kty` is skipped with a note, as no relying party can select it), parsing the
first `x5c` certificate (base64 DER, RFC 7517 4.7) for its end date; `max_age` reads a
`Cache-Control` header. A document that is not what it should be raises `Malformed`
with a short reason (never echoing the body).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from monitor.certs import parse_der
from monitor.model import Jwk
from monitor.model.oidc import b64url_trim, normal_kty

MAX_KEYS: Final = 100  # keys kept from one JWK Set (Entra publishes a handful)
MAX_AGE: Final = timedelta(hours=24)  # a longer max-age is clamped (Entra's cache TTL)
MAX_FIELD: Final = 16_384  # characters of one key member (a 8192-bit modulus is ~1,400)
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d{1,10})\"?\s*(?=,|$)", re.I)


class Malformed(ValueError):
    """A document that is not a discovery document or JWK Set (the message says why)."""


def parse_discovery(doc: Any) -> tuple[str, str, tuple[str, ...]]:
    """(issuer, jwks_uri, id-token signing algorithms) of a discovery document."""
    if not isinstance(doc, dict):
        raise Malformed("the discovery document is not a JSON object")
    issuer = doc.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip():
        raise Malformed("the discovery document has no issuer")
    jwks_uri = doc.get("jwks_uri")
    if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme != "https":
        raise Malformed("the discovery document has no https jwks_uri")
    algs = doc.get("id_token_signing_alg_values_supported", [])
    if not isinstance(algs, list):
        raise Malformed("id_token_signing_alg_values_supported is not a list")
    named = tuple(dict.fromkeys(a.strip() for a in algs if isinstance(a, str) and a.strip()))
    return issuer.strip()[:MAX_FIELD], jwks_uri.strip()[:MAX_FIELD], named[:MAX_KEYS]


def _member(key: Mapping[str, Any], name: str) -> str | None:
    value = key.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD:
        return None
    return value.strip()


def parse_key(key: Mapping[str, Any]) -> Jwk:
    """One JWK; Malformed when it has no `kid` or `kty`."""
    kid, kty = _member(key, "kid"), _member(key, "kty")
    if kid is None or kty is None:
        raise Malformed("a key without kid or kty")
    not_after, subject, x5c = None, "", key.get("x5c")
    if isinstance(x5c, list) and x5c and isinstance(x5c[0], str) and len(x5c[0]) < 65_536:
        try:
            parsed = parse_der(base64.b64decode(x5c[0], validate=True))
        except (binascii.Error, ValueError):
            parsed = None
        if parsed is not None and parsed.certs:
            not_after, subject = parsed.certs[0].not_after, parsed.certs[0].subject
    return Jwk(
        kid=kid,
        kty=normal_kty(kty),
        use=_member(key, "use"),
        alg=_member(key, "alg"),
        n=b64url_trim(_member(key, "n")),
        e=b64url_trim(_member(key, "e")),
        crv=_member(key, "crv"),
        x=b64url_trim(_member(key, "x")),
        y=b64url_trim(_member(key, "y")),
        x5t=b64url_trim(_member(key, "x5t")),
        x5t_s256=b64url_trim(_member(key, "x5t#S256")),
        cert_not_after=not_after,
        cert_subject=subject,
    )


def parse_jwks(doc: Any) -> tuple[tuple[Jwk, ...], tuple[str, ...]]:
    """The keys of a JWK Set, and notes about the ones skipped."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise Malformed("the JWK Set has no keys list")
    keys: list[Jwk] = []
    notes: list[str] = []
    for index, raw in enumerate(doc["keys"]):
        if len(keys) >= MAX_KEYS:
            notes.append(f"only the first {MAX_KEYS} keys of the JWK Set were read")
            break
        if not isinstance(raw, dict):
            notes.append(f"keys[{index}] is not an object; skipped")
            continue
        try:
            keys.append(parse_key(raw))
        except Malformed as err:
            notes.append(f"keys[{index}]: {err}; skipped")
    return tuple(keys), tuple(notes)


def max_age(cache_control: str | None) -> timedelta | None:
    """How long a response may be reused: its `max-age` (at most `MAX_AGE`); None for
    `no-store`, `no-cache`, or no max-age at all."""
    if not cache_control:
        return None
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return None
    found = _MAX_AGE.search(lowered)
    if found is None or int(found.group(1)) == 0:
        return None
    return min(timedelta(seconds=int(found.group(1))), MAX_AGE)
