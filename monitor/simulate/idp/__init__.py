"""The simulated OIDC identity providers (Okta-like and Entra-like) of a scenario.

Owns the rendering of the scenario's `identityProviders:` section into discovery documents
and JWK Sets (`model`) and the HTTPS server that publishes them, with faults (`server`).
May import `monitor.simulate.certgen`, `monitor.simulate.faults`,
`monitor.simulate.httpserver` and `monitor.simulate.spec`.
"""

from monitor.simulate.idp.model import IdpWorld, render_idps
from monitor.simulate.idp.server import SimulatedIdps

__all__ = ["IdpWorld", "SimulatedIdps", "render_idps"]
