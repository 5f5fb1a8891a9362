"""The simulated identity providers as data: what each one publishes, rendered from the scenario.

Pure: no I/O and no clock. `render_idps` reads the scenario's `identityProviders:` section
(docs/scenario.md), validates it with path-named errors, and renders, for each IdP, its
issuer, discovery document(s) and JWK Set(s) in the shapes the real ones use:

- `okta` (a custom authorization server): issuer `<base>/oauth2/<authServer>`, discovery at
  `<issuer>/.well-known/openid-configuration`, keys at `<issuer>/v1/keys`
  (research/oidc.md 1.1);
- `entra`: issuer `<base>/<tenant>/v2.0`, keys at `<base>/<tenant>/discovery/v2.0/keys`;
  with an `appid`, the discovery document and keys asked with `?appid=<appid>` add the
  app's own signing keys (`appKeys`), which the plain URLs lack.

Keys are the scenario's certificates (`keys[].cert`): an RSA certificate gives `n`/`e`, an
EC one `crv`/`x`/`y`; every key carries `kid`, `kty`, `use: sig`, `alg`, `x5c` (base64
DER), `x5t` and `x5t#S256` (base64url SHA-1 / SHA-256 of the DER). A key rotation is a
timeline of patches on `keys` and `signing` (publish the next key early, switch signing,
retire the old key). The base URL is the simulated IdP server's (`https://127.0.0.1:<port>`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.spec import Node, ScenarioError

IDP_KEYS: Final = (
    "name",
    "flavor",
    "authServer",
    "tenant",
    "appid",
    "keys",
    "appKeys",
    "signing",
    "algs",
    "issuer",
    "cacheMaxAge",
)
KEY_KEYS: Final = ("kid", "cert", "alg", "use")
_CURVES: Final = {"secp256r1": ("P-256", "ES256"), "secp384r1": ("P-384", "ES384")}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def jwk_of(kid: str, cert: GeneratedCert, alg: str | None, use: str) -> dict[str, Any]:
    """The public JWK of a certificate's key, with x5c and thumbprints."""
    public = cert.cert.public_key()
    out: dict[str, Any]
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        out = {"kty": "RSA", "alg": alg or "RS256", "kid": kid, "use": use}
        out |= {"n": b64url(_int_bytes(numbers.n)), "e": b64url(_int_bytes(numbers.e))}
    elif isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name in _CURVES:
        crv, default_alg = _CURVES[public.curve.name]
        point = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        out = {"kty": "EC", "alg": alg or default_alg, "kid": kid, "use": use, "crv": crv}
        out |= {
            "x": b64url(point.x.to_bytes(size, "big")),
            "y": b64url(point.y.to_bytes(size, "big")),
        }
    else:
        raise ValueError("only RSA and EC P-256/P-384 keys can be published")
    out["x5c"] = [base64.b64encode(cert.der).decode("ascii")]
    out["x5t"] = b64url(hashlib.sha1(cert.der).digest())  # RFC 7517 4.8: x5t is SHA-1
    out["x5t#S256"] = b64url(hashlib.sha256(cert.der).digest())
    return out


@dataclass(frozen=True)
class IdpWorld:
    """One rendered identity provider: its URLs and documents, by request path."""

    name: str
    flavor: str
    issuer: str
    discovery_url: str  # the plain one (no appid)
    app_discovery_url: str | None  # with ?appid= (entra with appid)
    jwks_uri: str
    app_jwks_uri: str | None
    signing: str  # kid it signs with now (not visible in the documents)
    max_age: int  # seconds of Cache-Control max-age; 0: no-cache
    keys: tuple[dict[str, Any], ...]  # JWKs of the plain key set
    app_keys: tuple[dict[str, Any], ...] = ()  # extra JWKs under ?appid=
    documents: Mapping[tuple[str, str], Any] = field(default_factory=dict)  # (path, query) → body

    def published(self, with_appid: bool) -> tuple[dict[str, Any], ...]:
        """The JWK Set as a relying party that asked with (or without) ?appid= sees it."""
        return (*self.keys, *self.app_keys) if with_appid else self.keys


def _keys(
    node: Node, certs: Mapping[str, GeneratedCert], seen: set[str]
) -> tuple[dict[str, Any], ...]:
    out = []
    for key in node.items():
        key.mapping(KEY_KEYS)
        kid = key.require("kid").text()
        if kid in seen:
            raise key.get("kid").fail(f'duplicate kid "{kid}"')
        seen.add(kid)
        cert_id = key.require("cert").text()
        if cert_id not in certs:
            raise key.get("cert").fail(f'unknown certificate "{cert_id}"')
        try:
            jwk = jwk_of(kid, certs[cert_id], key.get("alg").opt_text(), key.get("use").text("sig"))
        except ValueError as err:
            raise key.get("cert").fail(str(err)) from None
        out.append(jwk)
    return tuple(out)


def _path_and_query(url: str, base: str) -> tuple[str, str]:
    rest = url.removeprefix(base)
    path, _, query = rest.partition("?")
    return path, query


def _discovery(issuer: str, jwks_uri: str, algs: tuple[str, ...]) -> dict[str, Any]:
    """A discovery document with the members an Okta or Entra one carries."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/v1/authorize",
        "token_endpoint": f"{issuer}/v1/token",
        "userinfo_endpoint": f"{issuer}/v1/userinfo",
        "jwks_uri": jwks_uri,
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(algs),
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "email"],
    }


def render_idp(node: Node, certs: Mapping[str, GeneratedCert], base: str) -> IdpWorld:
    node.mapping(IDP_KEYS)
    name = node.require("name").text()
    flavor = node.get("flavor").choice(("okta", "entra"), "okta")
    seen: set[str] = set()
    keys = _keys(node.get("keys"), certs, seen)
    app_keys = _keys(node.get("appKeys"), certs, seen)
    appid = node.get("appid").opt_text()
    if app_keys and appid is None:
        raise node.get("appKeys").fail("appKeys are published only under ?appid=: set appid")
    if appid is not None and flavor != "entra":
        raise node.get("appid").fail("appid is Entra's (flavor: entra)")
    if flavor == "okta":
        root = f"{base}/oauth2/{node.get('authServer').text('default')}"
        jwks = f"{root}/v1/keys"
    else:
        tenant = node.require("tenant").text()
        root = f"{base}/{tenant}/v2.0"
        jwks = f"{base}/{tenant}/discovery/v2.0/keys"
    issuer = node.get("issuer").text(root).replace("{base}", base)
    kids = {k["kid"] for k in (*keys, *app_keys)}
    signing = node.get("signing").text(keys[0]["kid"] if keys else "")
    if signing and signing not in kids:
        raise node.get("signing").fail(f'"{signing}" is not one of the published kids')
    algs = node.get("algs").texts() or tuple(dict.fromkeys(k["alg"] for k in keys)) or ("RS256",)
    max_age = node.get("cacheMaxAge").integer(0)
    if max_age < 0:
        raise node.get("cacheMaxAge").fail("must be 0 (no-cache) or more seconds")
    discovery = f"{root}/.well-known/openid-configuration"
    app_discovery = f"{discovery}?appid={appid}" if appid else None
    app_jwks = f"{jwks}?appid={appid}" if appid else None
    docs: dict[tuple[str, str], Any] = {
        _path_and_query(discovery, base): _discovery(issuer, jwks, algs),
        _path_and_query(jwks, base): {"keys": list(keys)},
    }
    if app_discovery and app_jwks:
        docs[_path_and_query(app_discovery, base)] = _discovery(issuer, app_jwks, algs)
        docs[_path_and_query(app_jwks, base)] = {"keys": [*keys, *app_keys]}
    return IdpWorld(
        name=name,
        flavor=flavor,
        issuer=issuer,
        discovery_url=discovery,
        app_discovery_url=app_discovery,
        jwks_uri=jwks,
        app_jwks_uri=app_jwks,
        signing=signing,
        max_age=max_age,
        keys=keys,
        app_keys=app_keys,
        documents=docs,
    )


def render_idps(
    section: Node, certs: Mapping[str, GeneratedCert], base: str
) -> dict[str, IdpWorld]:
    """Every IdP of the `identityProviders:` section, by name."""
    out: dict[str, IdpWorld] = {}
    paths: dict[tuple[str, str], str] = {}
    for node in section.items():
        idp = render_idp(node, certs, base)
        if idp.name in out:
            raise node.get("name").fail(f'duplicate identity provider "{idp.name}"')
        for path in idp.documents:
            if path in paths:
                raise ScenarioError(
                    node.path, f"serves {path[0]} like {paths[path]}: use another authServer/tenant"
                )
            paths[path] = idp.name
        out[idp.name] = idp
    return out
