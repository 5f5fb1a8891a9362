"""The identity-provider source: one OIDC IdP's discovery document and JWK Set per poll.

Owns `OidcSource` (the poll: `fetch`) and the pure reading of what an IdP publishes
(`documents`). May import `monitor.config`, `monitor.model`, `monitor.certs` and the
shared source helpers (`monitor.sources.errors`, `monitor.sources.http_errors`, the
deadline transport and clients of `monitor.sources.http`).
"""

from monitor.sources.oidc.fetch import OidcSource

__all__ = ["OidcSource"]
