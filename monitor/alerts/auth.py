"""How the Alertmanager push proves who it is and checks whom it talks to.

Owns the `alertmanager:` settings `caFile` (HTTPS verified against that CA instead of the
system's), basic auth (`username` with `passwordFile` or `passwordEnv`) and
`bearerTokenFile`. Secrets are read for every push, so a rotated Secret or projected token
applies to the next one; a file or variable that cannot be read is a failed push with
reason `credentials_unreadable` naming the file or variable, never its content.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping

from monitor.config.files import ca_context
from monitor.config.schema import AlertmanagerConfig
from monitor.sources.errors import failure
from monitor.sources.secrets import secret_from_env, secret_from_file

OWNER = "alertmanager"


def verify_context(cfg: AlertmanagerConfig) -> ssl.SSLContext:
    """The TLS context for HTTPS: `caFile`, or the system's CAs. SourceFailure (tls_error)
    when the CA file cannot be loaded."""
    try:
        return ca_context(cfg.ca_file)
    except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
        why = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise failure("tls_error", f"{OWNER}: cannot load caFile {cfg.ca_file}: {why}") from None


def auth_headers(cfg: AlertmanagerConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The Authorization header as configured now (none without credentials);
    SourceFailure (credentials_unreadable) when a secret cannot be read."""
    if cfg.bearer_token_file is not None:
        token = secret_from_file(OWNER, "bearer token", cfg.bearer_token_file).strip()
        return {"Authorization": f"Bearer {token}"}
    if cfg.username is None:
        return {}
    if cfg.password_file is not None:
        password = secret_from_file(OWNER, "password", cfg.password_file)
    elif cfg.password_env is not None:
        password = secret_from_env(OWNER, "password", cfg.password_env, environ)
    else:  # the config requires a password with a username
        return {}
    pair = f"{cfg.username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
